"""The pytest plugin as a user meets it (a test file, no conftest) and the public factory."""
from __future__ import annotations

import pytest

from emulator import Config, create_app
from emulator.vendors import REGISTRY

VENDORS = [cls.name for cls in REGISTRY]
USER_TEST_FILE = '''
import requests

def test_first_writes(device_emulator):
    assert device_emulator.url.startswith("http://127.0.0.1:")
    requests.get(device_emulator.url + "/v3/devices/whatever")
    device_emulator.set_options({"auth": "open"})
    assert len(device_emulator.requests()) == 1
    assert device_emulator.options()["auth"] == "open"

def test_second_sees_none_of_it(device_emulator):
    assert device_emulator.requests() == []
    assert device_emulator.options()["auth"] == "strict"
    assert device_emulator.health()["vendors"] == %r
''' % (VENDORS,)


@pytest.mark.slow  # a pytest subprocess
def test_plugin_works_without_conftest_and_isolates_tests(pytester):
    pytester.makepyfile(test_user=USER_TEST_FILE)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@pytest.mark.slow  # a pytest subprocess
def test_plugin_attaches_to_a_running_emulator(pytester, tmp_path):
    from tests.support import ServerProcess

    with ServerProcess("--db", str(tmp_path / "attached.db")) as server:
        pytester.makepyfile(test_attach=f'''
def test_attached(device_emulator):
    assert device_emulator.url == "{server.url}"
    assert device_emulator.health()["db"] == "{tmp_path / 'attached.db'}"
''')
        result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", f"--device-emulator-url={server.url}")
        result.assert_outcomes(passed=1)


@pytest.mark.slow  # a pytest subprocess
def test_the_readme_example_passes_as_written(pytester):
    """The README's pytest example, taken from the README itself, in a project with no conftest."""
    from tests.support import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## pytest plugin"):]
    example = section[section.index("```python\n") + len("```python\n"):section.index("\n```", section.index("```python"))]
    pytester.makepyfile(test_readme_example=example)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


async def test_create_app_serves_with_pytest_aiohttp(aiohttp_client):
    client = await aiohttp_client(create_app(Config(db=":memory:")))
    r = await client.get("/_emulator/health")
    assert r.status == 200
    body = await r.json()
    assert body["db"] == ":memory:"
    assert body["vendors"] == VENDORS
    assert r.headers["X-Device-Emulator"]
