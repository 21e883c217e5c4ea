import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils.registry import (
    DEFAULT_POLICY,
    PolicyError,
    effective_policy,
    run_checks,
)


def ids(findings):
    return sorted(finding.id for finding in findings if finding.concern != "rot")


def test_overflow_capture_single_read(evidence_of):
    findings = run_checks("lab", evidence_of("overflow"))
    assert ids(findings) == ["AQ-KERNEL-001", "AQ-KERNEL-002", "AQ-KERNEL-003", "AQ-KERNEL-003", "AQ-KERNEL-005"]
    capped = next(f for f in findings if f.id == "AQ-KERNEL-001")
    assert capped.evidence["listener"] == "127.0.0.1:9000"
    assert "Send-Q) 16 = net.core.somaxconn 16" in capped.observed
    full = sorted(f.evidence["listener"] for f in findings if f.id == "AQ-KERNEL-003")
    assert full == ["/tmp/acceptq-capture.sock", "127.0.0.1:9000"]
    history = next(f for f in findings if f.id == "AQ-KERNEL-005")
    assert history.evidence["counters"] == {"ListenOverflows": 69, "ListenDrops": 69}
    assert findings[0].severity == "error"  # most severe first


def test_overflow_rising_between_two_reads(evidence_of):
    previous = {"ListenOverflows": 60, "ListenDrops": 61, "TCPReqQFullDrop": 0}
    findings = run_checks("lab", evidence_of("overflow", sampled_previous=previous))
    (rising,) = [f for f in findings if f.id == "AQ-KERNEL-004"]
    assert rising.evidence["deltas"] == {"ListenOverflows": 9, "ListenDrops": 8}
    assert "full: 127.0.0.1:9000, /tmp/acceptq-capture.sock" in rising.observed
    assert "AQ-KERNEL-005" not in ids(findings)


def test_healthy_host_capture_has_no_findings(evidence_of):
    assert run_checks("here", evidence_of("host")) == []


def test_declared_minimum_is_honoured(evidence_of):
    findings = run_checks("lab", evidence_of("overflow"), {"somaxconn_min": 16})
    assert "AQ-KERNEL-002" not in ids(findings)


def test_listener_older_than_a_lowered_somaxconn(evidence_of):
    evidence = evidence_of("host")
    evidence["kernel"]["sysctls"]["net.core.somaxconn"] = 100
    (finding,) = run_checks("here", evidence, {"somaxconn_min": 1})
    assert finding.id == "AQ-KERNEL-006"
    assert "0.0.0.0:2024" in finding.observed and "cut its backlog to 100" in finding.fix


def test_known_configured_backlog_below_cap_is_not_flagged(evidence_of):
    evidence = evidence_of("overflow")
    listener = next(item for item in evidence["sockets"]["listeners"] if item["family"] == "inet")
    listener["configured_backlog"] = 16
    assert "AQ-KERNEL-001" not in ids(run_checks("lab", evidence))
    listener["configured_backlog"] = 64
    capped = [f for f in run_checks("lab", evidence) if f.id == "AQ-KERNEL-001"]
    assert capped[0].evidence["configured_backlog"] == 64 and "configured 64" in capped[0].observed


def test_syn_queue_drops_rising(evidence_of):
    evidence = evidence_of("host")
    evidence["kernel"]["counters"]["TCPReqQFullDrop"] = 12
    evidence["kernel"]["counters_previous"] = {"TCPReqQFullDrop": 2}
    evidence["kernel"]["counter_interval_s"] = 1.0
    (finding,) = run_checks("here", evidence)
    assert finding.id == "AQ-KERNEL-007" and "TCPReqQFullDrop +10" in finding.observed


def test_backlogdrop_alone_is_not_an_accept_queue_finding(evidence_of):
    evidence = evidence_of("host")
    evidence["kernel"]["counters"]["TCPBacklogDrop"] = 500
    assert run_checks("here", evidence) == []


def test_evidence_errors_become_findings_and_other_checks_still_run(evidence_of):
    evidence = evidence_of("overflow")
    evidence["errors"].append({"section": "sockets", "source": "netlink sock_diag unix", "message": "denied"})
    findings = run_checks("lab", evidence)
    assert "AQ-HOST-003" in ids(findings) and "AQ-KERNEL-002" in ids(findings)


def test_missing_sections_do_not_crash_checks():
    findings = run_checks("odd", {"errors": [], "kernel": None, "sockets": None})
    assert findings == []


def test_exempt_owners_are_not_reported_as_capped(evidence_of):
    evidence = evidence_of("overflow")
    for listener in evidence["sockets"]["listeners"]:
        listener["owner"] = {"pid": 1, "name": "systemd"}
    assert "AQ-KERNEL-001" not in ids(run_checks("lab", evidence))
    capped = run_checks("lab", evidence, {"cap_exempt_owners": []})
    assert "AQ-KERNEL-001" in ids(capped)


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"somaxconn": 1}, "unknown policy key 'somaxconn'"),
        ({"somaxconn_min": "big"}, "must be a int"),
        ({"cap_exempt_owners": "systemd"}, "must be a list"),
        ({"cap_exempt_owners": [1]}, "must be a list of strings"),
    ],
)
def test_bad_policy_is_refused(declared, message):
    with pytest.raises(PolicyError, match=message):
        effective_policy(declared)


def test_default_policy():
    assert effective_policy() == DEFAULT_POLICY
