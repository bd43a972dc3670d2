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

# Two tests need system programs: the web page's test drives Debian's Chromium (Playwright; no
# browser download) and the service's PostgreSQL test starts a private PostgreSQL server.
# Installed here when missing and this machine can (root with apt-get); elsewhere those tests
# are skipped, unless REQUIRE_BROWSER=1 / REQUIRE_POSTGRES=1 (CI) make them failures.
system_packages() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing ${missing[*]} for the service's tests (about 1-2 minutes)..." >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
      || echo "could not install ${missing[*]}: the tests that need them will not run" >&2
  fi
}

export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-3}
case "${1:-}" in
  demo) setup demo; shift; exec "$VENV/bin/python" main_thread.py --no-progress "$@" ;;
  # two workers (pytest-xdist): the suite's wall time on 2 cores drops from about 9.5 to 6 minutes
  test) setup test; system_packages; shift; exec "$VENV/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" --dist worksteal "$@" ;;
  env) setup env ;;
  *) echo "usage: ./run.sh demo|test|env [args...]" >&2; exit 1 ;;
esac
