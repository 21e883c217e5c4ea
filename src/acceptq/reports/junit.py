"""JUnit XML: one testsuite per host, one testcase per rule and judged object.

CI systems (GitLab, Jenkins, Azure DevOps) show it as a test report: a
finding is a failing testcase, a rule with no finding on the host a passing
one, a host that was not audited an error. Names are unique within a suite
and every testcase has a classname, as GitLab requires.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from acceptq.reports._identity import location, object_key

# Characters XML 1.0 cannot carry at all (a hostile file's bytes can reach a message).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def _registry_rules():
    from ansible_collections.acceptq.remediation.plugins.module_utils import registry

    return [rule for concern in registry.CONCERNS for rule in concern.rules]


def _failure_text(finding) -> str:
    path, line = location(finding)
    lines = [
        "%s %s on %s" % (finding.severity, finding.id, finding.host),
        "observed: %s" % finding.observed,
        "expected: %s" % finding.expected,
        "fix: %s" % finding.fix,
    ]
    if path:
        lines.append("file: %s%s" % (path, ":%d" % line if line else ""))
    return "\n".join(lines)


def _suite(name: str, cases: list[tuple[str, str, ET.Element | None]]) -> ET.Element:
    suite = ET.Element("testsuite", name=_xml(name))
    seen = {}
    counts = {"failure": 0, "error": 0}
    for classname, case_name, outcome in cases:
        key = (classname, case_name)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:  # two objects with the same name: keep the names unique
            case_name = "%s (#%d)" % (case_name, seen[key])
        case = ET.SubElement(suite, "testcase", classname=_xml(classname), name=_xml(case_name), time="0")
        if outcome is not None:
            case.append(outcome)
            counts[outcome.tag] += 1
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(counts["failure"]))
    suite.set("errors", str(counts["error"]))
    suite.set("skipped", "0")
    suite.set("time", "0")
    return suite


def render(report) -> str:
    document = report.document(with_evidence=False)
    by_host = {}
    for finding in report.findings:
        by_host.setdefault(finding.host or report.command, []).append(finding)
    hosts = sorted(set(report.hosts) | set(by_host))
    rules = _registry_rules()
    root = ET.Element("testsuites", name="acceptq %s" % report.command)
    for host in hosts:
        cases = []
        failing = set()
        for finding in by_host.get(host, []):
            failing.add(finding.id)
            failure = ET.Element("failure", message=_xml(finding.observed), type=finding.severity)
            failure.text = _xml(_failure_text(finding))
            cases.append(("acceptq.%s.%s" % (finding.concern, finding.id), object_key(finding) or host, failure))
        status = report.hosts[host].status if host in report.hosts else "ok"
        if host in document["not_audited"] or status in ("pending", "running"):
            error = ET.Element("error", message="not audited", type="incomplete")
            error.text = _xml(report.incomplete_reason or "the run stopped before this host was audited")
            cases.append(("acceptq.host", "audit", error))
        elif report.command == "audit" and status == "ok":
            # The rules judged on the host and found nothing: passing testcases.
            for rule in rules:
                if rule.scope == "host" and rule.id not in failing:
                    cases.append(("acceptq.%s.%s" % (rule.concern, rule.id), rule.title, None))
        if not cases:
            cases.append(("acceptq.%s" % report.command, "no findings", None))
        root.append(_suite(host, cases))
    if not hosts:
        root.append(_suite(report.command, [("acceptq.%s" % report.command, "no findings", None)]))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root:
        for key in totals:
            totals[key] += int(suite.get(key))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
