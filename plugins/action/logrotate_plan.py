# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the logrotate_schedule writes on the controller from one gathering on the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import plan as _plan
from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import rules as _rules
from ansible_collections.acceptq.remediation.plugins.plugin_utils._planning import (
    gather_evidence,
    located,
    read_back_bytes,
)

OPTIONS = (
    "pool",
    "members",
    "window_start",
    "window_end",
    "seed",
    "prune",
    "prune_delay_minutes",
    "prune_batch",
    "prune_pause_ms",
    "prune_replaces",
    "manage_signals",
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(OPTIONS)

    def _options(self):
        args = dict(self._task.args)
        if not args.get("pool"):
            raise AnsibleActionFail("pool must name the host's pool (an inventory group)")
        for key in ("members", "prune", "prune_replaces"):
            if not isinstance(args.get(key) or [], list):
                raise AnsibleActionFail("%s must be a list, got %r" % (key, args.get(key)))
        for target in args.get("prune") or []:
            if not isinstance(target, dict) or not str(target.get("path", "")).startswith("/"):
                raise AnsibleActionFail("each prune target needs an absolute path, got %r" % (target,))
            if not target.get("pattern") or "/" in target["pattern"]:
                raise AnsibleActionFail("prune target %s needs a file name pattern without '/'" % target["path"])
            try:
                target["age_days"] = float(target.get("age_days", 14))
            except (TypeError, ValueError):
                raise AnsibleActionFail("prune target %s: age_days must be a number" % target["path"]) from None
        for key, low in (("prune_delay_minutes", 1), ("prune_batch", 1), ("prune_pause_ms", 0)):
            try:
                args[key] = int(args.get(key))
            except (TypeError, ValueError):
                raise AnsibleActionFail("%s must be an integer, got %r" % (key, args.get(key))) from None
            if args[key] < low:
                raise AnsibleActionFail("%s must be at least %d" % (key, low))
        args["manage_signals"] = bool(args.get("manage_signals", True))
        return args

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        options = self._options()
        evidence = gather_evidence(self, ["logrotate"], task_vars)
        section = evidence.get("logrotate") or {}
        model = (
            _rules.load_model(section)
            if section.get("config")
            else {
                "complete": False,
                "errors": [
                    {"file": "/etc/logrotate.conf", "line": None, "message": "no logrotate configuration on the host"}
                ],
                "blocks": [],
                "main": None,
            }
        )
        candidates = [_plan.DROPIN, _plan.CRON_FILE, _plan.STANZA, _plan.PRUNE_CONFIG, _plan.PRUNE_SERVICE]
        candidates += [_plan.PRUNE_TIMER] + list(options.get("prune_replaces") or [])
        candidates += sorted(set(block["file"] for block in model.get("blocks") or []))
        raw = read_back_bytes(self, candidates, task_vars)
        disk = {}
        for path, data in raw.items():
            try:
                disk[path] = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
        host = task_vars.get("inventory_hostname")
        try:
            planned = _plan.plan(host, section, model, options, disk)
        except _plan.PlanError as exc:
            raise AnsibleActionFail("logrotate_schedule: %s" % exc) from None
        writes = []
        for item in planned["files"]:
            before = raw.get(item["path"], b"")
            writes.append(
                {
                    "path": item["path"],
                    "content_b64": base64.b64encode(item["content"].encode("utf-8")).decode("ascii"),
                    "sha256_before": hashlib.sha256(before).hexdigest(),
                }
            )
        result.update(
            changed=False,
            binary=section.get("binary"),
            version=section.get("version"),
            conf=model.get("main"),
            systemd=section.get("service_manager") == "systemd",
            slot=planned["slot"],
            prune_slot=planned["prune_slot"],
            files=planned["files"],
            missing=[item["path"] for item in planned["files"] if item["path"] not in raw],
            writes=writes,
            daemon_reload=planned["daemon_reload"],
            refused=planned["refused"],
            notes=planned["notes"],
            edits=["%s: %s" % (item["path"], item["reason"]) for item in planned["files"]],
        )
        if planned["refused"]:
            result.update(
                failed=True,
                msg="logrotate_schedule refuses to write: %s"
                % "; ".join(located(entry, "logrotate") for entry in planned["refused"]),
            )
        if planned["notes"]:
            result["warnings"] = planned["notes"]
        return result
