# make run  — install what is missing, migrate, load the demo center, start web + worker + beat.
# make test — the whole suite (SQLite unless DATABASE_URL says otherwise).
# make bench — the benchmarks in tests/bench/, printing figures.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
PORT ?= 8000
DEBIAN_PACKAGES := python3-venv gettext fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils
SECRET_FILE := var/secret_key

export DJANGO_SECRET_KEY ?= $(shell test -f $(SECRET_FILE) || (mkdir -p var && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $(SECRET_FILE)); cat $(SECRET_FILE))
export PORT

.PHONY: run test bench install system-packages messages

system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $(STAMP)

messages: $(STAMP)
	$(BIN)/python manage.py compilemessages --ignore=.venv -v 0

install: system-packages $(STAMP) messages

run: install
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py load_demo
	@echo
	@echo "Scorecard is starting at http://127.0.0.1:$(PORT)/  (web, Celery worker and beat; Ctrl-C stops all three)"
	@echo
	$(BIN)/honcho start -f Procfile

test: install
	$(BIN)/python -m pytest -n 2 -q

bench: install
	$(BIN)/python -m pytest tests/bench -q -s -p no:xdist
