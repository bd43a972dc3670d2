#!/usr/bin/env bash
# One entry for a fresh machine: creates .venv from requirements.txt when needed, then
#   ./run.sh demo   judges the bundled samples (images and videos) with the shipped detectors: verdict CSV on stdout
#   ./run.sh test   runs the whole test suite (on PYTEST_WORKERS=2 workers; extra args go to pytest)
#   ./run.sh env    only sets up .venv
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

setup() {
  local stamp="$VENV/.requirements.sha256"
  local want
  want=$(cat requirements.txt requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
  if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; then
      echo "$PYTHON: the pinned requirements (TensorFlow 2.20) need Python 3.11 to 3.13;" \
        "name another interpreter: PYTHON=python3.11 ./run.sh ${1:-demo}" >&2
      exit 1
    fi
    echo "setting up $VENV from requirements.txt (about 2 minutes, 3.4 GB)..." >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet -r requirements.txt >&2
    "$VENV/bin/python" -m pip install --quiet --no-deps -r requirements-nodeps.txt >&2
    echo "$want" > "$stamp"
  fi
}

# The web page's test drives Debian's Chromium (Playwright; no browser download). Installed
# here when missing and this machine can (root with apt-get); elsewhere that test is skipped,
# unless REQUIRE_BROWSER=1 (CI) makes a missing browser a failure.
browser() {
  if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium for the web page's test (about 1 minute)..." >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2 \
      || echo "could not install chromium: the web page's test will not run" >&2
  fi
}

export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
case "${1:-}" in
  demo) setup demo; shift; exec "$VENV/bin/python" main_thread.py --no-progress "$@" ;;
  # two workers (pytest-xdist): the suite's wall time on 2 cores drops from about 9.5 to 6 minutes
  test) setup test; browser; shift; exec "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" --dist worksteal "$@" ;;
  env) setup env ;;
  *) echo "usage: ./run.sh demo|test|env [args...]" >&2; exit 1 ;;
esac
