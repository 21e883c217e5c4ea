#!/usr/bin/env python3
"""Figures of one incident run, from what the run left behind.

    analyze.py RUN_DIR   (prints the figures as JSON)

RUN_DIR holds: access.log (nginx: $msec $host $status $request_time
$upstream_status), samples.jsonl (sample.py), stall.json (stall.py),
load.json (load.py), app.log and stale.log (the page's lines during the run),
and run.json (what run.py knew before the load: backlog, somaxconn, rates).
"""

import json
import sys
from pathlib import Path

STATUSES = ("200", "499", "502", "504")
# Recovery: a one-second window of arrivals after the stall whose share of
# 200s is back within this much of the pre-stall share, and whose accept
# queue stayed under QUEUE_CALM.
SHARE_TOLERANCE = 0.05
QUEUE_CALM = 10
WINDOW_S, STEP_S = 1.0, 0.1
# The pre-stall reference: arrivals after the first seconds and before the
# last second ahead of the stall (those may still be queued when it starts).
SKIP_WARMUP_S = 2.0
PRE_STALL_MARGIN_S = 1.0


def read_access_log(path):
    """Requests as (arrival time, vhost, status, request time, upstream status)."""
    requests = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split(" ", 4)
        try:
            logged, request_time = float(fields[0]), float(fields[3])
        except (IndexError, ValueError):
            raise ValueError("%s:%d: not an incident access-log line: %r" % (path, number, line)) from None
        upstream = fields[4] if len(fields) == 5 else "-"
        requests.append((logged - request_time, fields[1], fields[2], request_time, upstream))
    return requests


def status_counts(requests):
    counts = {status: 0 for status in STATUSES}
    counts["other"] = 0
    for request in requests:
        counts[request[2] if request[2] in counts else "other"] += 1
    return counts


def share_ok(requests):
    return sum(1 for request in requests if request[2] == "200") / len(requests) if requests else None


def recovery_seconds(requests, samples, stall_end, load_end, pre_share):
    """Seconds from the stall's end to the first calm window, None if none came."""
    offset = 0.0
    while stall_end + offset + WINDOW_S <= load_end:
        start, end = stall_end + offset, stall_end + offset + WINDOW_S
        window = [request for request in requests if start <= request[0] < end]
        depths = [sample["queue"] for sample in samples if start <= sample["t"] < end and sample["queue"] is not None]
        share = share_ok(window)
        if share is not None and share >= pre_share - SHARE_TOLERANCE and depths and max(depths) < QUEUE_CALM:
            return round(offset, 1)
        offset += STEP_S
    return None


def analyze(run_dir):
    run_dir = Path(run_dir)
    run = json.loads((run_dir / "run.json").read_text())
    stall = json.loads((run_dir / "stall.json").read_text())
    load = json.loads((run_dir / "load.json").read_text())
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines() if line]
    requests = read_access_log(run_dir / "access.log")

    by_vhost = {}
    for vhost in sorted({request[1] for request in requests}):
        by_vhost[vhost] = status_counts([request for request in requests if request[1] == vhost])
    total = status_counts(requests)
    pre_start, pre_end = load["started"] + SKIP_WARMUP_S, stall["started"] - PRE_STALL_MARGIN_S
    pre_stall = [request for request in requests if pre_start <= request[0] < pre_end]
    pre_share = share_ok(pre_stall)
    depths = [sample["queue"] for sample in samples if sample["queue"] is not None]
    arrivals_end = load["started"] + run["load_duration_s"]
    figures = {
        "label": run["label"],
        "backlog": run["backlog"],
        "somaxconn": run["somaxconn"],
        "rate_rps": run["rate_rps"],
        "stall_s": round(stall["ended"] - stall["started"], 2),
        "requests": len(requests),
        "status": total,
        "status_by_vhost": by_vhost,
        "ok_200": total["200"],
        "client_timeouts": sum(v["outcomes"].get("timeout", 0) for v in load["vhosts"].values()),
        "pre_stall_share_200": round(pre_share, 4) if pre_share is not None else None,
        "peak_accept_queue": max(depths) if depths else None,
        "peak_close_wait": max((sample["close_wait"] for sample in samples), default=None),
        "listen_overflows": samples[-1]["overflows"] - samples[0]["overflows"] if samples else None,
        "listen_drops": samples[-1]["drops"] - samples[0]["drops"] if samples else None,
        "executions": len((run_dir / "app.log").read_text().splitlines()),
        "stale_executions": len((run_dir / "stale.log").read_text().splitlines()),
        "recovery_s": None
        if pre_share is None
        else recovery_seconds(requests, samples, stall["ended"], arrivals_end, pre_share),
        # recovery_s is None when no calm window came within this many seconds.
        "recovery_searched_s": round(arrivals_end - WINDOW_S - stall["ended"], 1),
        "run_s": round(run["ended"] - run["started"], 1),
    }
    return figures


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: analyze.py RUN_DIR")
    print(json.dumps(analyze(sys.argv[1]), indent=1, sort_keys=True))
