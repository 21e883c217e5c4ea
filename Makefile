# acceptq: the two commands of the quick start are `make audit` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export ANSIBLE_HOME := $(CURDIR)/.ansible
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.ansible/collections
# Empty: every scenario under molecule/; or `make molecule SCENARIOS="fleet incident"`.
SCENARIOS ?=

.PHONY: audit test bootstrap containers images lint unit build sanity ee molecule bench bench-fleet bench-incident bench-prune bench-nginx bench-flock clean

audit: bootstrap  ## audit this machine and print the report
	$(BIN)/acceptq audit --fail-on none

test: containers images lint unit build sanity ee molecule  ## the whole suite

bootstrap:
	@tools/bootstrap.sh

containers:
	@tools/bootstrap.sh --containers

images: containers
	@tools/build-images.sh

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production
	@for module in gather audit nginx_plan; do \
		$(BIN)/ansible-doc acceptq.remediation.$$module >/dev/null || exit 1; done

unit: bootstrap
	$(BIN)/pytest

build: bootstrap
	rm -rf dist && mkdir -p dist
	$(BIN)/ansible-galaxy collection build --force --output-path dist .
	@if tar -tzf dist/acceptq-remediation-*.tar.gz | grep -E '^(src|tests|\.ci|tools|molecule)/'; then \
		echo "build: the collection tarball carries development files" >&2; exit 1; fi
	@# Galaxy's own import checks, offline, on the tarball as it would be uploaded.
	@cd dist && PATH=$(CURDIR)/$(BIN):$$PATH $(CURDIR)/$(BIN)/python -m galaxy_importer.main \
		acceptq-remediation-*.tar.gz >importer.log 2>&1 || { grep -v '^Loading ' importer.log >&2; exit 1; }
	@grep -E '^(WARNING|ERROR)' dist/importer.log || true
	@# It logs a module whose docs do not parse as an ERROR and still succeeds.
	@if grep -q '^ERROR' dist/importer.log; then echo "build: galaxy-importer reported errors" >&2; exit 1; fi
	@tail -1 dist/importer.log

ee: build  ## the execution environment's build context (ansible-builder create), checked
	tools/ee-context.sh dist/ee-context

sanity: containers build  ## ansible-test sanity on the built collection (containers: shellcheck)
	PATH=$(CURDIR)/$(BIN):$$PATH tools/sanity.sh dist/acceptq-remediation-*.tar.gz
	$(BIN)/antsibull-changelog lint

# Two scenarios at a time (MOLECULE_JOBS), longest first: see tools/molecule-all.sh.
molecule: bootstrap images
	@tools/molecule-all.sh $(SCENARIOS)

bench: bootstrap  ## print the gathering benchmark's figures (root: uses a network namespace)
	$(BIN)/python tools/bench-gather.py

bench-fleet: bootstrap  ## the fleet audit of 200 local host aliases against `ansible all -m ping` (figures)
	$(BIN)/python tools/bench-fleet.py

bench-incident: bootstrap images  ## the seed incident before and after remediation, as JSON (~4 min, podman)
	$(BIN)/python tools/bench-incident.py

bench-prune: bootstrap  ## deleting 20,000 old logs: find -delete vs the prune job (wall time, p99 of append+fsync)
	$(BIN)/python tools/bench-prune.py

bench-flock: bootstrap  ## PHP preselection over 50,000 generated files (~1 GB in /tmp) and parse time per candidate
	$(BIN)/python tools/bench-flock.py

bench-nginx: bootstrap  ## the nginx model over a generated 10,000-line configuration (target <= 0.15 s)
	$(BIN)/python tools/bench-nginx-parse.py

clean:
	rm -rf dist .pytest_cache .ruff_cache
