#!/usr/bin/env bash
# make demo: migrate the embedded SQLite database, seed it once, run the node on 127.0.0.1:8000.
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
if [ ! -f "$TIENDON_DATA_DIR/.node" ]; then
  # One node serving the whole hierarchy; its dispatcher takes deliveries in as they arrive.
  if ! out=$($bin/tiendon node init --name demo --serves BQP 2>&1); then
    case "$out" in *already_initialised*) ;; *) echo "$out" >&2; exit 1 ;; esac
  fi
  touch "$TIENDON_DATA_DIR/.node"
fi
echo "serving on http://127.0.0.1:8000/ (Ctrl-C to stop)"
# The web server, the delivery worker and the dispatcher (and, with TIENDON_SEARCH_INDEX
# set, the search indexer), watched and restarted by `tiendon node start`.
exec $bin/tiendon node start --name demo --data "$TIENDON_DATA_DIR" --port 8000 --web-workers 2
