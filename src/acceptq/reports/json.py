"""The JSON report: the findings list with each host's status (and evidence when asked for)."""

from __future__ import annotations

import json


def render(report) -> str:
    return json.dumps(report.document(with_evidence=report_evidence(report)), indent=2, sort_keys=True) + "\n"


def report_evidence(report) -> bool:
    return any(host.evidence is not None for host in report.hosts.values())
