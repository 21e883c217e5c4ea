# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every planning action plugin does around its pure planner (controller side).

One gathering module call on the host, and a read-back of the files a plan
wants to edit so the edits apply to the bytes on disk.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

from ansible.errors import AnsibleActionFail


def gather_evidence(action, sections, task_vars):
    """The evidence of one acceptq.remediation.gather call, or a clear failure."""
    gathered = action._execute_module(
        module_name="acceptq.remediation.gather",
        module_args={"sections": list(sections), "counter_sample_interval": 0},
        task_vars=task_vars,
    )
    if gathered.get("failed") or "evidence" not in gathered:
        message = gathered.get("msg") or gathered.get("module_stderr") or "no evidence returned"
        raise AnsibleActionFail("evidence gathering failed: %s" % message)
    return gathered["evidence"]


def read_back_bytes(action, paths, task_vars):
    """{path: bytes} of the files as they are on disk now; unreadable files are left out."""
    found = {}
    for path in paths:
        read = action._execute_module(
            module_name="ansible.builtin.slurp", module_args={"src": path}, task_vars=task_vars
        )
        if read.get("failed") or "content" not in read:
            continue
        found[path] = base64.b64decode(read["content"])
    return found


def read_back(action, paths, task_vars, raw=None):
    """{path: text} of the files as they are on disk now; unreadable or non-UTF-8 files are left out.

    raw, when given, receives the bytes read (for writes(): the digests the edit is checked against).
    """
    texts = {}
    for path, data in read_back_bytes(action, paths, task_vars).items():
        if raw is not None:
            raw[path] = data
        try:
            texts[path] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


def writes(files, raw):
    """What acceptq.remediation.safe_edit takes for the planned files: new bytes, and the digest of
    the bytes the plan was made from, so that a file changed since is refused rather than overwritten.
    Texts decoded with surrogateescape are encoded back the same way: bytes that were not UTF-8 stay."""
    return [
        {
            "path": item["path"],
            "content_b64": base64.b64encode(item["content"].encode("utf-8", "surrogateescape")).decode("ascii"),
            "sha256_before": hashlib.sha256(raw[item["path"]]).hexdigest(),
        }
        for item in files
    ]


def located(entry, fallback):
    """ "file:line: message" of a refusal or error entry."""
    where = entry.get("file") or fallback
    if entry.get("line"):
        where = "%s:%s" % (where, entry["line"])
    return "%s: %s" % (where, entry.get("message"))


def fleet_from_hostvars(task_vars, host, evidence, gathered_var="__acceptq_gathered"):
    """The fleet as the remediation play gathered it: this host's fresh evidence, and every other
    host's from the read-only gathering at the start of the run (playbooks/remediate.yml).

    Hosts that registered nothing are left out; with no other host, the fleet is this host alone.
    """
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.fleet import Fleet, HostView
    from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as nginx_model

    hostvars = task_vars.get("hostvars") or {}
    views = [
        HostView(host, evidence, ansible_host=task_vars.get("ansible_host"), workload=task_vars.get("acceptq_workload"))
    ]
    for name in (task_vars.get("groups") or {}).get("all") or []:
        if name == host or name not in hostvars:
            continue
        other = hostvars[name]
        gathered = other.get(gathered_var)
        if isinstance(gathered, dict) and isinstance(gathered.get("evidence"), dict) and not gathered.get("failed"):
            views.append(
                HostView(
                    name,
                    gathered["evidence"],
                    ansible_host=other.get("ansible_host"),
                    groups=other.get("group_names") or (),
                    workload=other.get("acceptq_workload"),
                )
            )
    fleet = Fleet(views, model_loader=nginx_model.load_config)
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.workload import (
        PolicyError,
        effective_workload,
    )

    for view in views:
        try:
            view.policy = {"workload": effective_workload(view.declared_workload)}
        except PolicyError:
            view.policy = None  # that host's own run refuses it, naming the variable
    return fleet
