"""acceptq scan: the audit's rules on local files, without Ansible (for CI gates).

Each concern that can judge files offline has a ``scan`` module in its
package (plugins/module_utils/<concern>/scan.py) with ``claims(path) -> bool``
(whether the path is its kind of input: an nginx configuration or dump, a PHP
source tree) and ``scan(paths, workload) -> (findings, errors)``; errors are
dicts with ``path``, ``line`` (or None) and ``message``. One command serves
every concern: a path no concern claims is an error naming it.
"""

from __future__ import annotations

import importlib
import os


def scanners():
    """(concern name, scan module) for every registered concern that scans offline."""
    from ansible_collections.acceptq.remediation.plugins.module_utils import concerns

    package = concerns.__name__.rsplit(".", 1)[0]
    found = []
    for name, _collector in concerns.CONCERNS:
        module_name = "%s.%s.scan" % (package, name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found.append((name, module))
    return found


def run_scan(paths: list[str], workload: dict | None = None):
    """(findings most severe first, errors) over the given paths."""
    findings, errors = [], []
    existing = []
    for path in paths:
        if not os.path.exists(path):
            errors.append({"path": path, "line": None, "message": "no such file or directory"})
        else:
            existing.append(path)
    claimed = set()
    for _name, module in scanners():
        mine = [path for path in existing if module.claims(path)]
        if not mine:
            continue
        claimed.update(mine)
        found, failed = module.scan(mine, workload)
        findings.extend(found)
        errors.extend(failed)
    for path in existing:
        if path not in claimed:
            errors.append(
                {
                    "path": path,
                    "line": None,
                    "message": "not a kind of input acceptq scans (an nginx configuration or `nginx -T` dump, "
                    "a logrotate configuration, or PHP source)",
                }
            )
    findings.sort(key=lambda finding: finding.sort_key())
    return findings, errors
