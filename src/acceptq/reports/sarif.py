"""SARIF 2.1.0: one run per audit (or scan), rule metadata from the rule registry.

Code-scanning services (GitHub, GitLab, Azure DevOps) read it. Each result
names its host (a logical location and a property), the file:line where the
finding has one, and a partialFingerprint built from the rule, the host and
the judged object (no line numbers), so the same problem keeps its identity
across runs.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from acceptq import __version__
from acceptq.reports._identity import fingerprint, location, object_key

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"critical": "error", "error": "error", "warning": "warning", "info": "note"}
FINGERPRINT = "acceptqFinding/v1"
HELP_URI = "https://example.invalid/acceptq/docs/findings.md#%s"


def _registry_rules():
    from ansible_collections.acceptq.remediation.plugins.module_utils import registry

    return [rule for concern in registry.CONCERNS for rule in concern.rules]


def _rule_descriptor(rule) -> dict:
    summary = rule.explanation.split("\n\n")[0].strip() or rule.title
    return {
        "id": rule.id,
        "name": rule.id.replace("-", ""),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": summary},
        "help": {"text": rule.explanation or rule.title, "markdown": rule.explanation or rule.title},
        "helpUri": HELP_URI % rule.id.lower(),
        "defaultConfiguration": {"level": LEVELS.get(rule.severity, "warning")},
        "properties": {"concern": rule.concern, "scope": rule.scope, "severity": rule.severity, "tags": [rule.concern]},
    }


def _result(finding, rule_index: int) -> dict:
    path, line = location(finding)
    where = {"logicalLocations": [{"name": finding.host, "kind": "resource"}]}
    if path:
        physical = {"artifactLocation": {"uri": quote(path, safe="/:@+-._~")}}
        if line:
            physical["region"] = {"startLine": line}
        where["physicalLocation"] = physical
    result = {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": "%s: %s" % (finding.host, finding.observed)},
        "locations": [where],
        "partialFingerprints": {FINGERPRINT: fingerprint(finding)},
        "properties": {
            "host": finding.host,
            "severity": finding.severity,
            "concern": finding.concern,
            "object": object_key(finding),
            "expected": finding.expected,
            "fix": finding.fix,
        },
    }
    state = getattr(finding, "baseline_state", None)
    if state:
        result["baselineState"] = state
    return result


def render(report) -> str:
    rules = _registry_rules()
    index = {rule.id: position for position, rule in enumerate(rules)}
    descriptors = [_rule_descriptor(rule) for rule in rules]
    for finding in report.findings:  # a finding whose rule is not registered still gets a descriptor
        if finding.id not in index:
            index[finding.id] = len(descriptors)
            descriptor = {"id": finding.id, "shortDescription": {"text": finding.title}}
            descriptors.append(dict(descriptor, properties={"concern": finding.concern}))
    notifications = []
    if not report.complete:
        document = report.document(with_evidence=False)
        text = "incomplete: %s" % (report.incomplete_reason or "the run did not finish")
        if document["not_audited"]:
            text += "; not audited: %s" % ", ".join(document["not_audited"])
        notifications.append({"level": "error", "message": {"text": text}})
    invocation = {"executionSuccessful": bool(report.complete), "properties": {"command": report.command}}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run = {
        "tool": {
            "driver": {
                "name": "acceptq",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": "https://example.invalid/acceptq",
                "rules": descriptors,
            }
        },
        "automationDetails": {"id": "acceptq/%s/" % report.command},
        "invocations": [invocation],
        "results": [_result(finding, index[finding.id]) for finding in report.findings],
        "properties": {
            "inventory": report.inventory,
            "limit": report.limit,
            "generated_at": report.generated_at,
            "hosts": {name: host.status for name, host in sorted(report.hosts.items())},
        },
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
