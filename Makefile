# make run   — install what is missing, migrate, load the demo center, start web + worker + beat.
# make test  — the whole suite (SQLite unless DATABASE_URL says otherwise); fails when a test fails.
# make bench — the benchmarks in tests/bench/ (a 2,000-agent center), printing figures.
#
# Works on a fresh Debian machine with Python 3.11: missing Debian packages are
# installed (with sudo when not root), the virtualenv is created in .venv.
# Nothing here reads files under var/ except the secret key that `make run` creates.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.requirements-installed
PORT ?= 8000
VAR_DIR := $(or $(SCORECARD_VAR_DIR),var)
SECRET_FILE := $(VAR_DIR)/secret_key
DEBIAN_PACKAGES := python3-venv gettext fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils
# The browser suite drives Debian's Chromium (never a downloaded browser build); only `make test` needs it.
TEST_DEBIAN_PACKAGES := chromium

export PORT

.PHONY: run test bench install system-packages test-packages messages

# Install those of the Debian packages given that are missing.
define install-debian-packages
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null; then \
	    echo "Not a Debian system: install the equivalents of$$missing yourself." >&2; exit 0; \
	  fi; \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

system-packages:
	$(call install-debian-packages,$(DEBIAN_PACKAGES))

test-packages:
	$(call install-debian-packages,$(TEST_DEBIAN_PACKAGES))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "Could not create $(VENV): is python3-venv installed?" >&2; exit 1; }

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

# Compile the translations; a tree with no .po file yet has nothing to compile.
messages: $(STAMP)
	@if find . \( -path ./.venv -o -path ./var -o -path ./.git -o -path ./node_modules \) -prune \
	     -o -name '*.po' -print | grep -q .; then \
	  DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-compilemessages}" \
	    $(MANAGE) compilemessages --ignore=.venv --ignore=var --ignore=node_modules -v 0; \
	fi

install: system-packages $(STAMP) messages

# The secret key is made once and kept under var/ (git-ignored); DJANGO_SECRET_KEY wins if set.
run: install
	@mkdir -p "$(VAR_DIR)"
	@test -s "$(SECRET_FILE)" || $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))' > "$(SECRET_FILE)"
	@set -e; export DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat "$(SECRET_FILE)")}"; \
	$(MANAGE) migrate --noinput -v 0; \
	$(MANAGE) collectstatic --noinput -v 0; \
	$(MANAGE) load_demo; \
	echo; \
	echo "Scorecard is starting at http://127.0.0.1:$(PORT)/  (web, Celery worker and beat; Ctrl-C stops all three)"; \
	echo; \
	export SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}"; exec $(BIN)/honcho start -f Procfile

# pytest exits 5 when it collected no test: that is a failure too, and said so.
test: install test-packages
	@$(BIN)/python -m pytest -n 2 -q; rc=$$?; \
	if [ $$rc = 5 ]; then echo "make test: pytest collected no tests." >&2; fi; \
	exit $$rc

bench: install
	$(BIN)/python -m pytest tests/bench -q -s -p no:xdist -o norecursedirs=".venv var"
