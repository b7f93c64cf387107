# Two commands matter: `make demo` runs the product, `make test` runs both test tiers.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-default test-e2e test-story test-pi lint format install clean deb deb-lock apt-repo image storm

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[cloud,hub,dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ethos demo

test: $(STAMP)
	$(MAKE) lint
	$(MAKE) test-default
	$(MAKE) test-e2e

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# Types: plain on the hub, strict on hub.core (flags in pyproject's mypy overrides).
	$(VENV)/bin/mypy hub
	# cloud (issue #20): types (strict on checkout, payments, oauth).
	$(VENV)/bin/mypy cloud
	# Import directions (pyproject's importlinter contracts).
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The default tier's tests share nothing outside their own temporary files and ports, so
# they run on two workers (this machine's cores); the e2e tier's share real services.
test-default: $(STAMP)
	$(PY) -m pytest -q -n 2 --durations=15

# The e2e tier needs PostgreSQL and Mosquitto; say so plainly when they are not there.
# It runs the tests the tier changes (tier fixtures, e2e markers): the others ran just
# before in the default tier, identically (`pytest --e2e` alone runs everything). The
# browser story runs once, at phone size (with the away-from-home step); `make test-story`
# also runs it on a desktop.
STORY := tests/e2e/test_story_browser.py
test-e2e: $(STAMP)
	@if $(PY) -m tests.support.services_ready; then \
		$(PY) -m pytest -q --e2e --tier-dependent-only --durations=25 \
			--deselect '$(STORY)::test_the_whole_story[desktop]'; \
	else \
		echo "e2e tier SKIPPED: PostgreSQL or Mosquitto not reachable (see above)"; \
	fi

# The hub as a Debian package for a Raspberry Pi (arm64) or a PC (amd64): dist/*.deb
ARCH ?= arm64
# The whole story in Chromium at both sizes, desktop and phone (about five minutes).
test-story: $(STAMP)
	$(PY) -m pytest -q --e2e $(STORY)

deb: $(STAMP)
	packaging/deb/build $(ARCH)

# Pin the package's dependencies to what this venv runs (and the tests ran against).
deb-lock: $(STAMP)
	$(PY) packaging/deb/lock.py > packaging/deb/requirements.lock

# A signed apt repository of the packages in dist/ (key kept in ~/.local/share/ethos-apt).
apt-repo:
	packaging/apt/make-repo dist build/apt-repo

# The arm64 package installed and run in a Debian bookworm arm64 root under qemu.
test-pi: $(STAMP)
	packaging/pi/check arm64

# The storm, long: 200 buyers on the production stack (packaging/cloud/stack.py) while a
# replica is killed and PostgreSQL restarts, then a rolling restart (needs haproxy).
storm: $(STAMP)
	$(PY) benchmarks/storm.py --buyers 200 --rolling-buyers 20 --ramp-seconds 40

# The store's OCI image, ethos-store:<version>, built with podman on a debootstrap'd base
# (cached in build/cache/image): see packaging/cloud/image/README.md.
image: $(STAMP)
	packaging/cloud/image/build

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
