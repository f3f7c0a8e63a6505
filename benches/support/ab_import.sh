# Shared by the import A/B benches (publish_cost.sh, metadata_cost.sh); source it after
# defining `gen_tree DIR COUNT` and, optionally, `prepare VARIANT DATA_DIR` (run after the
# library is made) and `run_env VARIANT` (prints NAME=VALUE words for the import's environment).
# Each run: a fresh library linked to a synced folder, FILES files generated into it, then
# `import --once` under GNU time. Prints "wall cpu".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins >/dev/null
BIN=$PWD/target/release/smartimage
FILES=${FILES:-10000}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time is missing: apt-get install time" >&2; exit 1; }

ab_one_run() { # variant
  local dir=$WORK/$1
  rm -rf "$dir"; mkdir -p "$dir/dbx"
  printf '[import]\nsynced_folder_stable_secs = 0.2\ndownload_workers = 4\n' > "$dir/config.toml"
  "$BIN" --data-dir "$dir/data" init --operator op@bench.test --os-user nobody >/dev/null
  "$BIN" --data-dir "$dir/data" --config "$dir/config.toml" --as op@bench.test account add Bench --plan multi-brand >/dev/null
  "$BIN" --data-dir "$dir/data" --config "$dir/config.toml" --as op@bench.test admin add owner@bench.test --owner Bench >/dev/null
  "$BIN" --data-dir "$dir/data" --config "$dir/config.toml" --as owner@bench.test link --account Bench --local-folder "$dir/dbx" >/dev/null
  if declare -F prepare >/dev/null; then prepare "$1" "$dir/data"; fi
  gen_tree "$dir/dbx/Bench" "$FILES"
  sync; sleep 1
  local env_words=()
  if declare -F run_env >/dev/null; then read -r -a env_words <<< "$(run_env "$1")"; fi
  env "${env_words[@]}" "$TIME" -f "%e %U %S" -o "$dir/time.txt" "$BIN" --data-dir "$dir/data" --config "$dir/config.toml" --as owner@bench.test import --once >/dev/null
  read -r wall user sys < "$dir/time.txt"
  python3 -c "print($wall, $user + $sys)"
}

# ab_compare RUNS A B WHAT TARGET: A and B alternated RUNS times, then the medians, what A
# costs over B, and the shell baseline (sha256sum, cp, sync, rm of the same tree) for the ratio.
ab_compare() {
  local runs=$1 a=$2 b=$3 what=$4 target=$5
  : > "$WORK/results.txt"
  for _ in $(seq "$runs"); do
    for variant in "$a" "$b"; do
      echo "$variant $(ab_one_run "$variant")" | tee -a "$WORK/results.txt"
    done
  done
  local base=$WORK/base; rm -rf "$base"; mkdir -p "$base"; gen_tree "$base/src" "$FILES"; sync; sleep 1
  local t0 t1
  t0=$(date +%s.%N)
  ( cd "$base" && find src -type f -print0 | xargs -0 sha256sum >/dev/null && cp -r src dst && sync && rm -rf src )
  t1=$(date +%s.%N)
  python3 - "$WORK/results.txt" "$t0" "$t1" "$a" "$b" "$what" "$target" "$FILES" <<'PY'
import statistics, sys
results, t0, t1, a, b, what, target, files = sys.argv[1:9]
rows = [l.split() for l in open(results) if l.strip()]
base, files = float(t1) - float(t0), int(files)
med = {}
for v in (a, b):
    wall = [float(r[1]) for r in rows if r[0] == v]
    cpu = [float(r[2]) for r in rows if r[0] == v]
    med[v] = (statistics.median(wall), statistics.median(cpu))
    print(f"{v:8}: wall median {med[v][0]:.2f} s ({files/med[v][0]:.0f} files/s), CPU median {med[v][1]:.2f} s, runs {len(wall)}")
print(f"{what} costs {100*(med[a][1]/med[b][1]-1):+.1f} % CPU time, {100*(med[a][0]/med[b][0]-1):+.1f} % wall (target <= {target} % CPU)")
print(f"shell baseline {base:.2f} s; ratio with {what} {base/med[a][0]:.2f}x (target >= 1.0x)")
PY
}
