'use strict';
// device-api-emulator: make Node's http and https modules honour HTTPS_PROXY, HTTP_PROXY and
// NO_PROXY, which Node 20 ignores. Loaded with NODE_OPTIONS="--require <this file>" (printed by
// `device-api-emulator env`): the application itself changes nothing.
//
// https: requests are tunnelled with CONNECT host:443 and TLS runs end to end through the
// tunnel (trust comes from NODE_EXTRA_CA_CERTS). http: requests go to the proxy with their own
// Host header. A request given its own `agent`, and fetch() (undici), are not affected.
const http = require('http');
const https = require('https');
const net = require('net');
const tls = require('tls');

const env = (name) => process.env[name] || process.env[name.toLowerCase()] || '';
const noProxy = env('NO_PROXY').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

function bypass(host) {
  const h = String(host || '').toLowerCase().replace(/^\[|\]$/g, '');
  return noProxy.some((p) => p === '*' || h === p.replace(/^\./, '') || h.endsWith(p.startsWith('.') ? p : '.' + p));
}

function parseProxy(value) {
  try {
    const u = new URL(value);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) || 80 };
  } catch (e) {
    return null;
  }
}

class TunnelAgent extends https.Agent {
  constructor(proxy, options) {
    super(options);
    this.proxy = proxy;
  }

  createConnection(options, callback) {
    if (bypass(options.host)) return super.createConnection(options, callback);
    const target = `${options.host}:${options.port || 443}`;
    const req = http.request({
      host: this.proxy.host, port: this.proxy.port, method: 'CONNECT', path: target,
      headers: { host: target }, agent: false,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        callback(new Error(`proxy refused CONNECT ${target}: ${res.statusCode} ${res.statusMessage}`));
        return;
      }
      const servername = options.servername || (net.isIP(options.host) ? undefined : options.host);
      callback(null, tls.connect({ ...options, socket, servername }));
    });
    req.once('error', callback);
    req.end();
    return undefined;
  }
}

class ForwardAgent extends http.Agent {
  constructor(proxy, options) {
    super(options);
    this.proxy = proxy;
  }

  createConnection(options, callback) {
    if (bypass(options.host)) return super.createConnection(options, callback);
    return net.connect(this.proxy.port, this.proxy.host);
  }
}

const httpsProxy = parseProxy(env('HTTPS_PROXY'));
const httpProxy = parseProxy(env('HTTP_PROXY'));
if (httpsProxy) https.globalAgent = new TunnelAgent(httpsProxy, { keepAlive: true });
if (httpProxy) http.globalAgent = new ForwardAgent(httpProxy, { keepAlive: true });
