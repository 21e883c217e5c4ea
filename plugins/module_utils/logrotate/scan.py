# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""acceptq scan for logrotate: the audit's parser and configuration rules on local files.

A PATH is a main logrotate.conf (its includes read from disk as logrotate
reads them, with its taboo list), a directory holding logrotate.conf, a
logrotate.d directory, or one stanza file. Only the rules that judge the
configuration itself run (errors logrotate -d prints or lets pass, reloads
and restarts in scripts, signals without sharedscripts): schedules, sizes and
the fleet need a host. A path that cannot be read is an error naming it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import collect as _collect
from ansible_collections.acceptq.remediation.plugins.module_utils.logrotate import rules as _rules

_PEEK = 64 * 1024
_BLOCK = re.compile(r"""^\s*["']?/[^{}]*\{\s*$""")
_DIRECTIVE = re.compile(r"^\s*(daily|weekly|monthly|yearly|rotate|compress|missingok|notifempty|include|create)\b")


def _looks_like_logrotate(path):
    try:
        with open(path, "rb") as handle:
            text = handle.read(_PEEK).decode("utf-8", "replace")
    except (IOError, OSError):
        return False
    if "\0" in text:
        return False
    lines = [line for line in text.split("\n") if line.strip() and not line.strip().startswith("#")]
    return any(_BLOCK.match(line) for line in lines) or (bool(lines) and all(_DIRECTIVE.match(line) for line in lines))


def claims(path):
    if os.path.isdir(path):
        return os.path.basename(os.path.normpath(path)) == "logrotate.d" or os.path.isfile(
            os.path.join(path, "logrotate.conf")
        )
    name = os.path.basename(path)
    in_dropin_dir = os.path.basename(os.path.dirname(os.path.abspath(path))) == "logrotate.d"
    return (name == "logrotate.conf" or in_dropin_dir or name.endswith(".logrotate")) and _looks_like_logrotate(path)


def section_for(path):
    """The evidence section the collector would ship for this configuration (no host parts)."""
    reader = _collect._Reader([], "logrotate")
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "logrotate.conf")):
        path = os.path.join(path, "logrotate.conf")
    if os.path.isdir(path):
        # A logrotate.d directory alone: as the stock logrotate.conf includes it.
        main = os.path.join(path, "..", "(logrotate.conf)")
        reader.files[main] = {"text": "include %s\n" % path, "error": None, "truncated": False}
        config = _collect.collect_config(reader, main)
    else:
        config = _collect.collect_config(reader, path)
    return {"binary": "logrotate", "config": config, "files": reader.files, "logs": {"live": [], "rotated": []}}


def scan(paths, workload=None):
    """(findings, errors) over logrotate configurations; errors are {"path", "line", "message"}."""
    from ansible_collections.acceptq.remediation.plugins.module_utils.registry import effective_policy

    policy = effective_policy(None)
    policy["workload"], policy["fleet"] = workload, None
    findings, errors = [], []
    for path in paths:
        section = section_for(path)
        record = section["files"].get(section["config"]["main"]) or {}
        if record.get("error"):
            errors.append({"path": path, "line": None, "message": record["error"]})
            continue
        evidence = {"logrotate": section}
        for check in (_rules.check_config, _rules.check_scripts):
            findings.extend(check(path, evidence, policy))
    findings.sort(key=lambda finding: finding.sort_key())
    return findings, errors
