"""Drive the collection's playbooks through ansible-runner events."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from acceptq.collection import collections_path

GATHER_ACTIONS = {"acceptq.remediation.gather", "gather"}


@dataclass
class HostOutcome:
    """A host's progress as ansible-runner's events show it (findings come from the report file)."""

    name: str
    status: str = "pending"  # pending, running, ok, failed, unreachable
    message: str = ""
    findings: list[dict] = field(default_factory=list)


@dataclass
class PlaybookRun:
    rc: int
    status: str
    hosts: dict[str, HostOutcome]
    no_hosts_matched: bool = False
    errors: list[str] = field(default_factory=list)


def runner_env(root: Path) -> dict[str, str]:
    """Environment for ansible-playbook: this checkout's config and collections."""
    venv_bin = str(Path(sys.executable).parent)
    existing = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")
    paths = [str(collections_path(root))] + [path for path in existing.split(os.pathsep) if path]
    return {
        "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(paths),
        "ANSIBLE_ROLES_PATH": str(root / "roles"),
        "ANSIBLE_HOME": str(root / ".ansible"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "")]),
    }


def run_playbook(
    root: Path,
    playbook: str,
    inventory: str,
    limit: str | None = None,
    extravars: dict | None = None,
    cmdline: str | None = None,
    on_host: Callable[[HostOutcome], None] | None = None,
) -> PlaybookRun:
    """Run one playbook; collect each host's outcome from runner events."""
    import ansible_runner  # imported late: it is slow to import

    hosts: dict[str, HostOutcome] = {}
    state = {"no_hosts": False}

    def outcome(name: str) -> HostOutcome:
        if name not in hosts:
            hosts[name] = HostOutcome(name)
        return hosts[name]

    def handle(event: dict) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        host = data.get("host")
        result = data.get("res") or {}
        if kind == "playbook_on_no_hosts_matched":
            state["no_hosts"] = True
        elif kind == "runner_on_start" and host:
            item = outcome(host)
            if item.status == "pending":
                item.status = "running"
                on_host and on_host(item)
        elif kind in ("runner_on_ok", "runner_on_failed") and host:
            item = outcome(host)
            gather = data.get("task_action") in GATHER_ACTIONS
            if kind == "runner_on_failed" and (gather or not data.get("ignore_errors")):
                item.status = "failed"
                item.message = str(result.get("msg", ""))
                on_host and on_host(item)
            elif gather and item.status in ("pending", "running"):
                item.status = "ok"
                on_host and on_host(item)
        elif kind == "runner_on_unreachable" and host:
            item = outcome(host)
            item.status = "unreachable"
            item.message = str(result.get("msg", "unreachable"))
            on_host and on_host(item)
        elif kind == "playbook_on_stats":
            for name in set(data.get("ok", {})) | set(data.get("changed", {})):
                item = outcome(name)
                if item.status in ("pending", "running"):
                    item.status = "ok"
                    on_host and on_host(item)
        return True

    with tempfile.TemporaryDirectory(prefix="acceptq-runner-") as private_data_dir:
        run = ansible_runner.run(
            private_data_dir=private_data_dir,
            playbook=str(root / "playbooks" / playbook),
            inventory=inventory,
            limit=limit,
            extravars=extravars or {},
            cmdline=cmdline,
            envvars=runner_env(root),
            event_handler=handle,
            quiet=True,
            suppress_env_files=True,
        )
        errors = []
        if run.rc != 0 and not hosts and not state["no_hosts"]:
            # Ansible stopped before any host ran (syntax or inventory error):
            # its own message is the most useful thing to show.
            tail = run.stdout.read().strip().splitlines()[-15:]
            errors.append("\n".join(tail) or "ansible-playbook exited with %s" % run.rc)
        return PlaybookRun(rc=run.rc, status=run.status, hosts=hosts, no_hosts_matched=state["no_hosts"], errors=errors)
