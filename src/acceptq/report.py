"""One audit's (or scan's) result: the findings list every report, exit code and metric is a view of."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from acceptq import __version__


@dataclass
class HostState:
    name: str
    status: str = "pending"  # pending, running, ok, failed, unreachable, not audited
    message: str = ""
    evidence: dict | None = None


@dataclass
class Report:
    findings: list  # of core.findings.Finding, most severe first
    hosts: dict[str, HostState] = field(default_factory=dict)
    command: str = "audit"
    inventory: str | None = None
    limit: str | None = None
    complete: bool = True
    # Why the run is incomplete (interrupted, a host not audited), for the reader.
    incomplete_reason: str = ""
    # Against --baseline: its path and the new/unchanged/fixed counts (each finding's baseline_state).
    baseline: dict | None = None
    generated_at: str = field(default_factory=lambda: datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))

    def document(self, with_evidence: bool = True) -> dict:
        from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import summarize

        hosts = {}
        for name, host in sorted(self.hosts.items()):
            hosts[name] = {"status": host.status, "message": host.message}
            if with_evidence and host.evidence is not None:
                hosts[name]["evidence"] = host.evidence
        return {
            "acceptq_version": __version__,
            "command": self.command,
            "generated_at": self.generated_at,
            "inventory": self.inventory,
            "limit": self.limit,
            "complete": self.complete,
            "incomplete_reason": self.incomplete_reason,
            "not_audited": sorted(
                name for name, host in self.hosts.items() if host.status in ("pending", "running", "not audited")
            ),
            "hosts": hosts,
            "summary": summarize(self.findings),
            "findings": [_finding_dict(finding) for finding in self.findings],
            **({"baseline": self.baseline} if self.baseline else {}),
        }


def _finding_dict(finding) -> dict:
    data = finding.to_dict()
    if getattr(finding, "baseline_state", None):
        data["baseline_state"] = finding.baseline_state
    return data
