"""Property-based fuzzing with schemathesis against the served ``GET /_emulator/openapi.json``.

For every vendor operation of the document (new routes are picked up automatically) three
seeded, bounded passes run: schema-conforming requests with the vendor's valid credentials fixed
(so generation gets past auth), schema-violating (negative) requests with the same credentials,
and schema-conforming requests with everything generated. Every answer must be below 500, carry no
traceback or HTML page, and every error must be in the vendor's shape: the document's
``components.schemas["<vendor>_error"]`` (Beams' Go plain-text ``404 page not found`` /
``Method Not Allowed`` for unrouted paths are the documented exception). The server's own log must
hold no error record (an unhandled exception is logged even when it is answered).
"""
from __future__ import annotations

import logging
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode

from tests.contract import contract_for
from tests import openapi_contract
from tests.reliability.rel_helpers import VENDORS, openapi, shape_problem, ServerErrors

pytestmark = pytest.mark.slow  # three seeded schemathesis passes over every operation

SEED = 1123
PASSES = (  # (name, mode, fix credentials, max examples): 20 examples per operation
    ("valid-auth", GenerationMode.POSITIVE, True, 10),
    ("negative", GenerationMode.NEGATIVE, True, 6),
    ("free", GenerationMode.POSITIVE, False, 4),
)
FIGURES: dict[str, dict[str, Any]] = {}


def fixed_credentials(vendor: str, path: str, operation) -> dict[str, Any]:
    """as_strategy() keyword arguments that pin a vendor's credentials where they go (its contract says)."""
    return contract_for(vendor).fuzz_pins(path, operation)


@pytest.fixture(scope="module")
def api_schema(device_emulator_server):
    return schemathesis.openapi.from_url(f"{device_emulator_server.url}/_emulator/openapi.json")


@pytest.fixture(scope="module")
def served_openapi(device_emulator_server):
    return openapi(device_emulator_server.url)


@pytest.mark.parametrize("vendor", VENDORS)
def test_fuzz_vendor_routes(vendor, device_emulator, api_schema, served_openapi):
    url = device_emulator.url
    handler = ServerErrors()
    logging.getLogger().addHandler(handler)
    problems: list[str] = []
    counts: dict[str, int] = {}
    statuses: dict[int, int] = {}
    session = requests.Session()
    operations = [r.ok() for r in api_schema.include(tag=vendor).get_all_operations()]
    assert operations, f"no {vendor} operation in the document"
    try:
        for operation in operations:
            method, path = operation.method.upper(), operation.path
            key = f"{method} {path}"
            counts[key] = 0
            for name, mode, pin, n in PASSES:
                kwargs = fixed_credentials(vendor, path, operation) if pin else {}

                @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                          suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
                @given(case=operation.as_strategy(generation_mode=mode, **kwargs))
                @hypothesis.seed(SEED)
                def run(case) -> None:
                    try:
                        resp = case.call(base_url=url, session=session, timeout=30, allow_redirects=False)
                    except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, ValueError,
                            UnicodeError):
                        return  # the client library refused to send it (e.g. a newline in a header)
                    counts[key] += 1
                    statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                    content = resp.content
                    openapi_contract.check(resp)  # schemathesis streams, which the requests hook skips
                    if resp.status_code >= 400 or resp.status_code >= 500:
                        problem = shape_problem(served_openapi, vendor, resp.status_code, content, resp.headers)
                    elif b"Traceback" in content:
                        problem = "traceback in a success body"
                    else:
                        problem = None
                    if problem is not None and len(problems) < 50:
                        problems.append(f"[{name}] {key}: {case.as_curl_command()[:400]} -> {problem}")

                try:
                    run()
                except hypothesis.errors.Unsatisfiable:
                    pass  # nothing of this operation is left to violate once the credentials are pinned
    finally:
        logging.getLogger().removeHandler(handler)
        session.close()
    FIGURES[vendor] = {"requests": sum(counts.values()), "per_route": counts, "statuses": statuses}
    print(f"\n[reliability] fuzz {vendor}: {sum(counts.values())} requests over {len(counts)} operations, "
          f"statuses {dict(sorted(statuses.items()))}, 5xx {sum(v for s, v in statuses.items() if s >= 500)}")
    for key, n in counts.items():
        print(f"    {n:4d}  {key}")
    assert problems == [], "\n".join(problems)
    assert handler.records == [], "\n".join(handler.records[:10])
