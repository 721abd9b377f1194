"""device-api-emulator: written as ``sitecustomize.py`` into the directory ``device-api-emulator
env`` puts first on PYTHONPATH, so that Python applications trust the emulator's CA unchanged.

requests reads REQUESTS_CA_BUNDLE only in ``Session.request``; a library that sends prepared
requests with ``Session.send`` (pusher-push-notifications does) verifies against certifi's
bundle instead. Here certifi's ``where()`` names REQUESTS_CA_BUNDLE (the system's CAs plus the
emulator's), then any other ``sitecustomize`` on the path runs as it would have.
"""
import os
import sys

_bundle = os.environ.get("REQUESTS_CA_BUNDLE", "")
if _bundle and os.path.isfile(_bundle):
    try:
        import certifi
    except ImportError:
        pass
    else:
        certifi.where = lambda: _bundle


def _chain():
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_chain()
