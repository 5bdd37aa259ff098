# Two entry points (see README): `make run` and `make test`. Both set up .venv/ idempotently.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test setup model index browser bench eval

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

model: setup
	$(BIN)/rag model

index: model
	$(BIN)/rag index

# Debian's Chromium and a CJK font for the browser tests (no browser is downloaded at run time).
browser:
	@{ test -x /usr/bin/chromium && fc-list :lang=zh 2>/dev/null | grep -q .; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    chromium fonts-wqy-microhei >/dev/null; }

run: index
	$(BIN)/rag serve --host $(HOST) --port $(PORT)

test: model browser
	$(BIN)/python -m pytest -q

eval: index
	$(BIN)/rag eval

bench: index
	$(BIN)/python bench/latency.py
