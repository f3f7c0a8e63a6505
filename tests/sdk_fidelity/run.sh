#!/usr/bin/env bash
# Runs the official Dropbox Python SDK (dropbox==12.2.4) against our emulator over HTTPS.
#
#   tests/sdk_fidelity/run.sh
#
# (a) makes a venv in target/sdk-venv (or $CARGO_TARGET_DIR/sdk-venv) from requirements.txt,
#     once per change of that file, with pip's default index (PyPI);
# (b) builds target/debug/dropbox-emulator unless DROPBOX_EMULATOR_BIN names one;
# (c) runs test_sdk.py.
# Exit status: 0 passed, 77 a prerequisite is missing (no python3, no venv module, pip could not
# install: offline?), anything else: the test failed. `cargo test` runs this through
# tests/sdk_fidelity.rs, which turns 77 into a failure when CI=true.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
case $target in /*) ;; *) target=$repo/$target ;; esac
venv=$target/sdk-venv
requirements=tests/sdk_fidelity/requirements.txt
python=${PYTHON:-python3}
SKIP=77

missing() {
    echo "sdk_fidelity: prerequisite missing: $*" >&2
    exit "$SKIP"
}

mkdir -p "$target"
# One venv builder at a time (cargo test and a developer's run may overlap).
exec 9>"$target/sdk-venv.lock"
flock 9

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
    command -v "$python" >/dev/null || missing "$python not found"
    rm -rf "$venv"
    "$python" -m venv "$venv" || { rm -rf "$venv"; missing "$python -m venv failed (python3-venv?)"; }
    started=$SECONDS
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-input -r "$requirements"; then
        rm -rf "$venv"
        missing "pip could not install $requirements (no network to the package index?)"
    fi
    cp "$requirements" "$venv/requirements.txt"
    echo "sdk_fidelity: venv ready in $((SECONDS - started)) s: $venv" >&2
fi
exec 9>&-

if [ -z "${DROPBOX_EMULATOR_BIN:-}" ]; then
    cargo build --quiet --bin dropbox-emulator
    export DROPBOX_EMULATOR_BIN=$target/debug/dropbox-emulator
fi

exec "$venv/bin/python" tests/sdk_fidelity/test_sdk.py
