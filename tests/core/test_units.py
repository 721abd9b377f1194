"""Small pieces of the core that are clearer tested directly."""
from __future__ import annotations

import pytest

from emulator.clock import Clock
from emulator.httputil import BodyError, parse_json
from emulator.ratelimit import SlidingWindowLimiter


def test_sliding_window_counts_the_last_window_and_refused_hits_do_not_count():
    clock = Clock()
    clock.freeze(True)
    limiter = SlidingWindowLimiter(clock)
    key = ("toy", "tenant")
    assert [limiter.hit(key, 3, 60).allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.hit(key, 3, 60)
    assert (refused.remaining, refused.reset_after) == (0, 60)
    clock.advance(30)
    assert limiter.hit(key, 3, 60).allowed is False
    clock.advance(30)  # the first three leave the window
    decision = limiter.hit(key, 3, 60)
    assert decision.allowed and decision.remaining == 2


def test_peek_of_an_unknown_key_keeps_no_window():
    limiter = SlidingWindowLimiter(Clock())
    decision = limiter.peek(("toy", "never"), 10, 60)
    assert decision.allowed and decision.remaining == 10
    assert limiter._windows == {}


def test_reset_of_one_vendor_keeps_the_others_windows():
    limiter = SlidingWindowLimiter(Clock())
    limiter.hit(("a", 1), 5)
    limiter.hit(("b", 1), 5)
    limiter.reset("a")
    assert list(limiter._windows) == [("b", 1)]


@pytest.mark.parametrize("raw,kind,path", [
    (b"", "empty", None),
    (b"  \n", "empty", None),
    (b"\xff\xfe", "not_utf8", None),
    (b"{", "invalid_json", None),
    (b"[1]", "not_object", None),
    (b'{"a": NaN}', "invalid_json", "$.a"),
    (b'{"a": [1, 1e999]}', "invalid_json", "$.a[1]"),
    (b'{"a": {"b": "\\ud800"}}', "invalid_json", "$.a.b"),
    (b'{"\\udfff": 1}', "invalid_json", "$.'\\udfff'"),
    (b"[" * 100000 + b"]" * 100000, "invalid_json", None),
])
def test_parse_json_refuses_what_no_vendor_can_store(raw, kind, path):
    with pytest.raises(BodyError) as err:
        parse_json(raw, require_object=True)
    assert err.value.kind == kind
    assert err.value.path == path


def test_parse_json_keeps_valid_surrogate_pairs():
    assert parse_json(b'{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\U0001F600"}


@pytest.mark.parametrize("raw,expected", [
    ("0", 0), ("7", 7), ("0100", 100), ("101", 100), ("9" * 5000, 100), ("0" * 5000 + "5", 5),
    ("", None), ("-1", None), ("1.5", None), ("²", None), ("١٢", None), (" 5", None),
])
def test_bounded_int(raw, expected):
    from emulator.httputil import bounded_int

    assert bounded_int(raw, 100) == expected


def test_parse_json_refuses_integers_python_will_not_convert():
    with pytest.raises(BodyError) as err:
        parse_json(b'{"n": ' + b"1" * 5000 + b"}")
    assert err.value.kind == "invalid_json"


def test_a_verified_credential_is_remembered_until_the_next_acknowledged_write(tmp_path):
    """Vendor.verified / remember_verified: what the check accepted, with the tenant refusal it
    set, while nothing was written; never a credential checked against an older store, a long
    one, or while a tenant open mode made is unsettled."""
    from aiohttp.test_utils import make_mocked_request

    from emulator.app import build_context
    from emulator.config import Config
    from emulator.httputil import request_state
    from emulator.vendor import MAX_REMEMBERED_CREDENTIAL

    ctx = build_context(Config(db=str(tmp_path / "verified.db")))
    try:
        vendor, store = ctx.vendors["jpush"], ctx.store

        def request(refusal=None):
            req = make_mocked_request("GET", "/v3/tags/")
            request_state(req).tenant_refusal = refusal
            return req

        refusal = object()
        assert vendor.verified(request(), (False, "Basic a")) is None
        vendor.remember_verified(request(refusal), (False, "Basic a"), "app-a", store.acknowledged)
        again = request()
        assert vendor.verified(again, (False, "Basic a")) == "app-a"
        assert request_state(again).tenant_refusal is refusal
        assert vendor.verified(request(), (True, "Basic a")) is None  # another check, another key

        since = store.acknowledged
        store.write_now(lambda conn: None)  # acknowledged: nothing remembered holds
        assert vendor.verified(request(), (False, "Basic a")) is None
        vendor.remember_verified(request(), (False, "Basic b"), "app-b", since)  # checked before it
        assert vendor.verified(request(), (False, "Basic b")) is None

        long = "Basic " + "x" * MAX_REMEMBERED_CREDENTIAL
        vendor.remember_verified(request(), (False, long), "app-a", store.acknowledged)
        assert vendor.verified(request(), (False, long)) is None

        vendor.remember_verified(request(), (False, "Basic a"), "app-a", store.acknowledged)
        vendor._new_tenants["pending"] = object()  # open mode made a tenant not settled yet
        assert vendor.verified(request(), (False, "Basic a")) is None
        del vendor._new_tenants["pending"]
        assert vendor.verified(request(), (False, "Basic a")) == "app-a"
    finally:
        store.close()


def test_the_journal_keeps_raw_pairs_and_formats_them_when_read():
    """A recorded request is a tuple of plain values the garbage collector does not track; read,
    its headers are named as aiohttp names them (known ones canonical), a repeated one shows its
    first value, bytes that are not UTF-8 show as U+FFFD, and large ones are clipped."""
    import gc

    from types import SimpleNamespace

    from emulator.journal import BODY_BYTES, BODY_LIMIT, Journal, header_bytes

    def request(method, path, query, raw):  # what the journal reads of aiohttp's request
        return SimpleNamespace(method=method, path=path, query_string=query, raw_headers=raw)

    journal = Journal(10)
    raw = ((b"host", b"a.example"), (b"X-Key", b"\xff\xfe-key"), (b"x-key", b"second"), (b"accept", b"*/*"))
    journal.record(request("GET", "/v3/tags/", "", raw), 0.0, "jpush", 200, 1.5, len(header_bytes(raw)), None,
                   b'{"tags":[]}')
    big = ((b"Host", b"h"), (b"X-Big", b"v" * (BODY_BYTES + 10)))
    journal.record(request("POST", "/v3/tags/t", "a=1", big), 0.0, "jpush", 400, 2.0, len(header_bytes(big)),
                   b"x" * (BODY_BYTES + 10), None, {"fault": 3})
    gc.collect()
    assert not gc.is_tracked(journal._entries[0])  # the second holds a dict (a fault's extra keys)
    first, second = journal.query()[::-1]
    assert first["request_headers"] == {"Host": "a.example", "X-Key": "\ufffd\ufffd-key", "Accept": "*/*"}
    assert (first["response_body"], first["request_body"], first["status"]) == ('{"tags":[]}', None, 200)
    assert second["request_headers"] == {"Host": "h", "X-Big": "v" * BODY_LIMIT}
    assert len(journal._entries[1][8][1][1]) == BODY_BYTES  # kept clipped: memory stays bounded
    assert second["request_body"] == "x" * BODY_LIMIT + f"...[truncated, {BODY_BYTES} chars]"
    assert (second["fault"], second["query"], second["id"]) == (3, "a=1", 2)
