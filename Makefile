# `make run` sets up and runs the app (production server, DEBUG off); `make dev` runs it for
# development (auto-reload, DEBUG on); `make test` runs every test (as CI does); `make test-fast`
# all but the worker, browser and benchmark tests, for everyday work.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run dev test test-fast venv translations admin clean benchmark-speed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	# face_recognition pins the source build of dlib; we use dlib-bin, so no deps.
	$(PY) -m pip install --quiet --no-deps face_recognition==1.3.0
	touch $@

venv: $(VENV)/.installed

# The translation catalogues (locale/*/LC_MESSAGES/*.po) compiled to .mo, those that changed
# (pure Python: no GNU gettext needed; the .mo files are not in the repository).
translations: venv
	$(PY) manage.py compile_translations

run: venv translations
	$(PY) manage.py runapp

dev: venv translations
	DEBUG=true $(PY) manage.py runapp --dev

admin: venv translations
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py createsuperuser

# Two runs, together the whole suite: the tests that need no worker, browser or benchmark
# on every core (pytest-xdist: a test database per process), then those one at a time
# (they share one Celery worker, a live server and the machine's ports).
# The markers are registered in pyproject.toml; tests/conftest.py also gives them by fixture.
PARALLEL := -n auto -m "not worker and not browser and not benchmark"
SERIAL := -m "worker or browser or benchmark"

test: venv translations
	$(PY) -m pytest $(PARALLEL)
	$(PY) -m pytest $(SERIAL)

test-fast: venv translations
	$(PY) -m pytest $(PARALLEL)

# The speed benchmark of README "Speed": class photos of the seeds the detector was tuned on
# and of held-back seeds, each set in its own throwaway database and process; prints one row
# per set (ours, face_recognition's recipe, the 'hog' detector, recall, detection passes).
# Needs an otherwise idle machine for its seconds. Sets are made once under $(SPEED_DIR).
SPEED_DIR ?= /tmp/benchmark-speed
SPEED_TUNED := std-1 std-2 std-3 big-1
SPEED_HELD_BACK := std-101 std-102 std-103 std-104 std-105 std-108 std-109 big-201 big-202 big-203 big-206 big-207
CLASSROOM := $(PY) ../shared/tools/make_classroom.py ../shared/faces/identities

$(SPEED_DIR)/std-%/truth.json:
	$(CLASSROOM) $(SPEED_DIR)/std-$* --roster 40 --present 30 --strangers 3 --seed $* > /dev/null
$(SPEED_DIR)/big-%/truth.json:
	$(CLASSROOM) $(SPEED_DIR)/big-$* --roster 40 --present 30 --strangers 3 --seed $* \
		--width 4000 --height 3000 --exif-rotate > /dev/null

benchmark-speed: venv $(foreach set,$(SPEED_TUNED) $(SPEED_HELD_BACK),$(SPEED_DIR)/$(set)/truth.json)
	$(PY) manage.py benchmark_speed $(addprefix $(SPEED_DIR)/,$(SPEED_TUNED)) \
		--held-back $(addprefix $(SPEED_DIR)/,$(SPEED_HELD_BACK)) --workers $(or $(WORKERS),0)

# Deletes the virtualenv and what `make run` leaves in var/ (embedded Redis data, the
# worker's schedule, the test database); keeps var/secret_key, the site's key.
clean:
	rm -rf $(VENV)
	if [ -d var ]; then find var -mindepth 1 -maxdepth 1 ! -name secret_key -exec rm -rf {} +; fi
