<?php
// Usage: JPUSH_PHP_SRC=<the client's src/ folder> php php_scenario.php <emulator url> <app key> <secret> <rid1> <rid2>
// (a checkout of github.com/jpush/jpush-api-php-client: it needs only PHP with curl, no composer).
spl_autoload_register(function ($class) {
    $file = getenv('JPUSH_PHP_SRC') . '/' . str_replace('\\', '/', $class) . '.php';
    if (file_exists($file)) require $file;
});
[$_, $emu, $key, $secret, $rid1, $rid2] = $argv;
class EmuClient extends JPush\Client {
    public static $emu;
    public function makeURL($key) {
        $paths = ['push' => '/v3/', 'device' => '/v3/devices/', 'alias' => '/v3/aliases/', 'tag' => '/v3/tags/'];
        return self::$emu . $paths[$key];
    }
}
EmuClient::$emu = $emu;
$client = new EmuClient($key, $secret, null);
$out = [];
function run($f) { try { return $f(); } catch (Exception $e) { return get_class($e) . ': ' . $e->getCode() . ' ' . $e->getMessage(); } }
$dev = $client->device();
$out['update'] = run(fn() => $dev->updateDevice($rid1, 'a1', '13012345678', ['vip']));
$out['get'] = run(fn() => $dev->getDevices($rid1));
$out['bad_rid'] = run(fn() => $dev->getDevices('INVALID_REGISTRATION_ID'));
$out['tags'] = run(fn() => $dev->getTags());
$out['in_tag'] = run(fn() => $dev->isDeviceInTag($rid1, 'vip'));
$out['alias_devices'] = run(fn() => $dev->getAliasDevices('a1', ['android', 'ios']));
$out['status'] = run(fn() => $dev->getDevicesStatus($rid1));
$out['validate'] = run(fn() => $client->push()->setPlatform('all')->addTag(['vip'])->setNotificationAlert('Hi')->validate());
$out['push'] = run(fn() => $client->push()->setPlatform(['android', 'ios'])->addAlias('a1')
    ->iosNotification('ios hi', ['badge' => '+1'])->androidNotification('droid', ['title' => 'T'])
    ->message('m', ['title' => 't'])->options(['sendno' => 100, 'time_to_live' => 60])->send());
$out['nobody'] = run(fn() => $client->push()->setPlatform('all')->addTag('nobody')->setNotificationAlert('x')->send());
$out['cid'] = run(fn() => $client->push()->getCid(1));
$out['delete_tag'] = run(fn() => $dev->deleteTag('vip'));
$out['delete_alias'] = run(fn() => $dev->deleteAlias('a1'));
echo json_encode($out);
