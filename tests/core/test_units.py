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
