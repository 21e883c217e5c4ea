import re

from conftest import ROOT

from ansible_collections.acceptq.remediation.plugins.module_utils.core.findings import (
    SEVERITIES,
    Finding,
    at_or_above,
    severity_rank,
)
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import DEFINITIONS

HEADING = re.compile(r"^### (AQ-[A-Z]+-\d{3}) — (.+) \((\w+)\)$", re.MULTILINE)


def test_every_finding_id_is_documented_once_with_its_title_and_severity():
    documented = HEADING.findall((ROOT / "docs" / "findings.md").read_text())
    assert len(documented) == len({item[0] for item in documented})
    assert {item[0]: (item[1], item[2]) for item in documented} == {
        finding_id: (definition.title, definition.severity) for finding_id, definition in DEFINITIONS.items()
    }


def test_ids_are_stable_in_shape():
    for finding_id, definition in DEFINITIONS.items():
        assert re.fullmatch(r"AQ-[A-Z]+-\d{3}", finding_id)
        assert finding_id.split("-")[1].lower() == definition.concern


def test_round_trip_and_thresholds():
    finding = DEFINITIONS["AQ-KERNEL-003"].finding("h", "obs", "exp", "fix", {"a": 1})
    assert Finding.from_dict(finding.to_dict()).to_dict() == finding.to_dict()
    assert at_or_above([finding], "error") == [finding]
    assert at_or_above([finding], "critical") == []
    assert severity_rank("bogus") == len(SEVERITIES)
