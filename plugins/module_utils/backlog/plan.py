# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the php_fpm_backlog edits on the controller, from the audit's own evidence and sizing.

Pure: evidence and the files' current texts in, per-pool decisions and new
file contents out. A pool is edited only in the file and section that define
it: its last listen.backlog line is replaced, or one line is inserted in its
last section (after its listen line, else after its [name] header).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import collect as _collect
from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import rules as _checks_backlog


def _where(entry):
    return "%s:%s" % (entry.get("file"), entry.get("line"))


def _edit_for(pool, sized):
    """(path, line, kind, expected old text, new text) that sets the pool's backlog."""
    definition = pool["definition"]
    set_at = definition.get("backlog")
    if set_at:
        old = set_at["text"]
        indent = old[: len(old) - len(old.lstrip())]
        return set_at["file"], set_at["line"], "replace", old, "%slisten.backlog = %d" % (indent, sized)
    last = definition["sections"][-1] if definition.get("sections") else definition
    listen = last.get("listen")
    if listen and listen.get("file") == last["file"]:
        old = listen["text"]
        indent = old[: len(old) - len(old.lstrip())]
        return last["file"], listen["line"], "insert_after", old, "%slisten.backlog = %d" % (indent, sized)
    return last["file"], last["line"], "insert_after", "[%s]" % pool["name"], "listen.backlog = %d" % sized


def _refusal(pool, plan):
    definition = pool.get("definition")
    if plan["sized"] is None:
        return plan["reason"]
    if definition is None:
        return "no [%s] section found in php-fpm's main file or its include= files" % pool["name"]
    if not definition.get("complete"):
        errors = "; ".join("%s: %s" % (_where(error), error["message"]) for error in definition.get("errors") or [])
        return "its files did not parse fully (%s)" % (errors or _where(definition))
    set_at = definition.get("backlog")
    if set_at and set_at.get("value") is not None:
        try:
            int(set_at["value"])
        except ValueError:
            return "listen.backlog = %s at %s is not a number acceptq can replace" % (set_at["value"], _where(set_at))
    return None


def _process_control_edit(binary, seconds):
    """(path, line, kind, old, new) setting [global] process_control_timeout, or None when [global] is unlocated."""
    where = binary.get("global_definition") or {}
    if not where.get("file") or not where.get("complete", True):
        return None
    new = "process_control_timeout = %ds" % seconds
    setting = where.get("process_control_timeout")
    if setting:
        old = setting["text"]
        return setting["file"], setting["line"], "replace", old, old[: len(old) - len(old.lstrip())] + new
    return where["file"], where["line"], "insert_after", "[global]", new


def plan_process_control(evidence, selected, declared_s=None, model=None):
    """[(binary, edit, seconds, reason)] for every php-fpm whose process_control_timeout is 0.

    selected: {binary: [pool records]} the run touches; declared_s overrides the derived value, and 0
    leaves process_control_timeout alone.
    """
    if declared_s == 0:
        return []
    found = []
    for binary in (evidence.get("php_fpm") or {}).get("binaries") or []:
        pools = selected.get(binary.get("binary"))
        value = (binary.get("global") or {}).get("process_control_timeout")
        if not pools or _checks_backlog.fpm_seconds(value) != 0:
            continue
        if declared_s:
            seconds, reason = int(declared_s), "php_fpm_backlog_process_control_timeout_s"
        else:
            seconds, reason = _checks_backlog.process_control_target(pools, model)
        found.append((binary, _process_control_edit(binary, seconds), seconds, reason))
    return found


def plan(
    evidence,
    workload,
    raise_somaxconn=True,
    only_pools=None,
    services=None,
    fleet=None,
    host=None,
    process_control_timeout_s=None,
):
    """Decide every pool; returns pools (decisions), edits by file, restarts, validations, refusals.

    fleet, host: the fleet this host belongs to (core.fleet), so that a pool is sized from the
    nginx hosts that pass to it, wherever they run; without it, from the nginx on this host.
    process_control_timeout_s: the value [global] process_control_timeout is set to where it is 0
    (AQ-BACKLOG-006); None derives it from the pools and nginx, 0 leaves it alone.
    """
    policy = {"workload": workload, "fleet": fleet}
    model = None if fleet is not None else _checks_backlog.nginx_model(evidence)
    somaxconn = ((evidence.get("kernel") or {}).get("sysctls") or {}).get("net.core.somaxconn")
    services = services or {}
    binaries = dict((item["binary"], item) for item in (evidence.get("php_fpm") or {}).get("binaries") or [])
    decisions, edits, refused = [], {}, []
    restart, somaxconn_needed = {}, None
    selected = {}
    for pool, listener, sized_plan in _checks_backlog.plans(evidence, policy, model, host):
        if only_pools and pool["name"] not in only_pools:
            continue
        selected.setdefault(pool.get("binary") or "php-fpm", []).append(pool)
        binary = pool.get("binary") or "php-fpm"
        service = services.get(binary) or _checks_backlog.service_name(binary)
        sized = sized_plan["sized"]
        if sized is not None and not raise_somaxconn and somaxconn is not None and sized > somaxconn:
            sized = int(somaxconn)
        decision = {
            "pool": pool["name"],
            "binary": binary,
            "service": service,
            "listen": pool.get("listen"),
            "status_path": (pool.get("settings") or {}).get("pm.status_path"),
            "listener": listener["local"] if listener else None,
            "file": (pool.get("definition") or {}).get("file"),
            "line": (pool.get("definition") or {}).get("line"),
            "current": pool.get("listen_backlog"),
            "send_q": listener["backlog_limit"] if listener else None,
            "sized": sized,
            "reason": sized_plan["reason"],
            "action": "none",
        }
        decisions.append(decision)
        configured_right = pool.get("listen_backlog") == sized
        running_right = decision["send_q"] is None or decision["send_q"] == sized
        if configured_right and running_right:
            continue
        refusal = _refusal(pool, sized_plan)
        if refusal and not configured_right:
            decision["action"] = "refused"
            refused.append(
                {
                    "file": decision["file"] or (binaries.get(binary) or {}).get("conf"),
                    "line": decision["line"],
                    "message": "pool %s of %s: %s" % (pool["name"], binary, refusal),
                }
            )
            continue
        if raise_somaxconn and sized_plan.get("somaxconn_needed"):
            somaxconn_needed = max(somaxconn_needed or 0, sized_plan["somaxconn_needed"])
        if configured_right:
            decision["action"] = "restart"  # the file is right; the socket still has an older backlog
        else:
            decision["action"] = "set"
            path, line, kind, old, new = _edit_for(pool, sized)
            edits.setdefault(path, []).append(
                {
                    "pool": pool["name"],
                    "line": line,
                    "kind": kind,
                    "old": old,
                    "new": new,
                    "reason": sized_plan["reason"],
                }
            )
        restart.setdefault(
            service, {"service": service, "binary": binary, "conf": (binaries.get(binary) or {}).get("conf")}
        )
    process_control = []
    local_model = model if model is not None else _checks_backlog.nginx_model(evidence)
    for binary, edit, seconds, reason in plan_process_control(
        evidence, selected, process_control_timeout_s, local_model
    ):
        name = binary["binary"]
        if edit is None:
            refused.append(
                {
                    "file": binary.get("conf"),
                    "line": None,
                    "message": "%s: process_control_timeout is 0 but [global] could not be located to set it" % name,
                }
            )
            continue
        path, line, kind, old, new = edit
        edits.setdefault(path, []).append(
            {"pool": "(global)", "line": line, "kind": kind, "old": old, "new": new, "reason": reason}
        )
        process_control.append({"binary": name, "seconds": seconds, "reason": reason, "file": path})
        service = services.get(name) or _checks_backlog.service_name(name)
        restart.setdefault(service, {"service": service, "binary": name, "conf": binary.get("conf")})
    return {
        "process_control": process_control,
        "pools": decisions,
        "edits": edits,
        "refused": refused,
        "restarts": [restart[name] for name in sorted(restart)],
        "somaxconn": somaxconn,
        "somaxconn_needed": somaxconn_needed,
    }


def _replaced(disk_line, new):
    """The new 'listen.backlog = N' line keeping the old line's trailing '; comment' (bytes and all)."""
    _key, _sep, raw = disk_line.partition("=")
    comment = _collect.split_value(raw)[1] if _sep else ""
    return new + comment


def render_files(edits, texts):
    """[{path, content, edits}] with every edit applied; refusals for files that changed since gathering.

    texts are the files decoded as _collect.decode does (undecodable bytes kept); lines are split and
    ended as php-fpm reads them, so CRLF, CR, BOMs and Latin-1 comments come back as they were.
    """
    files, refused = [], []
    for path in sorted(edits):
        text = texts.get(path)
        if text is None:
            refused.append({"file": path, "line": None, "message": "could not be read back to edit"})
            continue
        lines = _collect.split_lines(text)
        stale = [
            edit
            for edit in edits[path]
            if edit["line"] > len(lines)
            or _collect.display(lines[edit["line"] - 1][0]).lstrip(_collect.BOM).strip() != edit["old"].strip()
        ]
        if stale:
            refused.extend(
                {"file": path, "line": edit["line"], "message": "changed since it was read: expected %r" % edit["old"]}
                for edit in stale
            )
            continue
        newline = lines[0][1] if lines and lines[0][1] else "\n"
        for edit in sorted(edits[path], key=lambda item: item["line"], reverse=True):
            index = edit["line"] - 1
            line, ending = lines[index]
            if edit["kind"] == "replace":
                lines[index] = (_replaced(line, edit["new"]), ending)
            else:
                lines[index] = (line, ending or newline)
                lines.insert(index + 1, (edit["new"], ending or newline))
        files.append(
            {
                "path": path,
                "content": "".join(line + ending for line, ending in lines),
                "edits": sorted(edits[path], key=lambda item: item["line"]),
            }
        )
    return files, refused
