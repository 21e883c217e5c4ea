#!/usr/bin/env python3
"""Deleting old logs: `find -delete` against the logrotate_schedule prune job.

Creates N old rotated log files (default 20,000) in a directory on the
filesystem under test, then deletes them twice over (recreated in between):
once with `find DIR -name PATTERN -delete`, once with the role's
acceptq-prune (batches with pauses). During each deletion a separate process
does what a logging PHP page does, every 10 ms: append one line to a log on
the same filesystem and fsync it. Printed: the wall time of the deletion and
the p50/p99/max latency of that append+fsync, with the same probe on an idle
disk as the baseline. Figures, not asserts: they depend on the disk.

    tools/bench-prune.py [--files 20000] [--dir /var/tmp] [--batch 200] [--pause-ms 200]
"""

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRUNE = os.path.join(ROOT, "roles", "logrotate_schedule", "files", "acceptq_prune.py")


def probe(path, stop, results, interval=0.01):
    """Append a line and fsync, every interval, until stop is set; latencies in ms."""
    latencies = []
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        while not stop.is_set():
            started = time.perf_counter()
            os.write(fd, b"GET /page.php 200 request logged by the page\n")
            os.fsync(fd)
            latencies.append((time.perf_counter() - started) * 1000.0)
            time.sleep(interval)
    finally:
        os.close(fd)
    results.put(latencies)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def make_files(directory, count, size):
    os.makedirs(directory, exist_ok=True)
    old = time.time() - 30 * 86400
    payload = b"x" * size
    for number in range(1, count + 1):
        path = os.path.join(directory, "app.log.%d" % number)
        with open(path, "wb") as handle:
            handle.write(payload)
        os.utime(path, (old, old))
    os.sync()


def measured(run, log):
    """(wall seconds of run(), probe latencies during it)."""
    stop, results = multiprocessing.Event(), multiprocessing.Queue()
    worker = multiprocessing.Process(target=probe, args=(log, stop, results))
    worker.start()
    time.sleep(0.3)  # the probe is writing before the deletion starts
    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    stop.set()
    latencies = results.get()
    worker.join()
    return wall, latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--size", type=int, default=4096, help="bytes per file")
    parser.add_argument("--dir", default="/var/tmp", help="a directory on the filesystem under test")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--pause-ms", type=int, default=200)
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="acceptq-bench-prune.", dir=args.dir)
    logs = os.path.join(base, "logs")
    page_log = os.path.join(base, "page.log")
    config = os.path.join(base, "prune.json")
    with open(config, "w") as handle:
        json.dump(
            {
                "targets": [{"path": logs, "pattern": "app.log.*", "age_days": 7}],
                "batch": args.batch,
                "pause_ms": args.pause_ms,
            },
            handle,
        )
    rows = []
    try:
        wall, latencies = measured(lambda: time.sleep(2.0), page_log)
        rows.append(("idle disk (baseline, 2 s)", None, latencies))
        make_files(logs, args.files, args.size)
        wall, latencies = measured(
            lambda: subprocess.run(["find", logs, "-name", "app.log.*", "-delete"], check=True), page_log
        )
        rows.append(("find -delete", wall, latencies))
        make_files(logs, args.files, args.size)
        wall, latencies = measured(
            lambda: subprocess.run([sys.executable, PRUNE, config], check=True, stdout=subprocess.DEVNULL), page_log
        )
        rows.append(("acceptq-prune (batch %d, pause %d ms)" % (args.batch, args.pause_ms), wall, latencies))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(
        "Deleting %d files of %d bytes in %s; probe: append a line + fsync every 10 ms on the same filesystem"
        % (args.files, args.size, args.dir)
    )
    print("%-40s %10s %8s %10s %10s %10s" % ("deletion", "wall s", "probes", "p50 ms", "p99 ms", "max ms"))
    for name, wall, latencies in rows:
        print(
            "%-40s %10s %8d %10.2f %10.2f %10.2f"
            % (
                name,
                "-" if wall is None else "%.2f" % wall,
                len(latencies),
                percentile(latencies, 0.5),
                percentile(latencies, 0.99),
                max(latencies) if latencies else float("nan"),
            )
        )


if __name__ == "__main__":
    main()
