#!/usr/bin/env python3
"""Benchmark the queue gathering against the raw tools, in a namespace of its own.

    sudo .venv/bin/python tools/bench-gather.py [--runs 25]

Builds, in a fresh network namespace: 100 listeners (10 of them never
accept and are flooded past their backlog), 4,000 established connections
and 1,000 connections in CLOSE_WAIT, about 10,100 sockets in all. Then times,
in the same run, alternating:
  - gather (in process): the fact's snapshot() call, with its state file;
  - fact (process): /etc/ansible/facts.d/acceptq.fact as ansible_local runs it,
    Python start-up included;
  - raw tools: `ss -ltnx` plus a read of /proc/net/netstat.
Prints the medians, the ratios and the fact process's peak RSS, then the same
as JSON. Targets (issue 3): <= 50 ms median per gathering, <= 1.5x the raw
tools. Figures only; nothing here asserts a time.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".ansible" / "collections"
NAMESPACE = "acceptq-bench-%d" % os.getpid()

LISTENERS, STALLED, ESTABLISHED, CLOSE_WAIT = 100, 10, 4000, 1000
STALLED_BACKLOG, STALLED_CLIENTS = 4, 12
FACT_SOURCE = """
import json, sys
sys.path.insert(0, %r)
from ansible_collections.acceptq.remediation.plugins.module_utils import _snapshot
print(json.dumps(_snapshot.snapshot(state_path=%r), sort_keys=True))
"""


def build_sockets():
    held = []
    listeners = []
    for index in range(LISTENERS):
        server = socket.socket()
        server.bind(("127.0.0.1", 20000 + index))
        server.listen(STALLED_BACKLOG if index < STALLED else 1024)
        listeners.append(server)
    for index in range(STALLED):
        for _ in range(STALLED_CLIENTS):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", 20000 + index))
            held.append(client)
    serving = listeners[STALLED:]
    for number in range(ESTABLISHED + CLOSE_WAIT):
        server = serving[number % len(serving)]
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        held.append(accepted)
        if number < CLOSE_WAIT:
            client.close()  # the server side stays in CLOSE_WAIT
        else:
            held.append(client)
    return listeners + held


def timed(function, runs):
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


def run_child(argv):
    """Run a command; return its peak RSS in KiB."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit("%s failed with status %d" % (argv[0], status))
    return usage.ru_maxrss


def raw_tools():
    run_child(["ss", "-ltnx"])
    with open("/proc/net/netstat") as handle:
        handle.read()


def bench(runs):
    sys.path.insert(0, str(COLLECTIONS))
    from ansible_collections.acceptq.remediation.plugins.module_utils import _snapshot

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = build_sockets()
    time.sleep(1.0)  # let SYN retries hit the stalled listeners
    workdir = tempfile.mkdtemp(prefix="acceptq-bench-")
    fact_path = os.path.join(workdir, "acceptq.fact")
    with open(fact_path, "w") as fact:
        fact.write(FACT_SOURCE % (str(COLLECTIONS), os.path.join(workdir, "fact-state.json")))
    fact_argv = [sys.executable, fact_path]
    in_process_state = os.path.join(workdir, "state.json")
    # First runs: no state yet, owners found by a full /proc scan.
    started = time.perf_counter()
    snap = _snapshot.snapshot(state_path=in_process_state)
    first_run_ms = (time.perf_counter() - started) * 1000.0
    run_child(fact_argv)
    counted = sum(sum(states.values()) for states in snap["connections_by_port"].values())
    close_wait = sum(states.get("CLOSE_WAIT", 0) for states in snap["connections_by_port"].values())
    gather, process, raw, rss = [], [], [], []
    for _ in range(runs):  # alternate so that machine noise hits all three alike
        gather += timed(lambda: _snapshot.snapshot(state_path=in_process_state), 1)
        started = time.perf_counter()
        rss.append(run_child(fact_argv))
        process.append((time.perf_counter() - started) * 1000.0)
        raw += timed(raw_tools, 1)
    shutil.rmtree(workdir)
    for sock in held:
        sock.close()
    median = statistics.median
    return {
        "sockets": {
            "listeners": len([item for item in snap["listeners"] if item["family"] != "unix"]),
            "established_and_close_wait": counted,
            "close_wait": close_wait,
            "full_listeners": len(
                [
                    item
                    for item in snap["listeners"]
                    if item["queue_depth"] and item["queue_depth"] > item["queue_limit"]
                ]
            ),
        },
        "runs": runs,
        "first_run_ms": round(first_run_ms, 2),
        "gather_in_process_ms": round(median(gather), 2),
        "fact_process_ms": round(median(process), 2),
        "raw_tools_ms": round(median(raw), 2),
        "ratio_in_process_to_raw": round(median(gather) / median(raw), 2),
        "ratio_fact_process_to_raw": round(median(process) / median(raw), 2),
        "fact_peak_rss_kib": max(rss),
        "targets": {"median_ms": 50, "ratio_to_raw": 1.5},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(bench(args.runs)))
        return
    if os.geteuid() != 0:
        raise SystemExit("bench-gather: run as root (it creates a network namespace)")
    subprocess.run(["ip", "netns", "add", NAMESPACE], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", NAMESPACE, "ip", "link", "set", "lo", "up"], check=True)
        output = subprocess.run(
            ["ip", "netns", "exec", NAMESPACE, sys.executable, __file__, "--inside", "--runs", str(args.runs)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        subprocess.run(["ip", "netns", "del", NAMESPACE], check=False)
    result = json.loads(output)
    sockets = result["sockets"]
    print(
        "namespace: %d TCP listeners (%d full), %d connections counted, %d in CLOSE_WAIT"
        % (
            sockets["listeners"],
            sockets["full_listeners"],
            sockets["established_and_close_wait"],
            sockets["close_wait"],
        )
    )
    print("median of %d runs:" % result["runs"])
    print(
        "  gather, in process      %7.2f ms  (%.2fx raw)"
        % (result["gather_in_process_ms"], result["ratio_in_process_to_raw"])
    )
    print(
        "  acceptq.fact, process   %7.2f ms  (%.2fx raw)"
        % (result["fact_process_ms"], result["ratio_fact_process_to_raw"])
    )
    print("  ss -ltnx + netstat read %7.2f ms" % result["raw_tools_ms"])
    print("  first gather (no state) %7.2f ms" % result["first_run_ms"])
    print("  acceptq.fact peak RSS   %7d KiB" % result["fact_peak_rss_kib"])
    print("targets: <= 50 ms median, <= 1.5x raw")
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
