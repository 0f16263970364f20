#!/usr/bin/env bash
# make demo: migrate the embedded SQLite database, seed it once, serve on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
mkdir -p "$TIENDON_DATA_DIR"
$bin/tiendon migrate --noinput -v0
if [ ! -f "$TIENDON_DATA_DIR/.seeded" ]; then
  $bin/tiendon seed-demo
  touch "$TIENDON_DATA_DIR/.seeded"
else
  echo "demo data already seeded in $TIENDON_DATA_DIR (delete the folder to start over)"
  $bin/tiendon seed-demo --accounts-only
fi
if [ -n "${TIENDON_SEARCH_INDEX:-}" ]; then
  # The node's search indexer (ADR 0011): builds the index, then follows the changes.
  $bin/tiendon documents search-index --follow &
  trap 'kill $! 2>/dev/null' EXIT
fi
echo "serving on http://127.0.0.1:8000/ (Ctrl-C to stop)"
$bin/tiendon runserver 127.0.0.1:8000 --noreload
