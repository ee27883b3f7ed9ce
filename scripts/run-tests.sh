#!/usr/bin/env bash
# Every test, as `make test` runs them (after the lint): two pytest processes (pytest-xdist;
# tests/conftest.py keeps together what must share one), then the browser tests in a pytest of
# their own, since Playwright's event loop stays in the process it ran in. The runs share one
# folder for the graded cohort (tests/support/cohort.py), the course secret and the canary's
# passes, so that the browser tests review the very cohort the others checked.
# Usage: scripts/run-tests.sh PYTHON PROCESSES
set -uo pipefail
python=$1 processes=$2
share=$(mktemp -d -t course-tests-XXXXXX)
trap 'rm -rf "$share"' EXIT
export COURSE_TEST_SHARE=$share COURSE_CACHE_DIR=$share/cache COURSE_SECRET_DIR=$share/secrets
mkdir "$COURSE_CACHE_DIR" "$COURSE_SECRET_DIR"

"$python" -m pytest --numprocesses "$processes" --ignore tests/browser
status=$?
"$python" -m pytest tests/browser || status=$((status ? status : $?))
exit "$status"
