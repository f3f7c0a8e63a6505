#!/usr/bin/env bash
# What publishing the engine's state costs the import (issue #17 point 7): the synced-folder
# case of benches/import.sh (10,000 files of 4-64 KiB), run alternately with the store's event
# triggers in place (as shipped) and dropped from the bench library (the import's work without
# the event log and the per-day totals), RUNS times each; CPU time (user + sys) and wall time
# of `import --once`, medians, and the bare shell baseline of the same tree for the ratio.
# Usage: benches/publish_cost.sh [RUNS] [WORKDIR]   (needs python3, sqlite3, GNU time)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins >/dev/null
BIN=$PWD/target/release/smartimage
RUNS=${1:-5}
WORK=${2:-$(mktemp -d)}
mkdir -p "$WORK"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time is missing: apt-get install time" >&2; exit 1; }

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

one_run() { # variant -> prints "wall cpu"
  local dir=$WORK/$1
  rm -rf "$dir"; mkdir -p "$dir/dbx"
  printf '[import]\nsynced_folder_stable_secs = 0.2\ndownload_workers = 4\n' > "$dir/config.toml"
  "$BIN" --data-dir "$dir/data" init --operator op@bench.test --os-user nobody >/dev/null
  "$BIN" --data-dir "$dir/data" --config "$dir/config.toml" --as op@bench.test account add Bench --plan multi-brand >/dev/null
  "$BIN" --data-dir "$dir/data" --config "$dir/config.toml" --as op@bench.test admin add owner@bench.test --owner Bench >/dev/null
  "$BIN" --data-dir "$dir/data" --config "$dir/config.toml" --as owner@bench.test link --account Bench --local-folder "$dir/dbx" >/dev/null
  if [ "$1" = without ]; then
    sqlite3 "$dir/data/library.sqlite3" "DROP TRIGGER import_items_found; DROP TRIGGER import_items_moved; DROP TRIGGER links_moved; DROP TRIGGER reports_written; DROP TRIGGER reports_removed;"
  fi
  gen_tree "$dir/dbx/Bench" 10000
  sync; sleep 1
  "$TIME" -f "%e %U %S" -o "$dir/time.txt" "$BIN" --data-dir "$dir/data" --config "$dir/config.toml" --as owner@bench.test import --once >/dev/null
  read -r wall user sys < "$dir/time.txt"
  python3 -c "print($wall, $user + $sys)"
}

: > "$WORK/results.txt"
for i in $(seq "$RUNS"); do
  for variant in with without; do
    echo "$variant $(one_run $variant)" | tee -a "$WORK/results.txt"
  done
done

B=$WORK/base; rm -rf "$B"; mkdir -p "$B"; gen_tree "$B/src" 10000; sync; sleep 1
t0=$(date +%s.%N)
( cd "$B" && find src -type f -print0 | xargs -0 sha256sum >/dev/null && cp -r src dst && sync && rm -rf src )
t1=$(date +%s.%N)
python3 - "$WORK/results.txt" "$t0" "$t1" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
base = float(sys.argv[3]) - float(sys.argv[2])
med = {}
for v in ("with", "without"):
    wall = [float(r[1]) for r in rows if r[0] == v]
    cpu = [float(r[2]) for r in rows if r[0] == v]
    med[v] = (statistics.median(wall), statistics.median(cpu))
    print(f"{v:8} triggers: wall median {med[v][0]:.2f} s ({10000/med[v][0]:.0f} files/s), CPU median {med[v][1]:.2f} s, runs {len(wall)}")
w, wo = med["with"], med["without"]
print(f"publishing costs {100*(w[1]/wo[1]-1):+.1f} % CPU time, {100*(w[0]/wo[0]-1):+.1f} % wall (target <= 5 % CPU)")
print(f"shell baseline {base:.2f} s; ratio with publishing {base/w[0]:.2f}x (target >= 1.0x)")
PY
