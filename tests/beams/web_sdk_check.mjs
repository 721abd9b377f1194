// Drives the real @pusher/push-notifications-web SDK in Node against the emulator. Only what a
// browser provides is stubbed: the push service (pushManager), the service worker registration,
// IndexedDB (fake-indexeddb). argv[2]: {"url", "instance", "secret", "modules"}. Prints JSON.
import { createRequire } from 'node:module';
import { createPublicKey, createHmac } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';

const cfg = JSON.parse(process.argv[2]);
const require = createRequire(join(cfg.modules, 'package.json'));
require('fake-indexeddb/auto');
const sdkDist = require.resolve('@pusher/push-notifications-web/dist/push-notifications-esm.js');
const sdkCopy = join(cfg.modules, 'beams-web-sdk.mjs');
copyFileSync(sdkDist, sdkCopy);

const out = { requests: [] };
let subscription = null;
const pushManager = {
  async subscribe({ applicationServerKey }) {
    const key = Buffer.from(applicationServerKey);
    // a browser refuses a key that is not an uncompressed P-256 point
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: key.subarray(1, 33).toString('base64url'),
                             y: key.subarray(33).toString('base64url') }, format: 'jwk' });
    out.applicationServerKeyLength = key.length;
    const data = { endpoint: 'https://fcm.googleapis.com/fcm/send/web-sdk-check', expirationTime: null,
                   keys: { p256dh: 'BPkey', auth: 'YXV0aA' } };
    subscription = { ...data, toJSON: () => data, unsubscribe: async () => { subscription = null; return true; } };
    return subscription;
  },
  async getSubscription() { return subscription; },
};
const registration = { scope: 'http://localhost/', pushManager };
globalThis.window = globalThis;
window.isSecureContext = true;
window.PushManager = function PushManager() {};
window.Notification = { permission: 'granted' };
window.location = { href: 'http://localhost/app' };
Object.defineProperty(globalThis, 'navigator', { configurable: true, value: {
  userAgent: 'node', serviceWorker: { ready: Promise.resolve(registration), register() {} } } });
const realFetch = globalThis.fetch;
globalThis.fetch = (url, options) => {
  out.requests.push({ method: options.method, url: String(url).replace(cfg.url, ''),
                      contentType: (options.headers || {})['Content-Type'] || null });
  return realFetch(url, options);
};

const jwt = (sub, secret = cfg.secret) => {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub, exp: Math.floor(Date.now() / 1000) + 3600,
    iss: `https://${cfg.instance}.pushnotifications.pusher.com` })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
};

const { Client } = await import(sdkCopy);
const client = new Client({ instanceId: cfg.instance, endpointOverride: cfg.url,
                            serviceWorkerRegistration: registration });
await client.start();
out.deviceId = await client.getDeviceId();
await client.setDeviceInterests(['news', 'sport', 'news']);
await client.addDeviceInterest('weather');
await client.removeDeviceInterest('sport');
out.interests = await client.getDeviceInterests();
try {
  await client.setUserId('web-user', { fetchToken: async () => ({ token: jwt('web-user', 'not-the-secret') }) });
} catch (e) { out.badTokenError = e.message; }
await client.setUserId('web-user', { fetchToken: async (userId) => ({ token: jwt(userId) }) });
out.userId = await client.getUserId();
try { await client.addDeviceInterest('bad name'); } catch (e) { out.clientSideError = e.message; }
out.beforeStop = await (await realFetch(`${cfg.url}/device_api/v1/instances/${cfg.instance}/devices/web/${out.deviceId}`)).json();
await client.stop();
out.afterStop = await client.getDeviceId();
console.log(JSON.stringify(out));
