# The README's contract: `make run` and `make test` on a fresh Debian machine (as root).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000
export ASSETMAP_DATA_DIR ?= $(CURDIR)/data
DEBIAN_PACKAGES := libsqlite3-mod-spatialite postgresql-15-postgis-3 chromium fonts-dejavu-core \
  redis-server poppler-utils tilemaker
OPENACTIVE_TOOLS := tools/openactive

.PHONY: install run test lint bench clean

install: $(VENV)/.installed $(OPENACTIVE_TOOLS)/node_modules/.installed

# OpenActive's own validators (npm), run offline by tests/opendata/test_openactive_validators.py.
# Node.js and npm: the machine's own if it has them (a NodeSource nodejs bundles npm and
# conflicts with Debian's npm package), else Debian's.
$(OPENACTIVE_TOOLS)/node_modules/.installed: $(OPENACTIVE_TOOLS)/package-lock.json
	@if ! command -v npm >/dev/null && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm; fi
	@if command -v npm >/dev/null; then \
	  npm ci --prefix $(OPENACTIVE_TOOLS) --no-audit --no-fund && touch $@; \
	else echo "npm not found: the OpenActive validator tests will be skipped"; fi

$(VENV)/.installed: pyproject.toml
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  fi; \
	else echo "not root or not Debian: install $(DEBIAN_PACKAGES) yourself"; fi
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

run: install
	$(VENV)/bin/assetmap db upgrade
	$(VENV)/bin/assetmap demo load --if-empty
	$(VENV)/bin/assetmap network list | grep -q '^camden:' || \
	  $(VENV)/bin/assetmap network build --osm data/osm/camden.osm.pbf --name camden
	@# Without tilemaker the maps draw the walking network's streets: say so and carry on.
	$(VENV)/bin/assetmap tiles list | grep -q '^camden:' || ! command -v tilemaker >/dev/null || \
	  $(VENV)/bin/assetmap tiles build --osm data/osm/camden.osm.pbf --name camden
	@command -v tilemaker >/dev/null || echo "tilemaker is not installed (apt-get install tilemaker): the maps will draw the walking network's streets"
	$(VENV)/bin/assetmap serve --with-scheduler --host $(HOST) --port $(PORT)

# One pytest worker per core (pytest-xdist), each with its own databases; a file's tests stay
# together on one worker, so its fixtures are set up once. PYTEST_WORKERS=0 runs them in turn.
PYTEST_WORKERS ?= auto
test: install lint
	bash .ci/start-services
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile

# ruff (style, complexity), the import contract (layers, no cycles: pyproject.toml), mypy (types:
# pyproject.toml), no unused or undeclared dependency.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/deptry .

bench: install
	$(PY) bench/walking.py
	$(PY) bench/freshness.py

clean:
	rm -rf $(VENV) instance .pytest_cache $(OPENACTIVE_TOOLS)/node_modules
