# Usage: ruby ruby_scenario.rb <emulator url> <app key> <secret> <rid1> <rid2>, with the client's lib/ on RUBYLIB
# (a checkout of github.com/jpush/jpush-api-ruby-client: it needs only Ruby's standard library).
require 'jpush'
require 'json'
EMU, KEY, SECRET, RID1, RID2 = ARGV
module JPush
  class Device; private; def base_url; "#{EMU}/v3/devices/"; end; end
  class Tag; private; def base_url; "#{EMU}/v3/tags/"; end; end
  class Alias; private; def base_url; "#{EMU}/v3/aliases/"; end; end
  class Pusher; private; def base_url; "#{EMU}/v3/push/"; end; end
end
jp = JPush::Client.new(KEY, SECRET)
out = {}
def res(r) { 'http' => r.http_code, 'body' => r.body } end
out['update'] = res(jp.devices.update(RID1, tags_add: ['vip'], alis: 'a1', mobile: '13012345678'))
out['show'] = res(jp.devices.show(RID1))
out['empty_update'] = res(jp.devices.update(RID2))
begin
  jp.tags.update('vip')
  out['empty_tag_update'] = 'no error'
rescue => e
  out['empty_tag_update'] = e.class.name + ': ' + e.message
end
out['tag_add'] = res(jp.tags.add_devices('gold', [RID2]))
out['has'] = res(jp.tags.has_device?('gold', RID2))
out['tag_list'] = res(jp.tags.list)
out['alias_show'] = res(jp.aliases.show('a1', ['android', 'ios']))
out['status'] = res(jp.devices.status([RID1, RID2]))
aud = JPush::Push::Audience.new.set_tag(['vip', 'gold']).set_tag_not(['beta'])
payload = JPush::Push::PushPayload.new(platform: 'all', audience: aud, notification: 'hello from push api')
out['validate'] = res(jp.pusher.validate(payload))
out['push'] = res(jp.pusher.push(payload))
n = JPush::Push::Notification.new.set_alert('hello').set_ios(alert: {'title' => 't', 'body' => 'b'}, extras: {'k' => 'v'}, thread: 'default')
full = JPush::Push::PushPayload.new(platform: 'all', audience: JPush::Push::Audience.new.set_registration_id([RID1, RID2]), notification: n)
full.set_sms_message({delay_time: 120, signid: 12445, temp_id: 2352, temp_para: {k: 'v'}, active_filter: false})
out['push_full'] = res(jp.pusher.push(full))
out['cid'] = res(jp.pusher.get_cid(2, 'push'))
begin
  jp.pusher.push(JPush::Push::PushPayload.new(platform: 'all', audience: JPush::Push::Audience.new.set_alias(['nobody']), notification: 'x'))
  out['nobody'] = 'no error'
rescue => e
  out['nobody'] = e.class.name + ': ' + e.message
end
begin
  jp.devices.show('0000000000x')
rescue => e
  out['bad_rid'] = e.class.name + ': ' + e.message
end
puts JSON.generate(out)
