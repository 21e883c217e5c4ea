"""roles/audit_schedule's run script: the metrics it writes parse with
prometheus_client and never show an all-clear a run did not establish; a
run while the lock is held is skipped. (The real timer, CLI and collection
run in molecule/audit_schedule.)"""

import fcntl
import importlib.machinery
import importlib.util
import json

from conftest import ROOT
from prometheus_client.parser import text_string_to_metric_families

PATH = ROOT / "roles" / "audit_schedule" / "files" / "acceptq-scheduled-audit"


def _script():
    loader = importlib.machinery.SourceFileLoader("acceptq_scheduled_audit", str(PATH))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _families(text):
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


REPORT = {
    "complete": True,
    "_started": 1700000000.0,
    "hosts": {"web1": {"status": "ok"}, "web2": {"status": "unreachable"}},
    "findings": [
        {"id": "AQ-NGINX-001", "severity": "error", "host": "web1"},
        {"id": "AQ-NGINX-001", "severity": "error", "host": "web1"},
        {"id": "AQ-HOST-001", "severity": "error", "host": 'we"b\\2\n'},
    ],
}


def test_metrics_parse_and_count_findings_per_rule_severity_host():
    run = {"started": 1700000100.0, "success": True, "duration": 4.2, "rc": 0, "remediate_check": 0}
    samples = _families(_script().render_metrics(run, REPORT, 1700000050.0))
    findings = {(s.labels["id"], s.labels["host"]): s.value for s in samples["acceptq_findings"]}
    assert findings == {("AQ-NGINX-001", "web1"): 2.0, ("AQ-HOST-001", 'we"b\\2\n'): 1.0}
    assert samples["acceptq_last_run_success"][0].value == 1.0
    assert samples["acceptq_last_run_timestamp_seconds"][0].value == 1700000100.0
    assert samples["acceptq_last_success_timestamp_seconds"][0].value == 1700000000.0
    assert {s.labels["status"]: s.value for s in samples["acceptq_hosts"]} == {"ok": 1.0, "unreachable": 1.0}
    assert samples["acceptq_last_remediate_check_success"][0].value == 1.0
    assert samples["acceptq_last_skipped_timestamp_seconds"][0].value == 1700000050.0


def test_a_failed_run_without_any_complete_audit_exports_no_findings_and_failure():
    run = {"started": 1.0, "success": False, "duration": 1.0, "rc": 3, "remediate_check": None}
    samples = _families(_script().render_metrics(run, None, None))
    assert samples["acceptq_findings"] == []
    assert samples["acceptq_last_run_success"][0].value == 0.0
    assert "acceptq_last_success_timestamp_seconds" not in samples


def test_a_run_while_the_lock_is_held_is_skipped(tmp_path, capsys):
    config = {
        "acceptq": "/nonexistent/acceptq",  # never reached: the lock is taken first
        "history_dir": str(tmp_path),
        "lock_file": str(tmp_path / "lock"),
        "textfile_dir": str(tmp_path),
        "timeout_s": 60,
        "history_keep": 2,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    with open(tmp_path / "lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert _script().main(["x", str(tmp_path / "config.json")]) == 0
    assert "this run is skipped" in capsys.readouterr().err
    assert float((tmp_path / ".last-skipped").read_text()) > 0
    assert not list(tmp_path.glob("audit-*"))
