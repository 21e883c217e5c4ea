"""The table report: what was read on each host (when the evidence is there) and the findings."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

SEVERITY_STYLES = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "cyan"}


def render_overview(hosts, console: Console) -> None:
    """What was read on each host: the kernel limits, counters and listeners."""
    for name, host in sorted(hosts.items()):
        evidence = host.evidence or {}
        kernel = evidence.get("kernel") or {}
        sysctls = kernel.get("sysctls") or {}
        counters = kernel.get("counters") or {}
        if not kernel and not evidence.get("sockets"):
            continue
        console.print("[bold]%s[/] %s" % (name, kernel.get("netns") or ""))
        console.print("  " + "  ".join("%s=%s" % (key.rsplit(".", 1)[-1], value) for key, value in sysctls.items()))
        console.print("  " + "  ".join("%s=%s" % item for item in counters.items()))
        listeners = (evidence.get("sockets") or {}).get("listeners") or []
        table = Table(show_edge=False, box=None, pad_edge=False)
        for column in ("listener", "owner", "queue", "limit"):
            table.add_column(column, justify="right" if column in ("queue", "limit") else "left")
        for listener in listeners:
            owner = listener.get("owner") or {}
            table.add_row(
                listener["local"],
                "%s/%s" % (owner.get("name"), owner.get("pid")) if owner else "-",
                str(listener.get("queue_depth")),
                str(listener.get("backlog_limit")),
            )
        if listeners:
            console.print(table)


def render_findings(report, console: Console) -> None:
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import summarize

    findings = report.findings
    table = Table(title="acceptq findings", show_lines=True, expand=False)
    for column, style in (("severity", None), ("id", "bold"), ("host", None), ("observed", None), ("fix", "dim")):
        table.add_column(column, style=style, overflow="fold")
    for finding in findings:
        style = SEVERITY_STYLES.get(finding.severity, "")
        table.add_row(
            "[%s]%s[/]" % (style, finding.severity) if style else finding.severity,
            finding.id,
            finding.host,
            finding.observed,
            finding.fix,
        )
    if findings:
        console.print(table)
    counts = summarize(findings)
    console.print(
        "%d finding(s) on %d host(s): %s"
        % (
            len(findings),
            len(report.hosts),
            ", ".join("%d %s" % (counts[name], name) for name in reversed(list(counts))),
        )
    )
    if not report.complete:
        console.print("[bold red]INCOMPLETE[/]: %s" % report.incomplete_reason)


def render(report, console: Console | None = None) -> str:
    """The table as text (console None), or printed on a terminal console with colour."""
    target = console or Console(file=io.StringIO(), width=160, no_color=True, highlight=False)
    render_overview(report.hosts, target)
    render_findings(report, target)
    return "" if console else target.file.getvalue()
