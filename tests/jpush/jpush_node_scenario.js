// Drives JPush's Node client (npm jpush-async, JPushAsync) against the emulator.
// Usage: node jpush_node_scenario.js <node_modules dir> <emulator url> <app key> <secret> <rid1> <rid2>
// The client has no host option, so https.request is replaced *before* the client is loaded
// by a wrapper that sends the same request over plain http to the emulator (notes §3).
'use strict'
const path = require('path')
const http = require('http')
const https = require('https')

const [modules, emulatorUrl, appKey, secret, rid1, rid2] = process.argv.slice(2)
const target = new URL(emulatorUrl)
https.request = (options, callback) =>
  http.request({ ...options, protocol: 'http:', host: target.hostname, hostname: target.hostname, port: target.port }, callback)

const { JPushAsync } = require(path.join(modules, 'jpush-async'))

async function main () {
  const client = JPushAsync.buildClient(appKey, secret, null, false)
  const out = {}
  out.update = await client.updateDeviceTagAlias(rid1, 'alias1', false, ['tag1', 'tag2'], ['tag3', 'tag4'])
  out.mobile = await client.setMobile(rid1, '13012345678')
  out.tagList = await client.getTagList()
  out.alias = await client.getAliasDeviceList('alias1', 'android,ios')
  out.inTag = await client.isDeviceInTag('tag1', rid1)
  out.notInTag = await client.isDeviceInTag('tag1', rid2)
  out.tagAdd = await client.addRemoveDevicesFromTag('tag4', [rid2], [])
  out.inTag4 = await client.isDeviceInTag('tag4', rid2)
  out.deleteTag = await client.deleteTag('tag4', 'android')
  out.deleteAlias = await client.deleteAlias('alias2', null)
  out.device = await client.getDeviceTagAlias(rid1)
  out.status = await client.getDeviceStatus([rid1])
  try {
    await client.getDeviceTagAlias('0000000000x')
    out.error = null
  } catch (err) {
    out.error = { name: err.name, message: err.message }
  }
  process.stdout.write(JSON.stringify(out))
}

main().catch(err => {
  process.stderr.write(String(err && err.stack ? err.stack : err))
  process.exit(1)
})
