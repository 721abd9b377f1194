PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install serve test lint bench docker clean

install: $(BIN)/device-api-emulator

$(BIN)/device-api-emulator: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m compileall -q emulator  # bytecode now: start-up stays fast even with PYTHONDONTWRITEBYTECODE
	@touch $@

serve: install
	$(BIN)/device-api-emulator serve

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check emulator tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

#: docker, or podman where there is no Docker engine
CONTAINER ?= $(shell docker info >/dev/null 2>&1 && echo docker || echo podman)
VERSION = $(shell $(PYTHON) -c 'import re; print(re.search(r"__version__ = \"(.+)\"", open("emulator/__init__.py").read())[1])')

docker:
	$(CONTAINER) build --build-arg VERSION=$(VERSION) -t device-api-emulator:$(VERSION) -t device-api-emulator:latest .

clean:
	rm -rf $(VENV) build dist *.egg-info device-emulator.db*
