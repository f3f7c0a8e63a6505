#!/usr/bin/env bash
# What reading file metadata costs the import (issue #22 point 3): the synced-folder case of
# benches/import.sh (10,000 files of 4-64 KiB; half PNG, half JPEG carrying EXIF — camera,
# capture time, GPS — and a frame header), run alternately with extraction on (as shipped) and
# off (SMARTIMAGE_METADATA=off, a switch for this bench only), RUNS times each; CPU time
# (user + sys) and wall time of `import --once`, medians, and the bare shell baseline of the same
# tree for the ratio. Target: <= 10 % more CPU time; the ratio to the baseline >= 1.0x.
# Usage: benches/metadata_cost.sh [RUNS] [WORKDIR]   (needs python3, GNU time; a quiet machine)
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
import os, random, struct, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
png_head = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"

def tiff(i):
    # IFD0: Make, Model, Orientation, ExifIFD, GPS IFD; EXIF: DateTimeOriginal; GPS: N/E refs.
    make, model = b"Canon\0", b"Canon EOS R5\0"
    date = b"2024:05:%02d 14:03:22\0" % (1 + i % 28)
    entries0, data = [], b""
    n0, ne, ng = 5, 1, 2
    base = 8 + (2 + 12 * n0 + 4) + (2 + 12 * ne + 4) + (2 + 12 * ng + 4)
    def put(b):
        nonlocal data
        off = base + len(data); data += b; return off
    entries0 = [(0x010F, 2, len(make), put(make)), (0x0110, 2, len(model), put(model)),
                (0x0112, 3, 1, 1),
                (0x8769, 4, 1, 8 + 2 + 12 * n0 + 4),
                (0x8825, 4, 1, 8 + 2 + 12 * n0 + 4 + 2 + 12 * ne + 4)]
    exif = [(0x9003, 2, len(date), put(date))]
    gps = [(0x0001, 2, 2, int.from_bytes(b"N\0\0\0", "little")), (0x0003, 2, 2, int.from_bytes(b"E\0\0\0", "little"))]
    out = b"II*\0" + struct.pack("<I", 8)
    for ifd in (entries0, exif, gps):
        out += struct.pack("<H", len(ifd))
        for tag, typ, count, val in ifd:
            out += struct.pack("<HHII", tag, typ, count, val)
        out += struct.pack("<I", 0)
    return out + data

for i in range(n):
    d = os.path.join(root, f"d{i % 20}", f"e{i % 7}")
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(4096, 65536)
    if i % 2:
        app1 = b"Exif\0\0" + tiff(i)
        sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 3000, 4000, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
        head = b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + sof
        name, tail = f"img{i:05}.jpg", b"\xff\xd9"
    else:
        head, name, tail = png_head, f"img{i:05}.png", b""
    with open(os.path.join(d, name), "wb") as f:
        f.write(head + os.urandom(max(0, size - len(head) - len(tail))) + tail)
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
  local switch=on
  [ "$1" = off ] && switch=off
  gen_tree "$dir/dbx/Bench" 10000
  sync; sleep 1
  SMARTIMAGE_METADATA=$switch "$TIME" -f "%e %U %S" -o "$dir/time.txt" "$BIN" --data-dir "$dir/data" --config "$dir/config.toml" --as owner@bench.test import --once >/dev/null
  read -r wall user sys < "$dir/time.txt"
  python3 -c "print($wall, $user + $sys)"
}

: > "$WORK/results.txt"
for i in $(seq "$RUNS"); do
  for variant in on off; do
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
for v in ("on", "off"):
    wall = [float(r[1]) for r in rows if r[0] == v]
    cpu = [float(r[2]) for r in rows if r[0] == v]
    med[v] = (statistics.median(wall), statistics.median(cpu))
    print(f"metadata {v:3}: wall median {med[v][0]:.2f} s ({10000/med[v][0]:.0f} files/s), CPU median {med[v][1]:.2f} s, runs {len(wall)}")
on, off = med["on"], med["off"]
print(f"metadata costs {100*(on[1]/off[1]-1):+.1f} % CPU time, {100*(on[0]/off[0]-1):+.1f} % wall (target <= 10 % CPU)")
print(f"shell baseline {base:.2f} s; ratio with metadata {base/on[0]:.2f}x (target >= 1.0x)")
PY
