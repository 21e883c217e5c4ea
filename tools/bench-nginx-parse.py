#!/usr/bin/env python3
"""Print how long the nginx model takes over a generated 10,000-line configuration.

A benchmark, not a test: it prints figures (median and best of N runs) and
never fails on time. The target is <= 0.15 s for the 10,000 lines.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from acceptq.collection import import_shared  # noqa: E402

import_shared(ROOT)

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx  # noqa: E402


def dump(servers):
    body = "".join(
        "server {\n listen %d;\n server_name s%d;\n location / {\n  fastcgi_read_timeout 5s;\n"
        "  fastcgi_pass 127.0.0.1:9000;\n }\n}\n" % (10000 + index, index)
        for index in range(servers)
    )
    return "# configuration file /etc/nginx/nginx.conf:\nhttp {\n%s}\n" % body


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--servers", type=int, default=1250, help="8 lines each (1250: 10,000 lines)")
    args = parser.parse_args()
    text = dump(args.servers)
    section = {"binary": "/usr/sbin/nginx", "dump": {"returncode": 0, "stdout": text, "stderr": ""}}
    timings, cpu = [], []
    for _run in range(args.runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        model = _nginx.load_config(section)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    assert len(model["servers"]) == args.servers and not model["errors"]
    # CPU time beside wall time: on a shared machine the wall figure measures the neighbours too
    print(
        "nginx model, %d lines, %d servers: wall median %.3f s, best %.3f s; CPU median %.3f s, best %.3f s "
        "over %d runs (target <= 0.15 s)"
        % (
            text.count("\n"),
            args.servers,
            statistics.median(timings),
            min(timings),
            statistics.median(cpu),
            min(cpu),
            args.runs,
        )
    )


if __name__ == "__main__":
    main()
