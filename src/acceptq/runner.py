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


@dataclass
class PlaybookRun:
    rc: int
    status: str
    hosts: dict[str, HostOutcome]
    no_hosts_matched: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The signal (SIGINT, SIGTERM) that stopped the run, if one did.
    interrupted: int | None = None


class InventoryError(Exception):
    """An inventory Ansible cannot parse: its own message, with file and line."""


def failure_message(result: dict) -> str:
    """Everything a failed task said: its msg, each failed loop item's, and a failed command's output."""
    lines = []
    message = str(result.get("msg") or "").strip()
    items = [item for item in result.get("results") or [] if isinstance(item, dict) and item.get("failed")]
    if message and not (items and message == "One or more items failed"):
        lines.append(message)
    for item in items:
        label = item.get("_ansible_item_label", item.get("item"))
        lines.append("item %s: %s" % (label, failure_message(item) or "failed"))
    for key in ("stderr", "module_stderr"):
        text = str(result.get(key) or "").strip()
        if text and text not in message:
            lines.append("%s: %s" % (key, text))
    if not lines and result.get("rc") not in (None, 0):
        lines.append("exit status %s" % result["rc"])
    return "\n".join(lines)


def render_diff(diff) -> str:
    """A task's --diff result (one dict or a list) as unified diff text."""
    import difflib

    parts = []
    for entry in diff if isinstance(diff, list) else [diff]:
        if not isinstance(entry, dict):
            continue
        if entry.get("prepared"):
            parts.append(str(entry["prepared"]).rstrip("\n"))
            continue
        if "before" not in entry and "after" not in entry:
            continue
        before, after = entry.get("before", ""), entry.get("after", "")
        if not isinstance(before, str) or not isinstance(after, str):
            import json

            before, after = (json.dumps(value, indent=2, sort_keys=True) for value in (before, after))
        if before == after:
            continue
        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            entry.get("before_header", "before"),
            entry.get("after_header", "after"),
        )
        parts.append("".join(line if line.endswith("\n") else line + "\n" for line in lines).rstrip("\n"))
    return "\n".join(part for part in parts if part)


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


def list_hosts(root: Path, inventory: str, limit: str | None = None) -> list[str]:
    """The hosts a run would target, from ansible-inventory with the run's own configuration.

    An inventory source Ansible cannot parse is an error here (Ansible alone
    would warn and go on with fewer or no hosts): InventoryError carries its
    message, which names the file and line.
    """
    import json
    import subprocess

    env = dict(os.environ, **runner_env(root), ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", inventory, "--list"]
    if limit:
        argv += ["--limit", limit]
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InventoryError("cannot list the inventory %s: %s" % (inventory, exc)) from None
    if completed.returncode != 0:
        raise InventoryError(completed.stderr.strip() or "ansible-inventory exited with %s" % completed.returncode)
    try:
        groups = json.loads(completed.stdout)
    except ValueError:
        raise InventoryError("ansible-inventory printed no inventory:\n%s" % completed.stderr.strip()) from None
    hosts = []
    for name, group in groups.items():
        if name != "_meta" and isinstance(group, dict):
            hosts.extend(host for host in group.get("hosts", []) if host not in hosts)
    return hosts


def run_playbook(
    root: Path,
    playbook: str,
    inventory: str,
    limit: str | None = None,
    extravars: dict | None = None,
    cmdline: str | None = None,
    on_host: Callable[[HostOutcome], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    on_diff: Callable[[str, str, str], None] | None = None,
) -> PlaybookRun:
    """Run one playbook; collect each host's outcome, Ansible's warnings and diffs from runner events.

    SIGINT and SIGTERM stop the run (see acceptq.signals); the result says which.
    """
    import json

    import ansible_runner  # imported late: it is slow to import

    from acceptq import signals

    hosts: dict[str, HostOutcome] = {}
    state = {"no_hosts": False}
    warnings: list[str] = []

    def outcome(name: str) -> HostOutcome:
        if name not in hosts:
            hosts[name] = HostOutcome(name)
        return hosts[name]

    def warn(text: str) -> None:
        text = text.strip()
        if text and text not in warnings:
            warnings.append(text)
            on_warning and on_warning(text)

    def handle(event: dict) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        host = data.get("host")
        result = data.get("res") or {}
        # Ansible's own warnings (module warnings included: the callback displays them).
        if kind in ("warning", "system_warning", "deprecated"):
            warn(event.get("stdout") or "")
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
            if on_diff and result.get("diff") and (result.get("changed") or kind == "runner_on_ok"):
                text = render_diff(result["diff"])
                text and on_diff(host, data.get("task", ""), text)
            if kind == "runner_on_failed" and (gather or not data.get("ignore_errors")):
                item.status = "failed"
                task = data.get("task", "")
                message = failure_message(result) or "failed"
                item.message = "%s: %s" % (task, message) if task else message
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
        # ansible-runner checks for a cancel between waits for output: poll often, so
        # a signal reaches ansible-playbook at once.
        os.makedirs(os.path.join(private_data_dir, "env"))
        with open(os.path.join(private_data_dir, "env", "settings"), "w") as settings:
            json.dump({"pexpect_timeout": 0.2}, settings)
        with signals.running():
            run = ansible_runner.run(
                private_data_dir=private_data_dir,
                playbook=str(root / "playbooks" / playbook),
                inventory=inventory,
                limit=limit,
                extravars=extravars or {},
                cmdline=cmdline,
                envvars=runner_env(root),
                event_handler=handle,
                # Ours, so that ansible-runner does not install its own SIGINT/SIGTERM handlers.
                cancel_callback=signals.cancel_requested,
                quiet=True,
                suppress_env_files=True,
            )
        interrupted = signals.state.signum
        errors = []
        if run.rc != 0 and not hosts and not state["no_hosts"] and interrupted is None:
            # Ansible stopped before any host ran (syntax or inventory error):
            # its own message is the most useful thing to show.
            tail = run.stdout.read().strip().splitlines()[-40:]
            errors.append("\n".join(tail) or "ansible-playbook exited with %s" % run.rc)
        return PlaybookRun(
            rc=run.rc,
            status=run.status,
            hosts=hosts,
            no_hosts_matched=state["no_hosts"],
            errors=errors,
            warnings=warnings,
            interrupted=interrupted,
        )
