"""Benchmark harness for device-api-emulator.

``python -m bench`` (or ``make bench``) starts the emulator, a naive aiohttp + aiosqlite
baseline (one commit per request, :mod:`bench.baseline`) and a bare aiohttp server returning
JSON, drives them alternately with ``wrk`` and prints a table; see docs/benchmark.md.
"""
