#!/usr/bin/env bash
# What reading file metadata costs the import (issue #22 point 3): the synced-folder case of
# benches/import.sh (10,000 files of 4-64 KiB; half PNG, half JPEG carrying EXIF — camera,
# capture time, GPS — and a frame header), run alternately with extraction on (as shipped) and
# off (SMARTIMAGE_METADATA=off, a switch for this bench only), RUNS times each; CPU time
# (user + sys) and wall time of `import --once`, medians, and the bare shell baseline of the same
# tree for the ratio. Target: <= 10 % more CPU time; the ratio to the baseline >= 1.0x.
# Usage: benches/metadata_cost.sh [RUNS] [WORKDIR]   (needs python3, GNU time; a quiet machine)
RUNS=${1:-5}
WORK=$(realpath -m "${2:-$(mktemp -d)}")
mkdir -p "$WORK"
source "$(dirname "$0")/support/ab_import.sh"

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

run_env() { # variant
  if [ "$1" = off ]; then echo SMARTIMAGE_METADATA=off; else echo SMARTIMAGE_METADATA=on; fi
}

ab_compare "$RUNS" on off metadata 10
