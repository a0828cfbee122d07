#!/usr/bin/env bash
# What the test suite needs beyond the venv, started or installed when missing: PostgreSQL and
# Redis on loopback, and Debian's Chromium for the browser tests. `make test` and `.ci/run` both
# call this, so the README's one command is all a fresh machine needs. A step that cannot be done
# stops here, before pytest, with one line naming what is missing and how to install it.
set -euo pipefail

fail() { echo "test-setup: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }

# PostgreSQL (tests use 127.0.0.1:5432, trust auth, database `test`; MLOOP_TEST_PG_URL overrides).
if [ -z "${MLOOP_TEST_PG_URL:-}" ] && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  command -v pg_lsclusters >/dev/null \
    || fail "PostgreSQL is not running on 127.0.0.1:5432 and is not installed: apt-get install -y postgresql (or set MLOOP_TEST_PG_URL)"
  version=$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')
  [ -n "$version" ] || fail "PostgreSQL is installed but has no cluster: pg_createcluster --start 15 main"
  echo "test-setup: starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start \
    || fail "could not start PostgreSQL $version: pg_ctlcluster --skip-systemctl-redirect $version main start (as root)"
  for _ in $(seq 1 60); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
  pg_isready -h 127.0.0.1 -p 5432 -q || fail "PostgreSQL $version started but does not answer on 127.0.0.1:5432"
fi

# Redis (tests use 127.0.0.1:6379; MLOOP_TEST_REDIS_URL overrides).
if [ -z "${MLOOP_TEST_REDIS_URL:-}" ] && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null \
    || fail "Redis is not running on 127.0.0.1:6379 and is not installed: apt-get install -y redis-server (or set MLOOP_TEST_REDIS_URL)"
  echo "test-setup: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    || fail "could not start Redis: redis-server --daemonize yes --bind 127.0.0.1 --port 6379"
  for _ in $(seq 1 60); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || fail "Redis started but does not answer on 127.0.0.1:6379"
fi

# Headless Chromium (Debian's package; Playwright drives it, never downloads its own).
if ! command -v chromium >/dev/null 2>&1; then
  command -v apt-get >/dev/null || fail "Chromium is missing and apt-get is not available: install Debian's chromium package"
  echo "test-setup: installing chromium (apt-get install -y chromium)"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -q chromium >/dev/null 2>&1; then
    as_root apt-get update -q >/dev/null 2>&1 || true
    as_root apt-get install -y -q chromium >/dev/null 2>&1 \
      || fail "could not install Chromium: apt-get update && apt-get install -y chromium (as root)"
  fi
  command -v chromium >/dev/null 2>&1 || fail "apt-get installed chromium but it is not on PATH"
fi
