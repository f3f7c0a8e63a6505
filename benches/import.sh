#!/usr/bin/env bash
# Import benchmarks (issue #4), each against its baseline, measured in the same run:
#   1. synced folder, 10,000 files of 4-64 KiB: files/s vs a shell doing the bare work on the
#      same tree (sha256sum, cp, sync, rm); target >= 1.0x
#   2. one 1 GiB file through the synced folder vs cp + sync; target within 1.3x; peak RSS <= 64 MiB
#   3. the Dropbox API emulator with 50 ms latency per request, 1,000 files of 100 KiB: wall time
#      vs the bound set by the worker count (1,000 x 50 ms / workers); target <= 1.25x, and
#      <= 2 delete calls per 1,000 files
# Usage: benches/import.sh [WORKDIR]   (needs python3, GNU time for RSS: apt-get install time)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins >/dev/null
BIN=$PWD/target/release/smartimage
EMU=$PWD/target/release/dropbox-emulator
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time is missing: apt-get install time" >&2; exit 1; }
WORKERS=4
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

setup_library() { # data-dir config
  "$BIN" --data-dir "$1" init --operator op@bench.test --os-user nobody >/dev/null
  "$BIN" --data-dir "$1" --config "$2" --as op@bench.test account add Bench --plan multi-brand >/dev/null
  "$BIN" --data-dir "$1" --config "$2" --as op@bench.test admin add owner@bench.test --owner Bench >/dev/null
}

gen_tree() { # dir count min max
  python3 - "$@" <<'PY'
import os, random, sys
root, n, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(42)
head = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
for i in range(n):
    d = os.path.join(root, f"d{i % 20}", f"e{i % 7}")
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(lo, hi)
    with open(os.path.join(d, f"img{i:05}.png"), "wb") as f:
        f.write(head + os.urandom(size - len(head)))
PY
}

echo "== 1. synced folder: 10,000 files of 4-64 KiB"
B1=$WORK/b1; rm -rf "$B1"; mkdir -p "$B1/dbx" "$B1/base"
printf '[import]\nsynced_folder_stable_secs = 0.2\ndownload_workers = %s\n' $WORKERS > "$B1/config.toml"
setup_library "$B1/data" "$B1/config.toml"
"$BIN" --data-dir "$B1/data" --config "$B1/config.toml" --as owner@bench.test link --account Bench --local-folder "$B1/dbx" >/dev/null
gen_tree "$B1/dbx/Bench" 10000 4096 65536
gen_tree "$B1/base/src" 10000 4096 65536
sync; sleep 1
t0=$(now); "$BIN" --data-dir "$B1/data" --config "$B1/config.toml" --as owner@bench.test import --once | tail -1; t1=$(now)
ours=$(elapsed "$t0" "$t1")
t0=$(now)
( cd "$B1/base" && find src -type f -print0 | xargs -0 sha256sum >/dev/null && cp -r src dst && sync && rm -rf src )
t1=$(now)
base=$(elapsed "$t0" "$t1")
python3 -c "o=$ours; b=$base; print(f'ours {o:.2f} s = {10000/o:.0f} files/s; baseline {b:.2f} s = {10000/b:.0f} files/s; ratio {b/o:.2f}x (target >= 1.0x)')"

echo "== 2. one 1 GiB file"
B2=$WORK/b2; rm -rf "$B2"; mkdir -p "$B2/dbx" "$B2/base"
printf '[import]\nsynced_folder_stable_secs = 0.2\n' > "$B2/config.toml"
setup_library "$B2/data" "$B2/config.toml"
"$BIN" --data-dir "$B2/data" --config "$B2/config.toml" --as owner@bench.test link --account Bench --local-folder "$B2/dbx" >/dev/null
python3 -c "
import os
head = b'\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89'
block = os.urandom(1 << 20)
for path in ['$B2/dbx/Bench/big.png', '$B2/base/big.png']:
    with open(path, 'wb') as f:
        f.write(head); f.write(block[len(head):])
        for _ in range(1023): f.write(block)
"
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; sleep 1
t0=$(now)
"$TIME" -f "peak RSS %M KiB" "$BIN" --data-dir "$B2/data" --config "$B2/config.toml" --as owner@bench.test import --once 2>"$B2/time.txt" | tail -1
t1=$(now); ours=$(elapsed "$t0" "$t1"); cat "$B2/time.txt"
echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
t0=$(now); cp "$B2/base/big.png" "$B2/base/copy.png" && sync; t1=$(now); base=$(elapsed "$t0" "$t1")
python3 -c "o=$ours; b=$base; print(f'ours {o:.2f} s = {1024/o:.0f} MiB/s; cp + sync {b:.2f} s = {1024/b:.0f} MiB/s; ours/baseline time {o/b:.2f}x (target <= 1.3x)')"

echo "== 3. emulator, 50 ms per request, 1,000 files of 100 KiB"
B3=$WORK/b3; rm -rf "$B3"; mkdir -p "$B3/emu"
"$EMU" --root "$B3/emu" --account "dbid:bench:owner@bench.test:Bench Owner" --code "dbid:bench=benchcode" \
  --latency-ms 50 --rescan-on-list-only > "$B3/emu.log" 2>&1 &
EMU_PID=$!
trap 'kill $EMU_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening "$B3/emu.log" && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$B3/emu.log" | head -1)
printf '[import]\ndownload_workers = %s\n[dropbox]\napp_key = "bench"\nendpoint = "%s"\n' $WORKERS "$URL" > "$B3/config.toml"
setup_library "$B3/data" "$B3/config.toml"
echo benchcode | "$BIN" --data-dir "$B3/data" --config "$B3/config.toml" --as owner@bench.test link --account Bench --api >/dev/null
gen_tree "$B3/emu/dbid:bench/Bench" 1000 102400 102400
curl -s -X POST "$URL/__emulator/rescan" >/dev/null || true
t0=$(now); "$BIN" --data-dir "$B3/data" --config "$B3/config.toml" --as owner@bench.test import --once | tail -1; t1=$(now)
ours=$(elapsed "$t0" "$t1")
python3 -c "o=$ours; bound=1000*0.050/$WORKERS; print(f'ours {o:.2f} s; bound {bound:.2f} s (1,000 x 50 ms / {$WORKERS} workers); ratio {o/bound:.2f}x (target <= 1.25x)')"
