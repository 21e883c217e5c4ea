# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the php_flock_logging edits on the controller from one gathering on the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.acceptq.remediation.plugins.module_utils.flock import plan as _plan
from ansible_collections.acceptq.remediation.plugins.module_utils.flock.collect import PHP_SUFFIXES
from ansible_collections.acceptq.remediation.plugins.plugin_utils._planning import located, read_back_bytes, writes


def lowest_fpm_version(evidence):
    versions = [binary.get("version") for binary in (evidence.get("php_fpm") or {}).get("binaries") or []]
    versions = [version for version in versions if version]
    return (
        min(versions, key=lambda text: tuple(int(part) for part in text.split(".") if part.isdigit()))
        if versions
        else None
    )


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("code_roots", "php_version", "php_binary"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        roots = self._task.args.get("code_roots") or []
        if not isinstance(roots, list) or not all(isinstance(root, str) and root.startswith("/") for root in roots):
            raise AnsibleActionFail("code_roots must be a list of absolute paths, got %r" % (roots,))
        gathered = self._execute_module(
            module_name="acceptq.remediation.gather",
            module_args={
                "sections": ["php_fpm", "nginx", "php_code"],
                "counter_sample_interval": 0,
                "php_code_roots": roots,
            },
            task_vars=task_vars,
        )
        if gathered.get("failed") or "evidence" not in gathered:
            raise AnsibleActionFail(
                "evidence gathering failed: %s"
                % (gathered.get("msg") or gathered.get("module_stderr") or "no evidence")
            )
        evidence = gathered["evidence"]
        php_version = self._task.args.get("php_version") or lowest_fpm_version(evidence)
        planned = _plan.plan(evidence.get("php_code") or {}, php_version)
        refused = [located(entry, entry["file"]) for entry in planned["refused"]]
        raw = read_back_bytes(self, [item["path"] for item in planned["files"]], task_vars)
        files = []
        for item in planned["files"]:
            if raw.get(item["path"]) != item["before"]:
                refused.append("%s: changed on disk since it was read; left alone" % item["path"])
            else:
                files.append(item)
        for message in refused:
            self._display.warning("php_flock_logging refuses %s" % message)
        result.update(
            changed=False,
            files=[item["path"] for item in files],
            writes=writes(files, raw),
            edits=[edit for edit in planned["edits"] if edit.split(":", 1)[0] in set(item["path"] for item in files)],
            refused=refused,
            php_version=php_version,
            # One `php -l` per edited PHP file: safe_edit restores every file when one fails.
            validate=[
                {
                    "argv": [self._task.args.get("php_binary") or "php", "-l", item["path"]],
                    "name": "php -l %s" % item["path"],
                }
                for item in files
                if item["path"].endswith(PHP_SUFFIXES)
            ],
            code_roots=[root["path"] for root in (evidence.get("php_code") or {}).get("roots") or []],
        )
        return result
