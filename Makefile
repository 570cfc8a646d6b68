# Two commands for a fresh machine: `make run` and `make test`. Both build the virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PORT
# The address links in emails, QR codes and feeds point at. honcho gives every process of the
# Procfile a PORT of its own (web 8000, worker 8100, beat 8200), so `make run` hands all three
# this one SITE_URL rather than letting each derive it. Set SITE_URL to override (a tunnel).
SITE_URL ?= http://$(if $(filter 0.0.0.0 :: [::],$(HOST)),localhost,$(HOST)):$(PORT)

.PHONY: run test lint format audit bench clean constraints messages translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Exactly the versions in constraints.txt, transitive ones included (requirements*.txt list
# only the direct dependencies).
$(VENV)/.installed-run: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@ $(VENV)/.installed-run

## run: set up, migrate, seed a demo, and serve web + Celery worker + beat (Ctrl-C stops all)
run: $(VENV)/.installed-run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Open $(SITE_URL)/   (Ctrl-C stops the web server, the worker and beat)"
	@echo ""
	HOST=$(HOST) SITE_URL=$(SITE_URL) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

## test: the whole suite (uses DATABASE_URL / REDIS_URL when set, else SQLite and skips)
test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

# Translations. `make messages` collects every marked string into locale/<lang>/LC_MESSAGES
# (django.po for Python and templates, djangojs.po for static/js); translate the new entries,
# then `make translations` compiles the .mo files that are committed beside them, so a
# deployment needs no gettext. Both need GNU gettext (`apt-get install gettext`).
MESSAGE_DIRS := -i ".venv/*" -i "bench/*" -i "tests/*" -i "var/*" -i "artifacts/*" -i "docs/*" -i "node_modules/*"
messages: $(VENV)/.installed-dev
	$(BIN)/python manage.py makemessages -a --no-obsolete --add-location file $(MESSAGE_DIRS)
	$(BIN)/python manage.py makemessages -a -d djangojs --no-obsolete --add-location file $(MESSAGE_DIRS) -i "static/vendor/*"

translations: $(VENV)/.installed-dev
	$(BIN)/python manage.py compilemessages --ignore ".venv/*"

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## audit: known vulnerabilities in every pinned requirement (needs PyPI's JSON API or OSV;
## --strict fails when a package could not be looked up, instead of passing without checking)
audit: $(VENV)/.installed-dev
	$(BIN)/pip-audit --strict --progress-spinner off -r requirements.txt -r requirements-dev.txt $(AUDIT_ARGS)

## bench: registration rush on gunicorn + PostgreSQL + Redis (BENCH_ARGS="--clients 50" etc.)
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.registration_rush $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var

## constraints: after editing requirements*.txt, resolve them afresh in a throwaway virtualenv
## and pin every installed version, transitive ones included, in constraints.txt
CONSTRAINTS_VENV := $(VENV)-constraints
constraints:
	rm -rf $(CONSTRAINTS_VENV)
	$(PYTHON) -m venv $(CONSTRAINTS_VENV)
	$(CONSTRAINTS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CONSTRAINTS_VENV)/bin/pip install --quiet -r requirements-dev.txt
	{ sed -n '/^#/!q;p' constraints.txt; $(CONSTRAINTS_VENV)/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(CONSTRAINTS_VENV)

## bench-webhooks: the registration rush with a webhook endpoint registered vs without (>= 0.9),
## every webhook received and verified (BENCH_WEBHOOKS_ARGS="--attempts 200 --seats 20")
.PHONY: bench-webhooks
bench-webhooks: $(VENV)/.installed-dev
	$(BIN)/python -m bench.webhook_rush $(BENCH_WEBHOOKS_ARGS)

## bench-fanout: a session update to 5,000 attendees via Celery + Redis into an SMTP sink, vs a
## plain loop (BENCH_FANOUT_ARGS="--concurrency 4" etc.)
.PHONY: bench-fanout
bench-fanout: $(VENV)/.installed-dev
	$(BIN)/python -m bench.invite_fanout $(BENCH_FANOUT_ARGS)

## bench-survey: the survey results page and CSV export at 100,000 responses on gunicorn +
## PostgreSQL, memory of the export at 10,000 vs 100,000 (BENCH_SURVEY_ARGS="--runs 30" etc.)
.PHONY: bench-survey
bench-survey: $(VENV)/.installed-dev
	$(BIN)/python -m bench.survey_results $(BENCH_SURVEY_ARGS)

## bench-panel: a team's panel of 200,000 people on PostgreSQL: a full refresh, and a
## 3-condition filter and a 200-person draw against count(*) (BENCH_PANEL_ARGS="--people 20000" for a quick run)
.PHONY: bench-panel
bench-panel: $(VENV)/.installed-dev
	$(BIN)/python -m bench.panel $(BENCH_PANEL_ARGS)

## bench-screening: re-scoring a 100,000-submission open call after a rule change on
## PostgreSQL (time and peak memory), against a plain count(*) of the same rows
.PHONY: bench-screening
bench-screening: $(VENV)/.installed-dev
	$(BIN)/python -m bench.call_screening $(BENCH_SCREENING_ARGS)

## bench-themes: the themes engine alone on 100,000 planted answers (grouping time and peak
## memory, assigning 1,000 new answers, purity, against TF-IDF alone and plain KMeans), then
## the same on PostgreSQL as the application runs them: the compute task's body, placing
## 1,000 new answers, the themes page, against count(*) and TF-IDF alone
## (BENCH_THEMES_ARGS="--answers 20000" for a quick run: both take it)
.PHONY: bench-themes
bench-themes: $(VENV)/.installed-dev
	$(BIN)/python -m bench.themes $(BENCH_THEMES_ARGS)
	$(BIN)/python -m bench.themes_db $(BENCH_THEMES_ARGS)

## bench-metrics: a /metrics scrape over 1,000,000 outbox rows on gunicorn + PostgreSQL +
## Redis, against /healthz/live in the same run (target: median < 200 ms)
## (BENCH_METRICS_ARGS="--rows 100000" for a quick run)
.PHONY: bench-metrics
bench-metrics: $(VENV)/.installed-dev
	$(BIN)/python -m bench.metrics_scrape $(BENCH_METRICS_ARGS)

## bench-scale-out: two gunicorn instances + two Celery workers (one beat) on one PostgreSQL
## and Redis against one of each: a 1,000-person rush for 100 seats and a 5,000-attendee
## session move; exactly 100 confirmed, every mail once, rate limits shared; prints two / one
## (BENCH_SCALE_OUT_ARGS="--attempts 200 --seats 20 --attendees 500 --rounds 1" for a quick run)
.PHONY: bench-scale-out
bench-scale-out: $(VENV)/.installed-dev
	$(BIN)/python -m bench.scale_out $(BENCH_SCALE_OUT_ARGS)
