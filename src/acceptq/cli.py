"""acceptq command line: audit (and remediate) through the collection's playbooks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from acceptq import __version__
from acceptq.collection import CollectionNotFound, collection_root, import_shared
from acceptq.reports import FORMATS as REPORT_FORMATS

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_AUDIT_FAILED = 0, 1, 2, 3
SEVERITY_STYLES = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "cyan"}


class UsageError(Exception):
    pass


def add_fail_on(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on",
        default="error",
        choices=("info", "warning", "error", "critical", "none"),
        help="exit 1 when a finding at or above this severity exists (default: error)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acceptq", description=__doc__)
    parser.add_argument("--version", action="version", version="acceptq %s" % __version__)
    commands = parser.add_subparsers(dest="command", required=True)

    audit = commands.add_parser("audit", help="audit hosts and report findings")
    audit.add_argument("-i", "--inventory", help="inventory file or directory (default: this machine)")
    audit.add_argument("-l", "--limit", help="host pattern to audit")
    audit.add_argument("--format", choices=REPORT_FORMATS, default="table")
    audit.add_argument(
        "--evidence", action="store_true", help="carry each host's raw evidence in the JSON report (the table has it)"
    )
    audit.add_argument("-o", "--output", help="write the report to this file instead of standard output")
    add_fail_on(audit)

    scan = commands.add_parser(
        "scan", help="judge local nginx configurations and PHP source with the audit's rules, without Ansible"
    )
    scan.add_argument("paths", nargs="+", metavar="PATH", help="an nginx.conf, an `nginx -T` dump, or a PHP tree")
    scan.add_argument("--workload", help="a YAML file holding acceptq_workload (or the mapping itself)")
    scan.add_argument("--format", choices=REPORT_FORMATS, default="table")
    scan.add_argument("-o", "--output", help="write the report to this file instead of standard output")
    add_fail_on(scan)

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


def progress_printer(console: Console):
    marks = {"running": "…", "ok": "✓", "failed": "✗", "unreachable": "✗"}

    def show(host) -> None:
        detail = ""
        if host.message and host.status != "ok":
            detail += " (%s)" % host.message.strip().splitlines()[0][:120]
        console.print("%s %s %s%s" % (marks.get(host.status, "?"), host.name, host.status, detail))

    return show


def read_report(path: Path) -> dict | None:
    """The audit's report as the judging task wrote it, or None when it never got that far."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise UsageError("the audit's report %s is not valid JSON: %s" % (path, exc)) from None


def command_audit(args, root: Path) -> int:
    import tempfile

    from acceptq import reports
    from acceptq.report import HostState, Report
    from acceptq.runner import run_playbook
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Finding, at_or_above

    inventory = resolve_inventory(root, args.inventory)
    if args.output and not Path(args.output).expanduser().parent.is_dir():
        raise UsageError("cannot write %s: directory %s does not exist" % (args.output, Path(args.output).parent))
    progress = Console(stderr=True, highlight=False)
    progress.print("acceptq audit: inventory %s%s" % (inventory, ", limit %s" % args.limit if args.limit else ""))
    with_evidence = args.evidence or args.format == "table"
    with tempfile.TemporaryDirectory(prefix="acceptq-audit-") as scratch:
        # The findings travel in a file the judging task writes, not in a task result:
        # ansible-runner drops results above ~700 kB, which would read as "no findings".
        report_path = Path(scratch) / "report.json"
        run = run_playbook(
            root,
            "audit.yml",
            inventory,
            limit=args.limit,
            extravars={"acceptq_report": str(report_path), "acceptq_report_evidence": with_evidence},
            on_host=progress_printer(progress),
        )
        document = read_report(report_path)
    if run.errors:
        progress.print("[red]acceptq: the audit could not run:[/]\n%s" % "\n".join(run.errors))
        return EXIT_AUDIT_FAILED
    if run.no_hosts_matched or (not run.hosts and document is None):
        progress.print("[red]acceptq: no hosts matched[/] (inventory %s, limit %s)" % (inventory, args.limit))
        return EXIT_USAGE
    if document is None:
        progress.print(
            "[red]acceptq: the audit stopped before the fleet was judged[/] (ansible-playbook exit %s, %s): "
            "no report, so no host is reported clean" % (run.rc, run.status)
        )
        return EXIT_AUDIT_FAILED

    findings = [Finding.from_dict(item) for item in document["findings"]]
    hosts = {}
    for name, state in document["hosts"].items():
        hosts[name] = HostState(name, state["status"], state.get("message", ""), state.get("evidence"))
    report = Report(findings, hosts, command="audit", inventory=inventory, limit=args.limit)
    if args.format == "table" and not args.output:
        from acceptq.reports import table as table_report

        table_report.render(report, Console(highlight=False))
    else:
        if args.format == "json" and not args.evidence:
            for host in report.hosts.values():
                host.evidence = None
        text = reports.render(args.format, report)
        if args.output:
            write_atomically(args.output, text)
        else:
            sys.stdout.write(text)
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


def load_workload(path: str | None) -> dict | None:
    """acceptq_workload from a YAML file (an inventory vars file, or the mapping alone)."""
    if not path:
        return None
    import yaml

    try:
        data = yaml.safe_load(Path(path).expanduser().read_text())
    except OSError as exc:
        raise UsageError("cannot read the workload %s: %s" % (path, exc.strerror or exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = "%s:%d" % (path, mark.line + 1) if mark else path
        raise UsageError("%s: not valid YAML: %s" % (where, getattr(exc, "problem", exc))) from None
    if isinstance(data, dict) and "acceptq_workload" in data:
        data = data["acceptq_workload"]
    if data is not None and not isinstance(data, dict):
        raise UsageError("%s: acceptq_workload must be a mapping" % path)
    return data


def command_scan(args) -> int:
    from acceptq import reports
    from acceptq.report import Report
    from acceptq.scan import run_scan
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import at_or_above
    from ansible_collections.acceptq.remediation.plugins.module_utils.registry import PolicyError, effective_workload

    try:
        workload = effective_workload(load_workload(args.workload))
    except PolicyError as exc:
        raise UsageError("%s: %s" % (args.workload, exc)) from None
    findings, errors = run_scan(args.paths, workload)
    for error in errors:
        where = error["path"] + (":%s" % error["line"] if error.get("line") else "")
        print("acceptq scan: %s: %s" % (where, error["message"]), file=sys.stderr)
    report = Report(findings, command="scan", complete=not errors)
    if errors:
        report.incomplete_reason = "%d input(s) could not be read or parsed" % len(errors)
    if args.format == "table" and not args.output:
        from acceptq.reports import table as table_report

        table_report.render(report, Console(highlight=False))
    else:
        text = reports.render(args.format, report)
        if args.output:
            write_atomically(args.output, text)
        else:
            sys.stdout.write(text)
    if errors and not findings:
        return EXIT_AUDIT_FAILED
    if args.fail_on != "none" and at_or_above(findings, args.fail_on):
        return EXIT_FINDINGS
    return EXIT_AUDIT_FAILED if errors else EXIT_OK


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
        if args.command == "scan":
            return command_scan(args)
        return command_remediate(args, root)
    except (UsageError, CollectionNotFound) as exc:
        print("acceptq: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("acceptq: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
