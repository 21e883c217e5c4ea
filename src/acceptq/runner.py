"""Drive the collection's playbooks through ansible-runner events."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from acceptq.collection import ansible_collections_paths, collections_path

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
    """What ansible-playbook needs on top of the user's own configuration.

    Their ansible.cfg (found from the working directory, as ansible-playbook
    finds it), remote user, become and vault settings stay in force: only the
    collections path is extended when the collection is not already on it.
    """
    venv_bin = str(Path(sys.executable).parent)
    env = {"ANSIBLE_NOCOLOR": "1", "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "")])}
    # ansible-runner starts ansible-playbook in its private directory, where
    # it would not find the ansible.cfg of the user's working directory.
    user_config = user_ansible_config()
    if user_config:
        env["ANSIBLE_CONFIG"] = user_config
    ours = collections_path(root)
    searched = {os.path.realpath(path) for path in ansible_collections_paths()}
    if os.path.realpath(ours) not in searched:
        configured = ansible_collections_paths(with_sys_path=False)
        env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(str(path) for path in [ours, *configured])
    return env


def user_ansible_config() -> str | None:
    """The ansible.cfg ansible-playbook would read if started here (ANSIBLE_CONFIG, ./, ~/, /etc/ansible/)."""
    try:
        from ansible.config.manager import find_ini_config_file
    except ImportError:
        return None
    path = find_ini_config_file()
    return os.path.abspath(path) if path else None


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
