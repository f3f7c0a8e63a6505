#!/usr/bin/env bash
# Direct-upload benchmark (issue #9): `smartimage upload` of 10,000 files of 4-64 KiB from the
# server's disk, against the same shell baseline as the synced-folder import (sha256sum, cp,
# one sync) on an identical tree, measured in the same run. The upload leaves its sources in
# place, so the baseline here does not `rm` them either.
# Usage: benches/upload.sh [WORKDIR]   (needs python3)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin smartimage >/dev/null
BIN=$PWD/target/release/smartimage
WORK=${1:-$(mktemp -d)}
B=$WORK/upload; rm -rf "$B"; mkdir -p "$B"
now() { date +%s.%N; }

"$BIN" --data-dir "$B/data" init --operator op@bench.test --os-user nobody >/dev/null
"$BIN" --data-dir "$B/data" --as op@bench.test account add Bench --plan multi-brand >/dev/null
"$BIN" --data-dir "$B/data" --as op@bench.test admin add owner@bench.test --owner Bench >/dev/null
python3 - "$B/src" "$B/base" <<'PY'
import os, random, sys
head = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
for root in sys.argv[1:]:
    rnd = random.Random(42)
    for i in range(10000):
        d = os.path.join(root, f"d{i % 20}", f"e{i % 7}")
        os.makedirs(d, exist_ok=True)
        size = rnd.randint(4096, 65536)
        with open(os.path.join(d, f"img{i:05}.png"), "wb") as f:
            f.write(head + os.urandom(size - len(head)))
PY
sync; sleep 1
t0=$(now)
"$BIN" --data-dir "$B/data" --as owner@bench.test upload --account Bench "$B/src" | tail -1
t1=$(now)
t2=$(now)
( cd "$B/base" && find . -type f -print0 | xargs -0 sha256sum >/dev/null && cp -r . "$B/dst" && sync )
t3=$(now)
python3 -c "o=$t1-$t0; b=$t3-$t2; print(f'upload {o:.2f} s = {10000/o:.0f} files/s; baseline (sha256sum + cp -r + sync) {b:.2f} s = {10000/b:.0f} files/s; ratio {b/o:.2f}x')"
