#!/usr/bin/env bash
# Dropbox download benchmark: OUR client (ApiClient::download with its verified body: byte count
# + Dropbox content hash) against curl, both fetching the SAME emulator URL.
#
#   benches/download.sh            # 1 GiB, 3 runs of each
#   SIZE_MIB=256 RUNS=5 benches/download.sh
#
# Needs curl and GNU time at /usr/bin/time (for peak RSS; on Debian/Ubuntu:
# `apt-get install time` if it is missing). Builds the example in release (a few minutes on
# 2 cores the first time). The served file is pseudo-random bytes in a temp dir under
# ${BENCH_DIR:-$TMPDIR or /tmp}, removed at the end.
#
# One emulator process serves; each client run is a separate process, so the RSS is the
# client's alone. Throughputs are medians of RUNS; the ratio is ours (sink) / curl (/dev/null),
# target >= 0.9; our peak RSS target is <= 64 MiB.
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-3}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}
# `PROFILE=dev` only to check the script itself quickly; numbers come from release.
PROFILE=${PROFILE:-release}

cd "$(dirname "$0")/.."
for tool in curl /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install curl time)" >&2; exit 1; }
done

cargo build --profile "$PROFILE" --example download_bench
if [[ "$PROFILE" == dev ]]; then BIN=target/debug/examples/download_bench; else BIN=target/$PROFILE/examples/download_bench; fi

WORK=$(mktemp -d "$BENCH_DIR/download-bench.XXXXXX")
SERVER=""
cleanup() {
    if [[ -n "$SERVER" ]]; then
        kill "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" --serve --size-mib "$SIZE_MIB" --dir "$WORK" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER=$!
for _ in $(seq 600); do
    grep -q '^READY' "$WORK/serve.out" 2>/dev/null && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
    sleep 0.5
done
grep -q '^READY' "$WORK/serve.out" || { echo "emulator did not come up" >&2; exit 1; }
cat "$WORK/serve.err"
URL=$(sed -n 's/^URL=//p' "$WORK/serve.out")
TOKEN=$(sed -n 's/^TOKEN=//p' "$WORK/serve.out")
ARG=$(sed -n 's/^ARG=//p' "$WORK/serve.out")
SIZE=$(sed -n 's/^SIZE=//p' "$WORK/serve.out")
BASE=${URL%/2/files/download}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# One run of our client in its own process: prints "<MiB/s> <peak RSS KiB>".
ours() {
    local mode=$1
    /usr/bin/time -v "$BIN" --url "$BASE" --mode "$mode" --dir "$WORK" >"$WORK/ours.out" 2>"$WORK/time.err"
    local rate rss
    rate=$(sed -n 's/^RESULT mode=.* mib_per_s=\([0-9.]*\)$/\1/p' "$WORK/ours.out")
    rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$WORK/time.err")
    if [[ -z "$rate" || -z "$rss" ]]; then
        cat "$WORK/ours.out" "$WORK/time.err" >&2
        echo "failed"
        return 1
    fi
    echo "$rate $rss"
}

# One curl run: prints MiB/s (from curl's own byte count and total time).
theirs() {
    curl -sS -X POST "$URL" \
        -H "Authorization: Bearer $TOKEN" \
        -H "Dropbox-API-Arg: $ARG" \
        -o /dev/null -w '%{size_download} %{time_total}\n' |
        awk -v size="$SIZE" '{ if ($1 != size) { print "curl got " $1 " bytes" > "/dev/stderr"; exit 1 }
                               printf "%.1f\n", $1 / 1048576 / $2 }'
}

# Warm-up (page cache, connection setup paths), not reported.
ours sink >/dev/null
theirs >/dev/null

: >"$WORK/ours_sink"; : >"$WORK/ours_file"; : >"$WORK/curl"; : >"$WORK/rss"; : >"$WORK/raw"
for run in $(seq "$RUNS"); do
    read -r rate rss < <(ours sink)
    [[ "$rate" != failed ]] || exit 1
    echo "ours (sink) run $run: $rate MiB/s, peak RSS $((rss / 1024)) MiB"
    echo "$rate" >>"$WORK/ours_sink"; echo "$rss" >>"$WORK/rss"
    rate=$(theirs)
    echo "curl (/dev/null) run $run: $rate MiB/s"
    echo "$rate" >>"$WORK/curl"
    read -r rate rss < <(ours file)
    [[ "$rate" != failed ]] || exit 1
    echo "ours (file) run $run: $rate MiB/s, peak RSS $((rss / 1024)) MiB"
    echo "$rate" >>"$WORK/ours_file"; echo "$rss" >>"$WORK/rss"
    # Diagnostic: the same transport (reqwest) without our client's verification.
    read -r rate rss < <(ours raw-reqwest)
    [[ "$rate" != failed ]] || exit 1
    echo "diagnostic, plain reqwest without verification, run $run: $rate MiB/s"
    echo "$rate" >>"$WORK/raw"
done
# Diagnostic: what computing the Dropbox content hash alone costs on this machine.
HASH=$("$BIN" --mode hash-only --size-mib "$SIZE_MIB" --runs 3 --dir "$WORK" |
    sed -n 's/^RESULT mode=.* mib_per_s=\([0-9.]*\)$/\1/p' | median)

OURS=$(median <"$WORK/ours_sink")
OURS_FILE=$(median <"$WORK/ours_file")
CURL=$(median <"$WORK/curl")
RAW=$(median <"$WORK/raw")
PEAK_KIB=$(sort -g "$WORK/rss" | tail -1)
echo
echo "file: $SIZE_MIB MiB, $RUNS runs each, medians; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ours, into tokio::io::sink(): $OURS MiB/s"
echo "ours, into a file:            $OURS_FILE MiB/s"
echo "curl, into /dev/null:         $CURL MiB/s"
awk -v a="$OURS" -v b="$CURL" 'BEGIN { r = a / b; printf "ratio ours/curl:              %.2fx (target >= 0.9x) %s\n", r, (r >= 0.9 ? "OK" : "BELOW TARGET") }'
echo "diagnostic: plain reqwest, no verification: $RAW MiB/s ($(awk -v a="$RAW" -v b="$CURL" 'BEGIN { printf "%.2f", a / b }')x curl)"
echo "diagnostic: content hash alone, in memory:  $HASH MiB/s"
awk -v k="$PEAK_KIB" 'BEGIN { m = k / 1024; printf "our peak RSS (max of runs):   %.1f MiB (target <= 64 MiB) %s\n", m, (m <= 64 ? "OK" : "ABOVE TARGET") }'
