# Throughline Events: the two commands a new user needs are `make run` and `make test`.
#
#   make run       install, migrate, seed the demo, ensure a staff and a partner login, serve on 127.0.0.1:$PORT
#   make test      the whole test suite (DATABASE_URL selects the database; unset = SQLite)
#   make serve     production: migrate, collectstatic, gunicorn (settings from the environment)
#   make lint      ruff check, ruff format --check, mypy
#   make screenshots  with `make run` serving: refresh docs/screenshots/ from the demo
#   make bench     query benchmark at 100k and 10M events, then bench/export.py if present
#   make install   create .venv (Python >= 3.12) and install requirements-dev.txt
#   make superuser give the staff user `admin` a new password and print it
#   make partner-user  give the demo partner user `partner-demo` a new password and print it
#
# Zero configuration: SQLite under the project folder, DEBUG=true and a development
# SECRET_KEY, supplied here for run/test only (production sets its own environment).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PORT ?= 8000
# Seconds between two runs of the rollup under `make run`: new events reach the figures
# within this time plus one run.
ROLLUP_EVERY ?= 20
# Seconds between two load checks under `make run` (check_load: episodes, alert emails).
CHECK_LOAD_EVERY ?= 60
VENV := .venv
PY := $(VENV)/bin/python
# Rewritten whenever a requirements file changes, so packages are re-installed only then.
STAMP := $(VENV)/.installed
# Set PYTHON=/path/to/python3.12 to skip the search below.
PYTHON ?=
# pytest-xdist workers for `make test`; PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

# The first Python >= 3.12 found: python3.13, python3.12, python3 on PATH (pyenv shims
# of a version that is not selected fail to run and are skipped), then pyenv's versions.
define FIND_PYTHON
ok() { "$$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }; \
for cand in python3.13 python3.12 python3; do \
	if command -v "$$cand" >/dev/null 2>&1 && ok "$$cand"; then command -v "$$cand"; exit 0; fi; \
done; \
if command -v pyenv >/dev/null 2>&1; then \
	for version in 3.12.1 $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])(\.[0-9]+)?$$' | sort -rV); do \
		prefix=$$(pyenv prefix "$$version" 2>/dev/null) || continue; \
		if ok "$$prefix/bin/python3"; then echo "$$prefix/bin/python3"; exit 0; fi; \
	done; \
fi; \
exit 1
endef

# Staff login for the demo: creates `admin` with a random password printed once; with
# RESET_PASSWORD=1 (make superuser) gives it a new one.
define ENSURE_SUPERUSER_PY
import os, secrets
from django.contrib.auth import get_user_model
User = get_user_model()
user, created = User.objects.get_or_create(username="admin", defaults={"email": "admin@example.org"})
if created or os.environ.get("RESET_PASSWORD") == "1" or not user.has_usable_password():
    password = secrets.token_urlsafe(12)
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    print(f"Staff login: admin / {password}  (shown once; `make superuser` sets a new one)")
else:
    print("Staff login: admin (password shown when it was created; `make superuser` sets a new one)")
endef
export ENSURE_SUPERUSER_PY

# Partner login for the demo: `partner-demo`, a partner user of Lumen Assistant (demo-lumen),
# created through the one write path with a random password printed once; with
# RESET_PASSWORD=1 (make partner-user) given a new one.
define ENSURE_PARTNER_USER_PY
import os, secrets
from django.contrib.auth import get_user_model
from accounts.partners import create_partner_user
from helplines.models import Partner
user = get_user_model().objects.filter(username="partner-demo").first()
created = user is None
if created:
    user = create_partner_user(partner=Partner.objects.get(slug="demo-lumen"), username="partner-demo")
if created or os.environ.get("RESET_PASSWORD") == "1" or not user.has_usable_password():
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save()
    print(f"Partner login: partner-demo / {password}  (Lumen Assistant's own pages at /partner/; shown once; `make partner-user` sets a new one)")
else:
    print("Partner login: partner-demo (Lumen Assistant's own pages at /partner/; `make partner-user` sets a new password)")
endef
export ENSURE_PARTNER_USER_PY

.PHONY: help install run serve test lint screenshots superuser partner-user migrate seed clean-venv

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

$(PY):
	@py="$(PYTHON)"; \
	if [ -z "$$py" ]; then \
		py=$$( ( $(FIND_PYTHON) ) ) || { \
			echo "No Python >= 3.12 found (looked for python3.13, python3.12, python3 on PATH and in pyenv)." >&2; \
			echo "Install one (e.g. 'pyenv install 3.12') or run: make PYTHON=/path/to/python3.12 run" >&2; \
			exit 1; }; \
	fi; \
	echo "Creating $(VENV) with $$py ($$("$$py" --version))"; \
	"$$py" -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || { \
		echo "$(VENV) runs $$($(PY) --version); Python >= 3.12 is needed: delete $(VENV) and retry." >&2; exit 1; }
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

# Development values, for these targets only; config/settings.py refuses to start
# without SECRET_KEY when DEBUG is false.
run test lint superuser partner-user migrate seed: export DEBUG := true
run test lint superuser partner-user migrate seed: export SECRET_KEY ?= dev-only-insecure-key-for-make-run-and-test-0123456789

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# The figures are read from aggregates: `run` keeps them fresh beside the server, as cron
# or a long-running `rollup_events --every` does in production (README, "Operations").
run: export EMAIL_URL ?= consolemail://
run: seed
	@$(PY) manage.py shell --no-imports -c "$$ENSURE_SUPERUSER_PY"
	@$(PY) manage.py shell --no-imports -c "$$ENSURE_PARTNER_USER_PY"
	@echo "Serving on http://127.0.0.1:$(PORT)/  (dashboard /dashboard/, admin /admin/, API docs /v1/docs/)"
	@echo "Rolling up new events every $(ROLLUP_EVERY) s in the background (rollup_events --every)."
	@echo "Checking load every $(CHECK_LOAD_EVERY) s (check_load --every; alert emails printed here)."
	@$(PY) manage.py rollup_events --every $(ROLLUP_EVERY) & rollup=$$!; \
	$(PY) manage.py check_load --every $(CHECK_LOAD_EVERY) & load=$$!; \
	trap 'kill $$rollup $$load 2>/dev/null || true' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# Production serving (README, "Production"): nothing is supplied here, the environment
# sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, and gunicorn's HOST, PORT and
# WEB_CONCURRENCY (config/gunicorn.py).
serve: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	exec $(PY) -m gunicorn --config config/gunicorn.py config.wsgi

superuser: migrate
	@RESET_PASSWORD=1 $(PY) manage.py shell --no-imports -c "$$ENSURE_SUPERUSER_PY"

partner-user: seed
	@RESET_PASSWORD=1 $(PY) manage.py shell --no-imports -c "$$ENSURE_PARTNER_USER_PY"

test: install
	$(PY) -m pytest $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS)) $(PYTEST_ARGS)

screenshots: install
	$(PY) docs/screenshots.py

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

# The query benchmark (bench/README.md): both sizes in one run, PostgreSQL only (databases
# DATABASE_URL's name + _100k, _10m, recreated and dropped at the end; 10M takes hours),
# then the export benchmark when bench/export.py exists. Each appends a section to
# bench/RESULTS.md; the status is the first failure's. BENCH_SIZES=100000,1000000: ~12 min.
.PHONY: bench
bench: BENCH_SIZES ?= 100000,10000000
bench: install
	@status=0; \
	$(PY) bench/queries.py --sizes $(BENCH_SIZES) || status=$$?; \
	if [ -f bench/export.py ]; then \
		$(PY) bench/export.py || { rc=$$?; [ $$status -ne 0 ] || status=$$rc; }; \
	fi; \
	exit $$status

clean-venv:
	rm -rf $(VENV)
