// Drives the Push API of JPush's Node client (npm jpush-async, JPushAsync) against the emulator.
// Usage: node jpush_node_push_scenario.js <node_modules dir> <emulator url> <app key> <secret>
// Like jpush_node_scenario.js, https.request is replaced before the client is loaded by a wrapper
// that sends the same request over plain http to the emulator (the client has no host option).
'use strict'
const path = require('path')
const http = require('http')
const https = require('https')

const [modules, emulatorUrl, appKey, secret] = process.argv.slice(2)
const target = new URL(emulatorUrl)
https.request = (options, callback) =>
  http.request({ ...options, protocol: 'http:', host: target.hostname, hostname: target.hostname, port: target.port }, callback)

const JPush = require(path.join(modules, 'jpush-async')).JPushAsync

async function main () {
  const client = JPush.buildClient(appKey, secret, null, false)
  const out = {}
  out.push = await client.push()
    .setPlatform('android', 'ios')
    .setAudience(JPush.tag('tag1', 'tag2'), JPush.tag_not('tag3'))
    .setNotification('Hi, JPush', JPush.android('droid', 'Title', 1), JPush.ios('apple', 'sound', 1))
    .setMessage('msg content')
    .setOptions(42, 60)
    .send()
  out.validate = await client.push()
    .setPlatform(JPush.ALL)
    .setAudience(JPush.ALL)
    .setNotification('only checked')
    .sendValidate()
  try {
    await client.push().setPlatform(JPush.ALL).setAudience(JPush.alias('nobody')).setNotification('x').send()
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
