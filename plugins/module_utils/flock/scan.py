# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""acceptq scan for PHP: the flock concern's analysis on a local source tree, without Ansible.

The same walk (limits, symlink loops, vendor/ included) and the same
tree-sitter analysis as an audit; findings carry ``file`` and ``line`` in
their evidence. Bad input (binary or huge files, syntax errors, unreadable
directories) is an error naming the path, never a traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.acceptq.remediation.plugins.module_utils.flock import collect, rules

HOST = "scan"
_CLAIM_LOOK = 5000  # directory entries looked at to decide that a tree holds PHP


def claims(path):
    """A PHP file, a monolog YAML file, or a directory with PHP in it."""
    if os.path.isfile(path):
        return path.endswith(collect.PHP_SUFFIXES) or (path.endswith(collect.YAML_SUFFIXES) and "monolog" in path)
    if not os.path.isdir(path):
        return False
    looked = 0
    for _directory, dirs, names in os.walk(path):
        dirs[:] = [name for name in dirs if name not in collect.SKIP_DIRS]
        for name in names:
            if name.endswith(collect.PHP_SUFFIXES):
                return True
            looked += 1
        looked += len(dirs)
        if looked > _CLAIM_LOOK:
            return False
    return False


def scan(paths, workload=None, limits=None):
    """(findings, errors) over files and directories; errors are {"path", "line", "message"}."""
    walk = collect.Walk(limits)
    roots = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isdir(path):
            roots.append(path)
            walk.walk(path)
        elif os.path.isfile(path):
            roots.append(os.path.dirname(path))
            walk.file(path, collect.YAML_NEEDLES if path.endswith(collect.YAML_SUFFIXES) else collect.PHP_NEEDLES)
    mounts = collect.mount_types()
    for candidate in walk.candidates:
        candidate["fs"] = collect.fs_type(os.path.realpath(candidate["path"]), mounts)
    section = {"candidates": walk.candidates, "roots": [{"path": root} for root in roots]}
    hits, failures = rules.analyze_candidates(section)
    findings = [rules.hit_finding(HOST, hit, rules.display_path(hit.path, roots)) for hit in hits]
    errors = []
    for message in failures:
        errors.append(_split_location(message))
    for entry in walk.skipped:
        errors.append({"path": entry["path"], "line": None, "message": "skipped: %s" % entry["reason"]})
    for entry in walk.unreadable:
        errors.append({"path": entry["path"], "line": None, "message": "unreadable: %s" % entry["reason"]})
    if walk.truncated:
        errors.append(
            {"path": paths[0] if paths else "", "line": None, "message": "walk stopped early: %s" % walk.truncated}
        )
    return findings, errors


def _split_location(message):
    """{"path", "line", "message"} from the analysis' "path:line: message" (or "path: message")."""
    head, _sep, rest = message.partition(": ")
    path, _sep, line = head.rpartition(":")
    if path and line.isdigit():
        return {"path": path, "line": int(line), "message": rest}
    return {"path": head, "line": None, "message": rest}
