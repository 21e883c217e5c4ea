#!/usr/bin/env python3
"""Benchmark the seed incident before and after acceptq's remediation.

    sudo .venv/bin/python tools/bench-incident.py [--keep] [--log FILE]

In a fresh podman container of the lab image (localhost/acceptq-lab:bookworm,
`make images`): builds the seed incident and runs it (molecule/incident/
prepare.yml: php-fpm on 127.0.0.1:9000, backlog 65535, 8 static workers;
nginx vhost A with a 100 ms read timeout, vhost B with the defaults; 112
req/s of open-loop load, about 60 % of the measured capacity, with a 2 s
client timeout; every worker stalled on its log write for 10 s). Then applies
playbooks/remediate.yml with the scenario's inventory (molecule/incident/
molecule.yml: only the client timeout is declared) and runs the same
incident again. Prints both rows side by side, the ratios after/seed, what
the remediation applied, and the issue's targets as booleans. Figures only:
nothing here asserts a time. About 4 minutes; every run is bounded (~75 s).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "molecule" / "incident"
IMAGE = "localhost/acceptq-lab:bookworm"
RUN = "/usr/local/lib/acceptq-incident/run.py"
COMPARED = (
    "ok_200",
    "client_timeouts",
    "peak_accept_queue",
    "peak_close_wait",
    "listen_overflows",
    "listen_drops",
    "executions",
    "stale_executions",
    "recovery_s",
    "backlog",
)


def podman(*args, stderr=subprocess.PIPE):
    return subprocess.run(["podman", *args], check=True, stdout=subprocess.PIPE, stderr=stderr, text=True).stdout


def inventory(container):
    """The scenario's inventory, pointed at this benchmark's container."""
    shared = yaml.safe_load((ROOT / ".config" / "molecule" / "config.yml").read_text())
    scenario = yaml.safe_load((SCENARIO / "molecule.yml").read_text())
    host = dict(shared["provisioner"]["inventory"]["group_vars"]["all"])
    host.update(scenario["provisioner"]["inventory"]["host_vars"]["acceptq-incident"])
    host["ansible_connection"] = "containers.podman.podman"
    return {"all": {"hosts": {container: host}}}, host


def playbook(path, inventory_path, log):
    env = dict(os.environ)
    env.update(
        ANSIBLE_HOME=str(ROOT / ".ansible"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".ansible" / "collections"),
        ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
    )
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory_path), str(path)]
    log.write("\n$ %s\n" % " ".join(command))
    log.flush()
    result = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise SystemExit("%s failed (exit %d), see %s" % (path.name, result.returncode, log.name))


def applied(container):
    """What the remediation left: the pool's backlog, nginx's upstream settings, somaxconn."""
    pool = podman("exec", container, "php-fpm8.2", "-tt", stderr=subprocess.STDOUT)
    nginx = podman("exec", container, "nginx", "-T", stderr=subprocess.STDOUT)
    keys = ("_timeout", "max_fails", "next_upstream", "backlog")
    return {
        "php_fpm": [line.split("NOTICE: ", 1)[-1].strip() for line in pool.splitlines() if "listen.backlog" in line],
        "nginx": sorted({line.strip() for line in nginx.splitlines() if any(key in line for key in keys)}),
        "somaxconn": int(podman("exec", container, "sysctl", "-n", "net.core.somaxconn")),
    }


def ratio(after, seed):
    if not isinstance(after, (int, float)) or not isinstance(seed, (int, float)):
        return None
    return round(after / seed, 4) if seed else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the container running")
    parser.add_argument("--log", default=None, help="Ansible output (default: a temporary file)")
    parser.add_argument(
        "--playbook",
        type=Path,
        default=ROOT / "playbooks" / "remediate.yml",
        help="the remediation to measure (default: playbooks/remediate.yml)",
    )
    args = parser.parse_args()
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode != 0:
        raise SystemExit("image %s is missing: run `make images`" % IMAGE)
    container = "acceptq-bench-incident-%d" % os.getpid()
    workdir = Path(tempfile.mkdtemp(prefix="acceptq-bench-incident-"))
    log_path = Path(args.log) if args.log else workdir / "ansible.log"
    started = time.monotonic()
    podman("run", "-d", "--privileged", "--name", container, IMAGE)
    try:
        hosts, host_vars = inventory(container)
        inventory_path = workdir / "hosts.yml"
        inventory_path.write_text(yaml.safe_dump(hosts))
        with open(log_path, "a") as log:
            playbook(SCENARIO / "prepare.yml", inventory_path, log)
            seed = json.loads(podman("exec", container, "cat", "/var/lib/acceptq-incident/seed/figures.json"))
            playbook(args.playbook.resolve(), inventory_path, log)
        after = json.loads(podman("exec", container, "python3", RUN, "--label", "after"))
        report = {
            "remediation": str(args.playbook),
            "declared_workload": host_vars.get("acceptq_workload", {}),
            "applied": applied(container),
            "seed": seed,
            "after": after,
            "side_by_side": {key: [seed.get(key), after.get(key)] for key in COMPARED}
            | {
                "status_" + code: [seed["status"][code], after["status"][code]] for code in ("200", "499", "502", "504")
            },
            "ratios": {key: ratio(after.get(key), seed.get(key)) for key in COMPARED},
            "targets": {
                "no_499": after["status"]["499"] == 0,
                "stale_le_5pct_of_seed": after["stale_executions"] <= 0.05 * seed["stale_executions"],
                "recovery_le_1s": after["recovery_s"] is not None and after["recovery_s"] <= 1.0,
                "ok_200_ge_seed": after["ok_200"] >= seed["ok_200"],
            },
            "bench_s": round(time.monotonic() - started, 1),
            "ansible_log": str(log_path),
        }
        print(json.dumps(report, indent=1, sort_keys=True))
    finally:
        if not args.keep:
            subprocess.run(["podman", "rm", "-f", "-t", "0", container], check=False, capture_output=True)


if __name__ == "__main__":
    main()
