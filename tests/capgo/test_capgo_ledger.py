"""Capgo in the delivery ledger: every /updates answer is one delivery (``delivered`` with the bundle
offered, ``failed`` with the refusal), publish id ``<app_id>:<bundle>``; ``explain`` for devices
that were not offered a bundle; token invalidation."""
from __future__ import annotations

import requests

from tests.capgo.capgo_helpers import APP, dev
from tests.capgo.test_capgo_plugin import DEFAULT_URL, info, link, post


def rows(capgo, **filters):
    return capgo.emulator.deliveries(vendor="capgo", **filters)


def strip(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("id", "time")}


def test_an_offer_is_a_delivery(capgo):
    capgo.load_devices([], channels=[{"name": "production", "public": True, "version": "1.1.0"}])
    answer = post(capgo, "/updates", info(version_name="1.0.0")).json()
    [row] = rows(capgo)
    assert strip(row) == {"vendor": "capgo", "tenant": APP, "publish_id": f"{APP}:1.1.0", "device_id": dev(1),
                          "platform": "android", "status": "delivered", "reason": "offered 1.1.0 from channel production",
                          "matched_by": {"channel": "production"}, "payload": answer}
    assert answer["url"] == DEFAULT_URL.format("1.1.0")
    assert capgo.emulator.explain(f"{APP}:1.1.0", dev(1), vendor="capgo") == \
        {"delivered": True, "reason": "offered 1.1.0 from channel production", "delivery": row}


def test_a_refusal_is_a_failed_delivery(capgo):
    link(capgo, dev(1), "beta")
    capgo.load_devices([], channels=[{"name": "beta", "public": False, "allow_prod": False}])
    answer = post(capgo, "/updates", info(version_name="1.0.0")).json()
    [row] = rows(capgo)
    assert (row["publish_id"], row["status"], row["matched_by"], row["payload"]) == \
        (f"{APP}:1.1.0", "failed", {"channel": "beta"}, answer)
    assert row["reason"] == "Cannot update, prod build is disabled (disable_prod_build, kind blocked)"
    post(capgo, "/updates", info(version_name="1.1.0"))
    assert rows(capgo)[0]["reason"] == "No new version available (no_new_version_available, kind up_to_date)"


def test_no_channel_is_published_as_none(capgo):
    capgo.emulator.load({"capgo": {"apps": [{"app_id": "com.bare.app"}]}})
    post(capgo, "/updates", info(app_id="com.bare.app"))
    [row] = rows(capgo)
    assert (row["tenant"], row["publish_id"], row["status"], row["matched_by"]) == \
        ("com.bare.app", "com.bare.app:none", "failed", None)


def test_refused_requests_record_no_delivery(capgo):
    post(capgo, "/updates", info(app_id="com.unknown.app"))
    post(capgo, "/updates", info(platform="web"))
    post(capgo, "/stats", info(action="set"))
    assert rows(capgo) == []


def test_explain_a_device_that_was_not_offered_the_bundle(capgo):
    capgo.load_devices([], channels=[{"name": "production", "public": True, "version": "1.1.0"}])
    post(capgo, "/updates", info(dev(1), version_name="1.0.0"))
    post(capgo, "/stats", info(dev(2), action="app_launch_start"))
    post(capgo, "/stats", info(dev(3), action="app_launch_start"))
    link(capgo, dev(3), "beta")
    capgo.load_devices([], channels=[{"name": "beta", "public": False, "version": "1.2.0"}])
    updated = next(d for d in capgo.app_state()["devices"] if d["device_id"] == dev(2))["updated_at"]
    assert capgo.emulator.explain(f"{APP}:1.1.0", dev(2), vendor="capgo") == {
        "delivered": False, "delivery": None,
        "reason": f"device {dev(2)} follows channel production but has not checked for updates since 1.1.0 "
                  f"was offered (last check-in {updated})"}
    assert capgo.emulator.explain(f"{APP}:1.1.0", dev(3), vendor="capgo")["reason"] == \
        f"device {dev(3)} is linked to channel beta, which serves 1.2.0, not 1.1.0"
    r = requests.get(f"{capgo.url}/_emulator/deliveries/explain",
                     params={"vendor": "capgo", "publish_id": f"{APP}:1.1.0", "device_id": dev(99)}, timeout=30)
    assert (r.status_code, r.json()) == (404, {"error": f"no device '{dev(99)}' in capgo tenant '{APP}'"})


def test_invalidate_token(capgo):
    post(capgo, "/stats", info(action="app_launch_start"))
    r = requests.post(f"{capgo.url}/_emulator/tokens/invalidate",
                      json={"vendor": "capgo", "tenant": APP, "device_id": dev(2)}, timeout=30)
    assert (r.status_code, r.json()) == (404, {"error": f"no device '{dev(2)}' in capgo tenant '{APP}'"})
    assert capgo.emulator.invalidate_token("capgo", APP, dev(1))["device_id"] == dev(1)
    # Capgo devices pull their updates: the device's next check-in is answered as usual
    assert post(capgo, "/updates", info(version_name="0.9.0")).json()["version"] == "1.0.0"
    assert rows(capgo)[0]["status"] == "delivered"
