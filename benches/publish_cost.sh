#!/usr/bin/env bash
# What publishing the engine's state costs the import (issue #17 point 7): the synced-folder
# case of benches/import.sh (10,000 files of 4-64 KiB), run alternately with the store's event
# triggers in place (as shipped) and dropped from the bench library (the import's work without
# the event log and the per-day totals), RUNS times each; CPU time (user + sys) and wall time
# of `import --once`, medians, and the bare shell baseline of the same tree for the ratio.
# Usage: benches/publish_cost.sh [RUNS] [WORKDIR]   (needs python3, sqlite3, GNU time; FILES=N for another count)
RUNS=${1:-5}
WORK=$(realpath -m "${2:-$(mktemp -d)}")
mkdir -p "$WORK"
source "$(dirname "$0")/support/ab_import.sh"

gen_tree() { # dir count
  python3 - "$@" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
head = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
for i in range(n):
    d = os.path.join(root, f"d{i % 20}", f"e{i % 7}")
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(4096, 65536)
    with open(os.path.join(d, f"img{i:05}.png"), "wb") as f:
        f.write(head + os.urandom(size - len(head)))
PY
}

# "without": the store's event triggers dropped from this bench library.
prepare() { # variant data-dir
  if [ "$1" = without ]; then
    sqlite3 "$2/library.sqlite3" "DROP TRIGGER import_items_found; DROP TRIGGER import_items_moved; DROP TRIGGER links_moved; DROP TRIGGER reports_written; DROP TRIGGER reports_removed;"
  fi
}

ab_compare "$RUNS" with without publishing 5
