# govwallet — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint unit bench clean static-vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Serve the demo at http://127.0.0.1:8000 on the embedded SQLite default.
run: $(STAMP)
	$(BIN)/govwallet db upgrade
	$(BIN)/govwallet serve --demo --host 127.0.0.1 --port 8000

## Linters (ruff; mypy --strict on the product, the bench and the tests) and the whole test suite.
test: $(STAMP) lint
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

## Refresh the vendored browser libraries from the npm registry (needs node and npm).
## The copies are committed, so `make run` works without npm.
static-vendor:
	npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p wallet_api/static/vendor
	cp node_modules/jsqr/dist/jsQR.js wallet_api/static/vendor/jsQR.js
	cp node_modules/jsqr/LICENSE wallet_api/static/vendor/jsQR.LICENSE
	cp node_modules/pako/dist/pako_inflate.min.js wallet_api/static/vendor/pako_inflate.min.js
	cp node_modules/pako/LICENSE wallet_api/static/vendor/pako.LICENSE

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
