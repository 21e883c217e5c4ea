"""acceptq command line: audit (and remediate) through the collection's playbooks."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from acceptq import __version__
from acceptq.collection import CollectionNotFound, collection_root, import_shared

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_AUDIT_FAILED = 0, 1, 2, 3
SEVERITY_STYLES = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "cyan"}


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acceptq", description=__doc__)
    parser.add_argument("--version", action="version", version="acceptq %s" % __version__)
    commands = parser.add_subparsers(dest="command", required=True)

    audit = commands.add_parser("audit", help="audit hosts and report findings")
    audit.add_argument("-i", "--inventory", help="inventory file or directory (default: this machine)")
    audit.add_argument("-l", "--limit", help="host pattern to audit")
    audit.add_argument("--format", choices=("table", "json"), default="table")
    audit.add_argument("-o", "--output", help="write the report to this file instead of standard output")
    audit.add_argument(
        "--fail-on",
        default="error",
        choices=("info", "warning", "error", "critical", "none"),
        help="exit 1 when a finding at or above this severity exists (default: error)",
    )

    rules = commands.add_parser("rules", help="list every finding id the audit can report, from the rule registry")
    rules.add_argument("--format", choices=("table", "json", "markdown"), default="table")

    remediate = commands.add_parser("remediate", help="apply the remediation roles (playbooks/remediate.yml)")
    remediate.add_argument("-i", "--inventory", help="inventory file or directory (default: this machine)")
    remediate.add_argument("-l", "--limit", help="host pattern to remediate")
    remediate.add_argument("-C", "--check", action="store_true", help="show what would change, change nothing")
    remediate.add_argument("-D", "--diff", action="store_true", help="show file differences")
    return parser


def resolve_inventory(root: Path, inventory: str | None) -> str:
    if not inventory:
        return str(root / "inventory" / "localhost.yml")
    if "," in inventory:  # an inline host list, as ansible-playbook takes it
        return inventory
    path = Path(inventory).expanduser()
    if not path.exists():
        raise UsageError("inventory not found: %s" % inventory)
    return str(path.resolve())


def write_atomically(path: str, text: str) -> None:
    from ansible_collections.acceptq.remediation.plugins.module_utils.facts import snapshot as _snapshot

    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise UsageError("cannot write %s: directory %s does not exist" % (path, target.parent))
    try:
        _snapshot.write_atomically(str(target), text)
    except OSError as exc:
        raise UsageError("cannot write %s: %s" % (path, exc.strerror or exc)) from None


def render_table(findings, hosts, console: Console) -> None:
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import summarize

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
        % (len(findings), len(hosts), ", ".join("%d %s" % (counts[name], name) for name in reversed(list(counts))))
    )


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


def report_document(findings, hosts, inventory: str, limit: str | None) -> dict:
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import summarize

    return {
        "acceptq_version": __version__,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "inventory": inventory,
        "limit": limit,
        "hosts": {
            name: {"status": host.status, "message": host.message, "evidence": host.evidence}
            for name, host in sorted(hosts.items())
        },
        "summary": summarize(findings),
        "findings": [finding.to_dict() for finding in findings],
    }


def progress_printer(console: Console):
    marks = {"running": "…", "ok": "✓", "failed": "✗", "unreachable": "✗"}

    def show(host) -> None:
        detail = ""
        if host.status in ("ok", "failed"):
            detail = " %d finding(s)" % len(host.findings)
        if host.message and host.status != "ok":
            detail += " (%s)" % host.message.strip().splitlines()[0][:120]
        console.print("%s %s %s%s" % (marks.get(host.status, "?"), host.name, host.status, detail))

    return show


def command_audit(args, root: Path) -> int:
    from acceptq.runner import run_playbook
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Finding, at_or_above
    from ansible_collections.acceptq.remediation.plugins.module_utils.host import rules as _checks_host

    inventory = resolve_inventory(root, args.inventory)
    if args.output and not Path(args.output).expanduser().parent.is_dir():
        raise UsageError("cannot write %s: directory %s does not exist" % (args.output, Path(args.output).parent))
    progress = Console(stderr=True, highlight=False)
    progress.print("acceptq audit: inventory %s%s" % (inventory, ", limit %s" % args.limit if args.limit else ""))
    run = run_playbook(root, "audit.yml", inventory, limit=args.limit, on_host=progress_printer(progress))
    if run.errors:
        progress.print("[red]acceptq: the audit could not run:[/]\n%s" % "\n".join(run.errors))
        return EXIT_AUDIT_FAILED
    if run.no_hosts_matched or not run.hosts:
        progress.print("[red]acceptq: no hosts matched[/] (inventory %s, limit %s)" % (inventory, args.limit))
        return EXIT_USAGE

    findings = []
    for host in run.hosts.values():
        findings.extend(Finding.from_dict(item) for item in host.findings)
        if host.status == "unreachable":
            findings.append(_checks_host.unreachable(host.name, host.message))
        elif host.status == "failed" and not host.findings:
            findings.append(_checks_host.gather_failed(host.name, host.message))
    findings.sort(key=lambda finding: finding.sort_key())

    if args.format == "json":
        text = json.dumps(report_document(findings, run.hosts, inventory, args.limit), indent=2, sort_keys=True)
        if args.output:
            write_atomically(args.output, text + "\n")
        else:
            print(text)
    else:
        if args.output:
            file_console = Console(file=__import__("io").StringIO(), width=160, no_color=True)
            render_overview(run.hosts, file_console)
            render_table(findings, run.hosts, file_console)
            write_atomically(args.output, file_console.file.getvalue())
        else:
            console = Console(highlight=False)
            render_overview(run.hosts, console)
            render_table(findings, run.hosts, console)
    if args.output:
        progress.print("acceptq: report written to %s" % args.output)
    if args.fail_on != "none" and at_or_above(findings, args.fail_on):
        return EXIT_FINDINGS
    return EXIT_OK


def command_remediate(args, root: Path) -> int:
    from acceptq.runner import run_playbook

    inventory = resolve_inventory(root, args.inventory)
    flags = " ".join(flag for flag, wanted in (("--check", args.check), ("--diff", args.diff)) if wanted)
    progress = Console(stderr=True, highlight=False)
    progress.print("acceptq remediate: inventory %s%s" % (inventory, " (%s)" % flags if flags else ""))
    run = run_playbook(
        root, "remediate.yml", inventory, limit=args.limit, cmdline=flags or None, on_host=progress_printer(progress)
    )
    if run.errors:
        progress.print("[red]acceptq: remediation could not run:[/]\n%s" % "\n".join(run.errors))
        return EXIT_AUDIT_FAILED
    if run.no_hosts_matched or not run.hosts:
        progress.print("[red]acceptq: no hosts matched[/]")
        return EXIT_USAGE
    failed = [host.name for host in run.hosts.values() if host.status in ("failed", "unreachable")]
    return EXIT_FINDINGS if failed else EXIT_OK


def command_rules(args) -> int:
    from ansible_collections.acceptq.remediation.plugins.module_utils import registry

    if args.format == "markdown":
        sys.stdout.write(registry.findings_markdown())
        return EXIT_OK
    rules = [rule for concern in registry.CONCERNS for rule in concern.rules]
    if args.format == "json":
        document = [
            {
                "id": rule.id,
                "concern": rule.concern,
                "severity": rule.severity,
                "title": rule.title,
                "scope": rule.scope,
                "needs": list(rule.needs),
                "policy": list(rule.policy),
                "explanation": rule.explanation,
            }
            for rule in rules
        ]
        print(json.dumps(document, indent=2))
        return EXIT_OK
    table = Table(title="acceptq rules", show_lines=False)
    for column in ("id", "severity", "scope", "title"):
        table.add_column(column, overflow="fold")
    for rule in rules:
        table.add_row(rule.id, rule.severity, rule.scope, rule.title)
    Console(highlight=False).print(table)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        root = collection_root()
        import_shared(root)
        if args.command == "audit":
            return command_audit(args, root)
        if args.command == "rules":
            return command_rules(args)
        return command_remediate(args, root)
    except (UsageError, CollectionNotFound) as exc:
        print("acceptq: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("acceptq: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
