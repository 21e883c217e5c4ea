#!/usr/bin/env python3
"""Benchmark the fleet audit against `ansible all -m ping` on the same inventory.

    .venv/bin/python tools/bench-fleet.py [--hosts 200] [--forks 50]

The inventory is --hosts local-connection aliases of this machine (each a
separate inventory host, so every one is gathered and judged), run with
--forks forks. In the same run, in this order, it times:
  - `ansible all -m ping`: the floor every Ansible run pays per host;
  - `acceptq audit --format json` (the CLI, through ansible-runner);
  - `ansible-playbook playbooks/audit.yml` (the playbook, default callback);
and prints each wall time, the ratios to ping (target: <= 1.2x for both
entry points, fleet rules included) and the size of the CLI's report (the
evidence is left out unless asked for with --evidence). Figures only;
nothing here asserts a time.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def inventory(path, hosts):
    document = {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "acceptq_become": False,
            },
            "hosts": dict(("bench%03d" % number, {}) for number in range(hosts)),
        }
    }
    path.write_text(json.dumps(document))


def timed(argv, env):
    started = time.monotonic()
    completed = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode not in (0, 1):
        sys.stderr.write(completed.stderr.decode("utf-8", "replace")[-2000:])
        raise SystemExit("%s exited %s" % (argv[0], completed.returncode))
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--evidence", action="store_true", help="carry the evidence in the CLI's report")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="acceptq-bench-fleet-") as scratch:
        scratch = Path(scratch)
        hosts = scratch / "hosts.json"
        inventory(hosts, args.hosts)
        env = dict(
            os.environ,
            ANSIBLE_FORKS=str(args.forks),
            ANSIBLE_HOME=str(ROOT / ".ansible"),
            ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".ansible" / "collections"),
            ANSIBLE_HOST_KEY_CHECKING="False",
            PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        )
        report = scratch / "report.json"
        figures = {"hosts": args.hosts, "forks": args.forks, "cpus": os.cpu_count()}
        figures["ping_s"] = timed([str(BIN / "ansible"), "all", "-i", str(hosts), "-m", "ansible.builtin.ping"], env)
        cli = [str(BIN / "acceptq"), "audit", "-i", str(hosts), "--format", "json", "--output", str(report)]
        figures["cli_s"] = timed(cli + ["--fail-on", "none"] + (["--evidence"] if args.evidence else []), env)
        figures["report_bytes"] = report.stat().st_size
        figures["findings"] = len(json.loads(report.read_text())["findings"])
        playbook = [str(BIN / "ansible-playbook"), "-i", str(hosts), str(ROOT / "playbooks" / "audit.yml")]
        figures["playbook_s"] = timed(playbook, env)
    figures["cli_over_ping"] = round(figures["cli_s"] / figures["ping_s"], 2)
    figures["playbook_over_ping"] = round(figures["playbook_s"] / figures["ping_s"], 2)
    for key in ("ping_s", "cli_s", "playbook_s"):
        figures[key] = round(figures[key], 1)
    print(
        "%(hosts)d hosts, forks %(forks)d, %(cpus)d CPUs: ping %(ping_s).1f s, acceptq audit %(cli_s).1f s "
        "(%(cli_over_ping).2fx), playbooks/audit.yml %(playbook_s).1f s (%(playbook_over_ping).2fx); "
        "report %(report_bytes)d bytes, %(findings)d findings (target <= 1.2x ping for both)" % figures
    )
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
