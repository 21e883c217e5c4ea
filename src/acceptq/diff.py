"""Compare two reports: what is new, what was fixed, what stayed.

A finding is matched by what it is about (rule, host, judged object: see
reports/_identity.py), not by its wording, line number or counter values,
so a configuration that moved or a counter that rose does not read as a new
problem. ``acceptq diff OLD NEW`` prints the comparison; ``--baseline OLD``
on audit and scan gates only on what is new since OLD.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from acceptq.reports._identity import identity


class ReportError(ValueError):
    """A report file that cannot be read, named with its path."""


@dataclass
class Comparison:
    new: list  # findings of the newer report not in the older one
    fixed: list  # findings of the older report no longer reported
    unchanged: list  # findings of the newer report already in the older one

    def summary(self) -> dict:
        return {"new": len(self.new), "fixed": len(self.fixed), "unchanged": len(self.unchanged)}


def load_findings(path: str) -> tuple[list, dict]:
    """(findings, the report document) from a JSON report acceptq wrote."""
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Finding

    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError as exc:
        raise ReportError("%s is not UTF-8 text (byte %d): not an acceptq JSON report" % (path, exc.start)) from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ReportError("%s:%d: not valid JSON: %s" % (path, exc.lineno, exc.msg)) from None
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise ReportError("%s: not an acceptq JSON report (no findings list; write one with --format json)" % path)
    findings = []
    for position, item in enumerate(document["findings"]):
        try:
            if not isinstance(item, dict):
                raise ValueError("not an object")
            findings.append(Finding.from_dict(item))
        except (ValueError, TypeError) as exc:
            raise ReportError("%s: findings[%d]: %s" % (path, position, exc)) from None
    return findings, document


def compare(old: list, new: list) -> Comparison:
    """Match findings by identity; the same identity twice counts twice."""
    remaining = Counter(identity(finding) for finding in old)
    fresh, unchanged = [], []
    for finding in new:
        key = identity(finding)
        if remaining[key] > 0:
            remaining[key] -= 1
            unchanged.append(finding)
        else:
            fresh.append(finding)
    fixed = []
    for finding in old:
        key = identity(finding)
        if remaining[key] > 0:
            remaining[key] -= 1
            fixed.append(finding)
    return Comparison(new=fresh, fixed=fixed, unchanged=unchanged)


def mark(findings: list, baseline: list) -> Comparison:
    """Set each finding's baseline_state (SARIF's word: new or unchanged) against a baseline."""
    comparison = compare(baseline, findings)
    for finding in comparison.new:
        finding.baseline_state = "new"
    for finding in comparison.unchanged:
        finding.baseline_state = "unchanged"
    return comparison
