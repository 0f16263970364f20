#!/usr/bin/env bash
# make test: the suite on SQLite (with the CLI tests, which run their own SQLite nodes), then
# on a throwaway PostgreSQL cluster with the PostgreSQL-only checks and the browser tests.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.venv/bin
work=$(mktemp -d /tmp/tiendon-test.XXXXXX)
chmod 755 "$work"
cleanup() { scripts/pg-cluster.sh stop "$work/pg" || true; rm -rf "$work"; }
trap cleanup EXIT

export TIENDON_DATA_DIR="$work/data"
export TIENDON_SECRET_KEY="test-only-secret-key-$(date +%s)-0123456789abcdef"
export DJANGO_ALLOW_ASYNC_UNSAFE=true
mkdir -p test-artifacts

echo "== pass 1: SQLite =="
unset DATABASE_URL
"$bin/pytest" -q -m "not postgres and not browser" "$@"

echo "== pass 2: PostgreSQL (with PostgreSQL-only and browser tests) =="
DATABASE_URL=$(scripts/pg-cluster.sh start "$work/pg")
export DATABASE_URL
"$bin/pytest" -q -m "not cli" --output=test-artifacts/playwright --screenshot=only-on-failure "$@"
