#!/usr/bin/env python3
"""One incident run: steady open-loop load, a 10 s stall of every php-fpm
worker, recovery; then the figures as JSON.

    run.py --label seed [--rate a.incident.test=17 --rate b.incident.test=95]
           [--warmup 6 --stall 10 --after 20] [--runs-dir /var/lib/acceptq-incident]

Timeline: WARMUP s of load, then the stall (the load goes on), then AFTER s
of load; then up to DRAIN s for php-fpm to empty its queue, so that every
stale execution is counted. The whole run is bounded (about 40 s by default,
at most 75 s: the seed recovers about 15 s after its stall).
Everything stays on 127.0.0.1 inside this machine.
"""

import argparse
import json
import os
import pwd
import signal
import subprocess
import sys
import time
from pathlib import Path

import analyze

HERE = Path(__file__).resolve().parent
ACCESS_LOG = Path("/var/log/nginx/incident-access.log")
APP_LOG = Path("/var/log/incident/app.log")
STALE_LOG = Path("/var/log/incident/stale.log")
LISTENER = "127.0.0.1:9000"
# The load generator and the sampler keep their pace ahead of php-fpm and
# nginx on a busy 2-core machine: late arrivals come in bursts, late samples
# miss the queue.
AHEAD = ["nice", "-n", "-10"]
WWW_DATA = pwd.getpwnam("www-data")


def effective_backlog():
    """Send-Q of the php-fpm listener: the backlog the kernel applies."""
    fields = subprocess.run(
        ["ss", "-Hltn", "sport = :%s" % LISTENER.rpartition(":")[2]],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(fields[2]) if len(fields) >= 3 else None


def size(path):
    return path.stat().st_size if path.exists() else 0


def copy_tail(source, offset, target):
    with open(source, "rb") if source.exists() else open(os.devnull, "rb") as handle:
        handle.seek(offset)
        target.write_bytes(handle.read())


def drain(samples_path, deadline):
    """Wait until the accept queue is empty and no page ran for a second."""
    quiet_since, last_size = time.monotonic(), size(APP_LOG)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        lines = samples_path.read_text().splitlines()
        depth = json.loads(lines[-1])["queue"] if lines else None
        if size(APP_LOG) != last_size:
            quiet_since, last_size = time.monotonic(), size(APP_LOG)
        if depth == 0 and time.monotonic() - quiet_since >= 1.0:
            return


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True)
    parser.add_argument("--rate", action="append", default=None)
    parser.add_argument("--warmup", type=float, default=6.0)
    parser.add_argument("--stall", type=float, default=10.0)
    parser.add_argument("--after", type=float, default=20.0)
    parser.add_argument("--drain", type=float, default=15.0)
    parser.add_argument("--client-timeout", type=float, default=2.0)
    parser.add_argument("--runs-dir", default="/var/lib/acceptq-incident")
    args = parser.parse_args()
    rates = args.rate or ["a.incident.test=17", "b.incident.test=95"]
    run_dir = Path(args.runs_dir) / args.label
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.iterdir():
        stale.unlink()
    APP_LOG.parent.mkdir(parents=True, exist_ok=True)
    for log in (APP_LOG, STALE_LOG):
        log.touch()
        os.chown(log, WWW_DATA.pw_uid, WWW_DATA.pw_gid)
    offsets = {log: size(log) for log in (ACCESS_LOG, APP_LOG, STALE_LOG)}
    duration = args.warmup + args.stall + args.after
    run = {
        "label": args.label,
        "backlog": effective_backlog(),
        "somaxconn": int(Path("/proc/sys/net/core/somaxconn").read_text()),
        "rate_rps": {rate.partition("=")[0]: float(rate.partition("=")[2]) for rate in rates},
        "started": time.time(),
    }
    python = sys.executable
    sampler = subprocess.Popen(
        [*AHEAD, python, str(HERE / "sample.py"), LISTENER, "--out", str(run_dir / "samples.jsonl")]
    )
    try:
        load_command = [
            *AHEAD,
            python,
            str(HERE / "load.py"),
            "--duration",
            str(duration),
            "--out",
            str(run_dir / "load.json"),
        ]
        load_command += ["--timeout", str(args.client_timeout)]
        for rate in rates:
            load_command += ["--rate", rate]
        load = subprocess.Popen(load_command)
        time.sleep(args.warmup)
        subprocess.run(
            [python, str(HERE / "stall.py"), str(APP_LOG), str(args.stall), "--out", str(run_dir / "stall.json")],
            check=True,
        )
        if load.wait(timeout=args.after + args.client_timeout + 30) != 0:
            raise SystemExit("load generator failed")
        drain(run_dir / "samples.jsonl", time.monotonic() + args.drain)
    finally:
        sampler.send_signal(signal.SIGTERM)
        sampler.wait(timeout=10)
    run["ended"] = time.time()
    run["load_duration_s"] = duration
    (run_dir / "run.json").write_text(json.dumps(run, indent=1, sort_keys=True))
    copy_tail(ACCESS_LOG, offsets[ACCESS_LOG], run_dir / "access.log")
    copy_tail(APP_LOG, offsets[APP_LOG], run_dir / "app.log")
    copy_tail(STALE_LOG, offsets[STALE_LOG], run_dir / "stale.log")
    figures = analyze.analyze(run_dir)
    (run_dir / "figures.json").write_text(json.dumps(figures, indent=1, sort_keys=True))
    print(json.dumps(figures, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
