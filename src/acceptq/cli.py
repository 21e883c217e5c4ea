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
EXIT_CODES = """exit codes:
  0    no finding at or above --fail-on (remediate: every host applied or had nothing to do)
  1    a finding at or above --fail-on (with --baseline or diff: a new one);
       remediate: a host failed or refused, with its reason
  2    usage: bad arguments, an inventory Ansible cannot parse, --limit matching no host,
       a file that cannot be read or written
  3    the audit could not run or stopped before the fleet was judged (no host is reported clean)
  130  interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM): never a success; a report
       written with --output says it is incomplete and lists the hosts not audited"""
SEVERITY_STYLES = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "cyan"}


class UsageError(Exception):
    pass


def add_fail_on(parser: argparse.ArgumentParser, text: str | None = None) -> None:
    parser.add_argument(
        "--fail-on",
        default="error",
        choices=("info", "warning", "error", "critical", "none"),
        help=text or "exit 1 when a finding at or above this severity exists (default: error)",
    )


def add_baseline(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        metavar="OLD.json",
        help="a JSON report of known findings: they are still reported, but only findings new since it "
        "decide the exit code (gate on regressions in a fleet with known debt)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acceptq", description=__doc__, epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version="acceptq %s" % __version__)
    commands = parser.add_subparsers(dest="command", required=True)
    subcommand = dict(epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)

    audit = commands.add_parser("audit", help="audit hosts and report findings", **subcommand)
    audit.add_argument("-i", "--inventory", help="inventory file or directory (default: this machine)")
    audit.add_argument("-l", "--limit", help="host pattern to audit")
    audit.add_argument("--format", choices=REPORT_FORMATS, default="table")
    audit.add_argument(
        "--evidence", action="store_true", help="carry each host's raw evidence in the JSON report (the table has it)"
    )
    audit.add_argument("-o", "--output", help="write the report to this file instead of standard output")
    add_fail_on(audit)
    add_baseline(audit)

    scan = commands.add_parser(
        "scan",
        help="judge local nginx and logrotate configurations and PHP source with the audit's rules, without Ansible",
        **subcommand,
    )
    scan.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="an nginx.conf, an `nginx -T` dump, a logrotate.conf or logrotate.d, or a PHP tree",
    )
    scan.add_argument("--workload", help="a YAML file holding acceptq_workload (or the mapping itself)")
    scan.add_argument("--format", choices=REPORT_FORMATS, default="table")
    scan.add_argument("-o", "--output", help="write the report to this file instead of standard output")
    add_fail_on(scan)
    add_baseline(scan)

    diff = commands.add_parser("diff", help="compare two JSON reports: new, fixed and unchanged findings", **subcommand)
    diff.add_argument("old", metavar="OLD.json", help="the earlier report (acceptq audit/scan --format json)")
    diff.add_argument("new", metavar="NEW.json", help="the later report")
    diff.add_argument("--format", choices=("table", "json"), default="table")
    add_fail_on(diff, "exit 1 when a NEW finding at or above this severity exists (default: error)")

    rules = commands.add_parser("rules", help="list every finding id the audit can report, from the rule registry")
    rules.add_argument("--format", choices=("table", "json", "markdown"), default="table")

    remediate = commands.add_parser(
        "remediate", help="apply the remediation roles (playbooks/remediate.yml)", **subcommand
    )
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
            # The whole message: a refusal's reason is often on its later lines.
            detail = ":\n    " + host.message.strip().replace("\n", "\n    ")
        console.print("%s %s %s%s" % (marks.get(host.status, "?"), host.name, host.status, detail), markup=False)

    return show


def read_report(path: Path) -> dict | None:
    """The audit's report as the judging task wrote it, or None when it never got that far."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise UsageError("the audit's report %s is not valid JSON: %s" % (path, exc)) from None


def warning_printer(console: Console):
    def show(text: str) -> None:
        console.print(text, markup=False, style="yellow")

    return show


def targeted_hosts(root: Path, inventory: str, limit: str | None, progress: Console) -> list[str]:
    """The hosts a run targets; an unparsable inventory or a --limit matching nothing is a usage error."""
    from acceptq.runner import InventoryError, list_hosts

    try:
        hosts = list_hosts(root, inventory, limit)
    except InventoryError as exc:
        raise UsageError("the inventory %s cannot be used; Ansible says:\n%s" % (inventory, exc)) from None
    if not hosts:
        raise UsageError("no hosts matched (inventory %s%s)" % (inventory, ", limit %s" % limit if limit else ""))
    shown = ", ".join(hosts[:20]) + (", … (%d more)" % (len(hosts) - 20) if len(hosts) > 20 else "")
    progress.print("%d host(s): %s" % (len(hosts), shown), markup=False, highlight=False)
    return hosts


def emit(report, args) -> None:
    """The report in the requested format, to --output (atomically) or standard output."""
    from acceptq import reports

    if args.format == "table" and not args.output:
        from acceptq.reports import table as table_report

        table_report.render(report, Console(highlight=False))
        return
    if args.format == "json" and not getattr(args, "evidence", False):
        for host in report.hosts.values():
            host.evidence = None
    text = reports.render(args.format, report)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)


def apply_baseline(report, path: str | None, progress: Console):
    """Mark findings new or unchanged against a baseline report; the findings that decide the exit code."""
    if not path:
        return report.findings
    from acceptq.diff import ReportError, load_findings, mark

    try:
        baseline, _document = load_findings(path)
    except ReportError as exc:
        raise UsageError("--baseline: %s" % exc) from None
    comparison = mark(report.findings, baseline)
    report.baseline = dict(path=path, **comparison.summary())
    progress.print("baseline %s: %d new, %d unchanged, %d fixed" % (path, *comparison.summary().values()), markup=False)
    return comparison.new


def command_audit(args, root: Path) -> int:
    import tempfile

    from acceptq.report import HostState, Report
    from acceptq.runner import run_playbook
    from acceptq.signals import Interrupted
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import Finding, at_or_above

    inventory = resolve_inventory(root, args.inventory)
    if args.output and not Path(args.output).expanduser().parent.is_dir():
        raise UsageError("cannot write %s: directory %s does not exist" % (args.output, Path(args.output).parent))
    progress = Console(stderr=True, highlight=False, soft_wrap=True)
    progress.print("acceptq audit: inventory %s%s" % (inventory, ", limit %s" % args.limit if args.limit else ""))
    targets = targeted_hosts(root, inventory, args.limit, progress)
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
            on_warning=warning_printer(progress),
        )
        document = read_report(report_path)
    if run.interrupted is not None and document is None:
        # Stopped before the fleet was judged: say so, in the report too, and never exit 0.
        stopped = Interrupted(run.interrupted)
        hosts = {}
        for name in targets:
            seen = run.hosts.get(name)
            if seen is None or seen.status == "pending":
                message = "not reached"
            elif seen.status == "running":
                message = "interrupted while gathering evidence"
            elif seen.status == "ok":
                message = "evidence gathered, not judged"
            else:
                message = "%s: %s" % (seen.status, seen.message)
            hosts[name] = HostState(name, "not audited", message)
        report = Report([], hosts, command="audit", inventory=inventory, limit=args.limit, complete=False)
        report.incomplete_reason = "interrupted by %s before the fleet was judged" % stopped.name
        progress.print(
            "[red]acceptq: %s; not audited: %s[/]" % (report.incomplete_reason, ", ".join(targets)),
        )
        if args.output:
            emit(report, args)
            progress.print("acceptq: partial report written to %s" % args.output)
        return stopped.exit_code
    if run.errors:
        progress.print("[red]acceptq: the audit could not run:[/]")
        progress.print("\n".join(run.errors), markup=False)
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
    gating = apply_baseline(report, args.baseline, progress)
    emit(report, args)
    if args.output:
        progress.print("acceptq: report written to %s" % args.output)
    if run.interrupted is not None:  # judged, but the run was still stopped: not a success
        return Interrupted(run.interrupted).exit_code
    if args.fail_on != "none" and at_or_above(gating, args.fail_on):
        return EXIT_FINDINGS
    return EXIT_OK


def command_remediate(args, root: Path) -> int:
    from acceptq.runner import run_playbook
    from acceptq.signals import Interrupted

    inventory = resolve_inventory(root, args.inventory)
    flags = " ".join(flag for flag, wanted in (("--check", args.check), ("--diff", args.diff)) if wanted)
    progress = Console(stderr=True, highlight=False, soft_wrap=True)
    progress.print("acceptq remediate: inventory %s%s" % (inventory, " (%s)" % flags if flags else ""))
    targets = targeted_hosts(root, inventory, args.limit, progress)
    output = Console(highlight=False, soft_wrap=True)

    def show_diff(host: str, task: str, text: str) -> None:
        output.print("--- %s: %s" % (host, task), markup=False, style="bold")
        for line in text.splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            output.print(line, markup=False, style=style)

    run = run_playbook(
        root,
        "remediate.yml",
        inventory,
        limit=args.limit,
        cmdline=flags or None,
        on_host=progress_printer(progress),
        on_warning=warning_printer(progress),
        on_diff=show_diff if args.diff else None,
    )
    if run.interrupted is not None:
        stopped = Interrupted(run.interrupted)
        untouched = [name for name in targets if name not in run.hosts or run.hosts[name].status == "pending"]
        progress.print(
            "[red]acceptq: remediation interrupted by %s[/]; hosts it never reached: %s"
            % (stopped.name, ", ".join(untouched) or "none"),
        )
        return stopped.exit_code
    if run.errors:
        progress.print("[red]acceptq: remediation could not run:[/]")
        progress.print("\n".join(run.errors), markup=False)
        return EXIT_AUDIT_FAILED
    if run.no_hosts_matched or not run.hosts:
        progress.print("[red]acceptq: no hosts matched[/]")
        return EXIT_USAGE
    failed = [host for host in run.hosts.values() if host.status in ("failed", "unreachable")]
    # A host the run never reached because an earlier batch failed is not remediated either.
    unreached = [name for name in targets if name not in run.hosts]
    for host in failed:
        progress.print("[red]✗ %s %s[/]" % (host.name, host.status))
        progress.print("    " + (host.message.strip() or host.status).replace("\n", "\n    "), markup=False)
    if unreached:
        progress.print("[red]not remediated (the run stopped before them):[/] %s" % ", ".join(unreached))
    return EXIT_FINDINGS if failed or unreached else EXIT_OK


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
    gating = apply_baseline(report, args.baseline, Console(stderr=True, highlight=False, soft_wrap=True))
    emit(report, args)
    if errors and not findings:
        return EXIT_AUDIT_FAILED
    if args.fail_on != "none" and at_or_above(gating, args.fail_on):
        return EXIT_FINDINGS
    return EXIT_AUDIT_FAILED if errors else EXIT_OK


def command_diff(args) -> int:
    from acceptq.diff import ReportError, compare, load_findings
    from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import at_or_above

    try:
        old, _old_document = load_findings(args.old)
        new, _new_document = load_findings(args.new)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    comparison = compare(old, new)
    if args.format == "json":
        document = {
            "old": args.old,
            "new": args.new,
            "summary": comparison.summary(),
            "new_findings": [finding.to_dict() for finding in comparison.new],
            "fixed_findings": [finding.to_dict() for finding in comparison.fixed],
            "unchanged_findings": [finding.to_dict() for finding in comparison.unchanged],
        }
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        console = Console(highlight=False)
        for label, style, findings in (("new", "red", comparison.new), ("fixed", "green", comparison.fixed)):
            for finding in findings:
                line = "%-5s %-8s %s %s: %s" % (label, finding.severity, finding.id, finding.host, finding.observed)
                console.print(line, markup=False, style=style)
        console.print("%(new)d new, %(fixed)d fixed, %(unchanged)d unchanged" % comparison.summary())
    if args.fail_on != "none" and at_or_above(comparison.new, args.fail_on):
        return EXIT_FINDINGS
    return EXIT_OK


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
    from acceptq import signals

    signals.install()
    try:
        args = build_parser().parse_args(argv)
        root = collection_root()
        import_shared(root)
        if args.command == "diff":
            return command_diff(args)
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
    except signals.Interrupted as exc:
        print("acceptq: interrupted (%s)" % exc.name, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # a SIGINT that arrived before our handler was in place
        print("acceptq: interrupted (SIGINT)", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback: say what broke and where
        import traceback

        frame = traceback.extract_tb(exc.__traceback__)[-1]
        print(
            "acceptq: internal error: %s: %s (at %s:%d); please report it"
            % (type(exc).__name__, exc, frame.filename, frame.lineno),
            file=sys.stderr,
        )
        return EXIT_AUDIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
