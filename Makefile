# Two entry points, each self-installing and idempotent:
#   make demo   set up, generate the student version and execute the instructor notebook
#   make test   set up, then lint and run every test
#   make check  the edit-test loop: lint, types, import contracts and the unit tests
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# nbgrader and the tests run tools (alembic, jupyter) by name: use the environment's.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# matplotlib's font list names the font files of one environment's matplotlib: a cache of each
# environment's own (two clones sharing ~/.cache/matplotlib make each other's plots warn on
# stderr, which nbval and nbgrader count as a failed cell).
export MPLCONFIGDIR := $(CURDIR)/$(VENV)/matplotlib

.PHONY: demo test check lint setup grader-user bench clean screenshots

setup: $(STAMP) grader-user

# Rebuild the environment whenever the pins or the package metadata change.
$(STAMP): requirements.txt pyproject.toml Makefile judge_runtime/_allocations.c scripts/build_allocations.py
	bash scripts/install-system-packages.sh bubblewrap uidmap util-linux postgresql chromium gcc
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.txt
# Left out on purpose (see requirements.txt), but older pins installed them.
	if $(PY) -m pip show --quiet rfc3987-syntax 2>/dev/null; then $(PY) -m pip uninstall --quiet --yes rfc3987-syntax lark; fi
	$(PY) -m pip check
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
# The loop check's count of object allocations, a C extension (judge_runtime/_allocations.c).
	$(PY) scripts/build_allocations.py
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
# The course has no nbgrader exchange (instructors collect with `course collect`): the student
# panels that list assignments and courses from it are turned off, with their server parts.
	for plugin in assignment-list course-list; do \
	  $(VENV)/bin/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:$$plugin >/dev/null 2>&1; done
	$(VENV)/bin/jupyter server extension disable --sys-prefix \
	  nbgrader.server_extensions.assignment_list nbgrader.server_extensions.course_list >/dev/null 2>&1
# This environment's font list (MPLCONFIGDIR), built here rather than, with a line on stderr,
# at the first plot of a test.
	$(PY) -c "import matplotlib.font_manager" 2>/dev/null
	touch $@

demo: $(STAMP)
	$(PY) -m course demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=$(CURDIR) $(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# The unprivileged user rootless grading is tested as (its control groups do not survive a
# boot, so this runs every time; as root only).
grader-user:
	if [ "$$(id -u)" -eq 0 ]; then bash scripts/setup-grader-user.sh course-grader; fi

# pytest in two processes, then the browser tests (scripts/run-tests.sh says why).
TEST_PROCESSES ?= 2
test: lint grader-user
	bash scripts/run-tests.sh $(PY) $(TEST_PROCESSES)

check: lint
	$(PY) -m pytest -q tests/unit

# Refresh the screenshots the README shows: the browser tests write them to docs/screenshots.
screenshots: $(STAMP)
	COURSE_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q tests/browser/test_student_browser.py tests/browser/test_instructor_browser.py

bench: $(STAMP)
	$(PY) bench/gradcheck.py
	$(PY) bench/training.py
	$(PY) bench/vectorized.py
	$(PY) bench/grading.py
	$(PY) bench/tolerance.py
	$(PY) bench/training_margin.py

clean:
	rm -rf $(VENV) build reports gradebook.db submitted autograded/*/ feedback judge_runtime/_allocations.so
