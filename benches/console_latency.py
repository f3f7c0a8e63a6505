#!/usr/bin/env python3
"""Engine event -> console frame latency, idle CPU of attached consoles, and what attached
consoles cost the engine (issue #17 point 7).

A demo library with a `serve` running and CONSOLES consoles attached in tmux (at 120x40). Files
are dropped one at a time into a synced folder; for each, the time the store committed it
(`item:committed` in the event log, unix ms) is compared with the first moment the console's
screen shows it imported (tmux capture-pane polled every 5 ms). Then the consoles are left
alone for IDLE seconds: their CPU (utime+stime from /proc) and the bytes they wrote to the
terminal (tmux pipe-pane). Last, the engine's CPU for importing BATCH files with 0 and with 5
consoles attached, interleaved, RUNS times.

Usage: cargo build --release --bin smartimage && python3 benches/console_latency.py
Environment: BIN, SAMPLES (default 40), IDLE (default 30), BATCH (default 2000), RUNS (3).
"""
import json, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

BIN = os.path.abspath(os.environ.get("BIN", "target/release/smartimage"))
SAMPLES = int(os.environ.get("SAMPLES", "40"))
IDLE = int(os.environ.get("IDLE", "30"))
BATCH = int(os.environ.get("BATCH", "2000"))
RUNS = int(os.environ.get("RUNS", "3"))
OPERATOR = "operator@demo.smartimage.test"
SOCK = f"smartimage-latency-{os.getpid()}"
HEAD = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
HZ = os.sysconf("SC_CLK_TCK")


def tmux(*args, check=True):
    return subprocess.run(["tmux", "-L", SOCK, "-f", "/dev/null", *args], check=check,
                          capture_output=True, text=True).stdout


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def library(work):
    data = os.path.join(work, "demo")
    subprocess.run([BIN, "demo", "--headless", "--data-dir", data], check=True,
                   capture_output=True)
    return data


def start_serve(data, log):
    return subprocess.Popen([BIN, "--data-dir", data, "serve"], stdout=subprocess.DEVNULL,
                            stderr=open(log, "w"))


def wait_until(what, probe, within=30):
    deadline = time.time() + within
    while time.time() < deadline:
        if probe():
            return
        time.sleep(0.05)
    sys.exit(f"not within {within} s: {what}")


def open_consoles(data, n, work):
    pids = []
    for i in range(n):
        tmux("new-session", "-d", "-s", f"c{i}", "-x", "120", "-y", "40",
             f"{BIN} --data-dir '{data}' --as {OPERATOR}")
        out = os.path.join(work, f"c{i}.out")
        tmux("pipe-pane", "-t", f"c{i}", f"cat >> '{out}'")
        wait_until("the console follows serve",
                   lambda: "engine: serve" in tmux("capture-pane", "-p", "-t", f"c{i}"))
        tmux("send-keys", "-t", f"c{i}", "2")  # the queue pane in front
        pids.append(int(tmux("display-message", "-p", "-t", f"c{i}", "#{pane_pid}").strip()))
    return pids


def committed_at(data, name):
    db = sqlite3.connect(os.path.join(data, "library.sqlite3"))
    row = db.execute(
        "SELECT e.at_ms FROM engine_events e JOIN import_items i ON i.id = e.item "
        "WHERE e.kind = 'item:committed' AND i.path LIKE ? ORDER BY e.seq DESC LIMIT 1",
        (f"%/{name}",)).fetchone()
    db.close()
    return row[0] if row else None


def latency(data, folder):
    seen = []
    for i in range(SAMPLES):
        name = f"lat-{i:03}.png"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(HEAD + os.urandom(2000))
        deadline = time.time() + 20
        shown = None
        while time.time() < deadline:
            screen = tmux("capture-pane", "-p", "-t", "c0")
            line = next((l for l in screen.splitlines() if name in l), "")
            if "imported" in line:
                shown = time.time() * 1000
                break
            time.sleep(0.005)
        at = committed_at(data, name)
        if shown and at:
            seen.append(shown - at)
        time.sleep(0.5)
    seen.sort()
    p = lambda q: seen[min(len(seen) - 1, int(q * len(seen)))]
    print(f"event -> frame over {len(seen)} files: p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, "
          f"max {seen[-1]:.0f} ms (targets p50 <= 250 ms, p99 <= 1000 ms)")


def idle(pids, work):
    sizes = [os.path.getsize(os.path.join(work, f"c{i}.out")) for i in range(len(pids))]
    before = [cpu_ticks(p) for p in pids]
    time.sleep(IDLE)
    for i, pid in enumerate(pids):
        ticks = cpu_ticks(pid) - before[i]
        wrote = os.path.getsize(os.path.join(work, f"c{i}.out")) - sizes[i]
        print(f"idle console {i}: {100 * ticks / (HZ * IDLE):.2f} % of a core over {IDLE} s, "
              f"{wrote} bytes written to the terminal (targets < 1 %, 0 bytes)")


def engine_cpu(data, folder, serve):
    # Written beside the synced folder and moved in at once, so the engine's whole import of
    # the batch falls inside the measurement.
    staging = os.path.join(data, f"staging-{time.time_ns()}")
    for i in range(BATCH):
        sub = os.path.join(staging, f"d{i % 10}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"f{i:05}.png"), "wb") as f:
            f.write(HEAD + os.urandom(4096))
    time.sleep(2)
    before = cpu_ticks(serve.pid)
    os.rename(staging, os.path.join(folder, os.path.basename(staging)))
    db = sqlite3.connect(os.path.join(data, "library.sqlite3"))
    start = db.execute("SELECT count(*) FROM import_items WHERE state = 'deleted'").fetchone()[0]
    wait_until("the batch imported", lambda: db.execute(
        "SELECT count(*) FROM import_items WHERE state = 'deleted'").fetchone()[0]
        >= start + BATCH, within=600)
    db.close()
    return (cpu_ticks(serve.pid) - before) / HZ


def main():
    work = tempfile.mkdtemp(prefix="smartimage-latency-")
    try:
        data = library(work)
        folder = os.path.join(data, "Dropbox", "Acme Marketing")
        serve = start_serve(data, os.path.join(work, "serve.log"))
        time.sleep(2)
        pids = open_consoles(data, 1, work)
        time.sleep(3)
        latency(data, folder)
        idle(pids, work)
        cpu = {0: [], 5: []}
        for _ in range(RUNS):
            for n in (0, 5):
                tmux("kill-server", check=False)
                if n:
                    open_consoles(data, n, work)
                time.sleep(3)
                cpu[n].append(engine_cpu(data, folder, serve))
                print(f"  {n} console(s): engine {cpu[n][-1]:.2f} s CPU", flush=True)
        tmux("kill-server", check=False)
        a, b = statistics.median(cpu[0]), statistics.median(cpu[5])
        print(f"engine CPU for {BATCH} files: {a:.2f} s alone, {b:.2f} s with 5 consoles "
              f"(median of {RUNS}): {100 * (b / a - 1):+.1f} % (target <= 5 %)")
        serve.terminate()
        serve.wait(timeout=20)
    finally:
        tmux("kill-server", check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
