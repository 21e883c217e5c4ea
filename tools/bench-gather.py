#!/usr/bin/env python3
"""Benchmark the queue gathering against the raw tools, in a namespace of its own.

    sudo .venv/bin/python tools/bench-gather.py [--runs 25]

Builds, in a fresh network namespace: 100 listeners (10 of them never
accept and are flooded past their backlog), 4,000 established connections
and 1,000 connections in CLOSE_WAIT, about 10,100 sockets in all. Then times,
in the same run, alternating:
  - gather (in process): the fact's snapshot() call, with its state file;
  - fact (process): roles/queue_facts/templates/acceptq.fact.j2 rendered as
    the role installs it and run through its shebang (/usr/bin/python3 -IS),
    interpreter start-up included;
  - raw tools, as issue 3 states them: `ss -ltnx` plus a read of
    /proc/net/netstat;
  - raw tools, like for like: the same plus `ss -tn state established state
    close-wait` filtered to the listened ports (the gathering also counts
    those connections; it also resolves owners, which `ss -p` would do with a
    full /proc scan and is left out here);
  - the netlink floor: in process, only the kernel requests the gathering
    cannot do without (the TCP and unix listener dumps, the connection dump
    filtered to the listened ports, counted, and /proc/net/netstat): what is
    left between it and the gathering is the gathering's own work.
Each round runs every measurement once, in a shuffled order, so that none
always follows the same one.
Processes are started by a small launcher forked before the sockets exist,
as a shell would start them: forking from this process, which holds 10,000
sockets, would add the cost of copying its file table to every command.
Prints wall-clock medians, ratios to both raw figures, CPU time per run,
the load average, and the fact process's peak RSS, then the same as JSON.
Targets (issue 3): <= 50 ms median per gathering, <= 1.5x the raw tools.
Figures only; nothing here asserts a time.
"""

import argparse
import json
import os
import random
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

# Runs each job it reads (one JSON line: a list of argv lists and file paths
# to read) and answers its wall time, its children's CPU time and peak RSS.
LAUNCHER = """
import json, os, subprocess, sys, time
for line in sys.stdin:
    steps = json.loads(line)
    cpu = rss = 0.0
    started = time.perf_counter()
    for step in steps:
        if isinstance(step, str):
            with open(step) as handle:
                handle.read()
            continue
        process = subprocess.Popen(step, stdout=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(process.pid, 0)
        if status:
            sys.exit("%s failed with status %d" % (step[0], status))
        cpu += usage.ru_utime + usage.ru_stime
        rss = max(rss, usage.ru_maxrss)
    wall = time.perf_counter() - started
    print(json.dumps([wall * 1000.0, cpu * 1000.0, rss]), flush=True)
"""


class Launcher:
    """A small process that starts commands, forked while this one is still small."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, steps):
        """Run the steps; return (wall ms, CPU ms of the processes started, peak RSS KiB)."""
        self.process.stdin.write(json.dumps(steps) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise SystemExit("bench-gather: the launcher stopped (%s)" % (steps,))
        return json.loads(answer)

    def close(self):
        self.process.stdin.close()
        self.process.wait()


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


def port_filter(ports):
    return "( %s )" % " or ".join("sport = :%d" % port for port in sorted(ports))


def bench(runs):
    sys.path.insert(0, str(COLLECTIONS))
    sys.path.insert(0, str(ROOT / "src"))
    from acceptq.collection import render_fact
    from ansible_collections.acceptq.remediation.plugins.module_utils.core import sockdiag as _sockdiag
    from ansible_collections.acceptq.remediation.plugins.module_utils.facts import snapshot as _snapshot

    launcher = Launcher()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = build_sockets()
    time.sleep(1.0)  # let SYN retries hit the stalled listeners
    workdir = tempfile.mkdtemp(prefix="acceptq-bench-")
    fact_path = os.path.join(workdir, "acceptq.fact")
    shebang = render_fact(ROOT, Path(fact_path), workdir)
    in_process_state = os.path.join(workdir, "state.json")
    # First runs: no state yet, owners found by a full /proc scan.
    started = time.perf_counter()
    snap = _snapshot.snapshot(state_path=in_process_state)
    first_run_ms = (time.perf_counter() - started) * 1000.0
    launcher.run([[fact_path]])
    ports = set(int(item["local"].rsplit(":", 1)[1]) for item in snap["listeners"] if item["family"] != "unix")
    raw_literal = [["ss", "-ltnx"], "/proc/net/netstat"]
    raw_like = [["ss", "-ltnx"], ["ss", "-tn", "state", "established", "state", "close-wait", port_filter(ports)]]
    raw_like.append("/proc/net/netstat")

    def netlink_floor():
        # The same requests the gathering makes: both families in one.
        listeners = _sockdiag.inet_both_families_request([_sockdiag.TCP_LISTEN])
        _sockdiag.parse_inet(_sockdiag.dump(listeners, request_type=_sockdiag.TCPDIAG_GETSOCK))
        _sockdiag.parse_unix(_sockdiag.dump(_sockdiag.unix_request([_sockdiag.TCP_LISTEN])))
        request = _sockdiag.inet_both_families_request([1, 8], local_ports=ports)
        _sockdiag.count_dump(request, request_type=_sockdiag.TCPDIAG_GETSOCK)
        with open("/proc/net/netstat") as handle:
            handle.read()

    counted = sum(sum(states.values()) for states in snap["connections_by_port"].values())
    close_wait = sum(states.get("CLOSE_WAIT", 0) for states in snap["connections_by_port"].values())
    load_before = os.getloadavg()
    figures = dict((name, []) for name in ("gather", "gather_cpu", "fact", "fact_cpu", "rss", "raw", "raw_cpu"))
    figures.update(like=[], like_cpu=[], spawn=[], floor=[])

    def gather():
        cpu, started = time.process_time(), time.perf_counter()
        _snapshot.snapshot(state_path=in_process_state)
        figures["gather"].append((time.perf_counter() - started) * 1000.0)
        figures["gather_cpu"].append((time.process_time() - cpu) * 1000.0)

    def fact():
        wall, cpu, rss = launcher.run([[fact_path]])
        figures["fact"].append(wall)
        figures["fact_cpu"].append(cpu)
        figures["rss"].append(rss)

    def raw():
        wall, cpu, _rss = launcher.run(raw_literal)
        figures["raw"].append(wall)
        figures["raw_cpu"].append(cpu)

    def like():
        wall, cpu, _rss = launcher.run(raw_like)
        figures["like"].append(wall)
        figures["like_cpu"].append(cpu)

    def spawn():
        figures["spawn"].append(launcher.run([["true"]])[0])

    def floor():
        started = time.perf_counter()
        netlink_floor()
        figures["floor"].append((time.perf_counter() - started) * 1000.0)

    steps = [gather, fact, raw, like, spawn, floor]
    order = random.Random(runs)  # the same orders for the same --runs
    for _ in range(runs):
        # Every measurement once a round, so that machine noise hits all of
        # them alike, in a shuffled order: what runs just before one changes
        # its time (caches, the CPU it wakes on) by up to a few milliseconds.
        order.shuffle(steps)
        for step in steps:
            step()
    load_after = os.getloadavg()
    launcher.close()
    shutil.rmtree(workdir)
    for sock in held:
        sock.close()
    median = dict((name, statistics.median(values)) for name, values in figures.items() if name != "rss")
    # Each run's own ratio, gathering and raw tools timed side by side: its
    # spread shows how much of a ratio is the machine's noise.
    per_run = [gather / raw for gather, raw in zip(figures["gather"], figures["raw"], strict=True)]
    quartiles = statistics.quantiles(per_run, n=4)
    return {
        "sockets": {
            "listeners": len(ports),
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
        "load_average_1min": [round(load_before[0], 2), round(load_after[0], 2)],
        "first_run_ms": round(first_run_ms, 2),
        "gather_in_process_ms": round(median["gather"], 2),
        "gather_in_process_cpu_ms": round(median["gather_cpu"], 2),
        "fact_process_ms": round(median["fact"], 2),
        "fact_process_cpu_ms": round(median["fact_cpu"], 2),
        "raw_tools_ms": round(median["raw"], 2),
        "raw_tools_cpu_ms": round(median["raw_cpu"], 2),
        "raw_like_for_like_ms": round(median["like"], 2),
        "raw_like_for_like_cpu_ms": round(median["like_cpu"], 2),
        "process_spawn_ms": round(median["spawn"], 2),
        "netlink_floor_ms": round(median["floor"], 2),
        "ratio_netlink_floor_to_raw": round(median["floor"] / median["raw"], 2),
        "ratio_in_process_to_raw": round(median["gather"] / median["raw"], 2),
        "ratio_in_process_to_raw_per_run_quartiles": [round(value, 2) for value in quartiles],
        "ratio_fact_process_to_raw": round(median["fact"] / median["raw"], 2),
        "ratio_in_process_to_like_for_like": round(median["gather"] / median["like"], 2),
        "ratio_fact_process_to_like_for_like": round(median["fact"] / median["like"], 2),
        "fact_peak_rss_kib": max(figures["rss"]),
        "fact_shebang": shebang,
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
            stdout=subprocess.PIPE,  # errors go straight to the terminal
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
    print(
        "median of %d runs (load average %.2f before, %.2f after):"
        % ((result["runs"],) + tuple(result["load_average_1min"]))
    )
    print("                                  wall        CPU   vs raw  vs like-for-like")
    for label, key in (("gather, in process", "in_process"), ("acceptq.fact, process", "fact_process")):
        figure = "gather_in_process" if key == "in_process" else "fact_process"
        print(
            "  %-27s %7.2f ms %7.2f ms  %5.2fx  %5.2fx"
            % (
                label,
                result[figure + "_ms"],
                result[figure + "_cpu_ms"],
                result["ratio_%s_to_raw" % key],
                result["ratio_%s_to_like_for_like" % key],
            )
        )
    print("  %-27s %7.2f ms %7.2f ms" % ("raw: ss -ltnx + netstat", result["raw_tools_ms"], result["raw_tools_cpu_ms"]))
    print(
        "  %-27s %7.2f ms %7.2f ms"
        % ("like-for-like: + ss -tn", result["raw_like_for_like_ms"], result["raw_like_for_like_cpu_ms"])
    )
    print(
        "  netlink floor, in process   %7.2f ms             %5.2fx"
        % (result["netlink_floor_ms"], result["ratio_netlink_floor_to_raw"])
    )
    print("  starting a process (true)   %7.2f ms" % result["process_spawn_ms"])
    print(
        "  gather / raw, run by run:   %.2fx  %.2fx  %.2fx  (quartiles)"
        % tuple(result["ratio_in_process_to_raw_per_run_quartiles"])
    )
    print("  first gather (no state)     %7.2f ms" % result["first_run_ms"])
    print("  acceptq.fact peak RSS       %7d KiB  (%s)" % (result["fact_peak_rss_kib"], result["fact_shebang"]))
    print("targets: <= 50 ms median, <= 1.5x raw (issue 3: ss -ltnx + /proc/net/netstat)")
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
