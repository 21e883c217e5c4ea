# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate every declared input of the remediation before the first change (controller side)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import os

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.acceptq.remediation.plugins.module_utils.registry import PolicyError, effective_workload

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")
# No setting of these roles is meaningful past this: a larger number is a typo or an attack.
LARGEST = 2**31 - 1


def numbers_out_of_range(name, value):
    """['name.path: why'] for every NaN, infinity or absurdly large number inside value."""
    found = []
    if isinstance(value, bool):
        return found
    if isinstance(value, float):
        if not math.isfinite(value):
            found.append("%s must be a finite number, got %r" % (name, value))
        elif abs(value) > LARGEST:
            found.append("%s is out of range (at most %d), got %r" % (name, LARGEST, value))
    elif isinstance(value, int):
        if abs(value) > LARGEST:
            found.append("%s is out of range (at most %d), got %r" % (name, LARGEST, value))
    elif isinstance(value, str):
        if value.strip().lower() in (
            "nan",
            "+nan",
            "-nan",
            "inf",
            "+inf",
            "-inf",
            "infinity",
            "-infinity",
            ".nan",
            ".inf",
        ):
            found.append("%s must be a finite number, got %r" % (name, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(numbers_out_of_range("%s.%s" % (name, key), item))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(numbers_out_of_range("%s[%d]" % (name, index), item))
    return found


def role_options(role):
    """The main entry point's options of a role of this collection, from its argument specs."""
    path = os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")
    with open(path) as handle:
        specs = yaml.safe_load(handle) or {}
    return ((specs.get("argument_specs") or {}).get("main") or {}).get("options") or {}


def check_role(role, values):
    """Problems with the role variables set for this host, each naming the variable."""
    options = role_options(role)
    present = dict((name, values[name]) for name in options if name in values)
    problems = []
    for name, value in sorted(present.items()):
        found = numbers_out_of_range(name, value)
        if found:
            problems.extend(found)
            del present[name]  # Ansible's own int check raises OverflowError on infinity
    spec = dict((name, dict(option)) for name, option in options.items() if name in present)
    for option in spec.values():
        option.pop("description", None)
        option.pop("default", None)
        option.pop("required", None)
    result = ArgumentSpecValidator(spec).validate(present)
    problems.extend("%s: %s" % (role, message) for message in result.error_messages)
    return problems


def check_workload(declared):
    problems = numbers_out_of_range("acceptq_workload", declared)
    if problems:
        return problems
    try:
        effective_workload(declared)
    except PolicyError as exc:
        text = str(exc)
        return [text if text.startswith("acceptq_workload") else "acceptq_workload: %s" % text]
    return []


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _VALID_ARGS = frozenset(("roles", "workload"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        roles = self._task.args.get("roles") or []
        problems = check_workload(self._task.args.get("workload") or {})
        for role in roles:
            if not os.path.isfile(os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")):
                problems.append("%s: no such role in acceptq.remediation" % role)
                continue
            values = {}
            for name in role_options(role):
                if name in task_vars:
                    values[name] = self._templar.template(task_vars[name])
            problems.extend(check_role(role, values))
        result.update(changed=False, problems=problems)
        if problems:
            result.update(
                failed=True,
                msg="%d declared input(s) refused: %s" % (len(problems), "; ".join(problems)),
            )
        return result
