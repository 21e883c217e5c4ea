"""Shared by every scenario's testinfra tests (pytest finds it above molecule/<scenario>/tests/)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def acceptq_audit(tmp_path):
    """Run the acceptq CLI audit against a scenario's inventory; return the JSON report."""

    def audit(scenario_dir):
        report = tmp_path / "audit.json"
        subprocess.run(
            [
                str(Path(sys.executable).parent / "acceptq"),
                "audit",
                "-i",
                str(Path(scenario_dir) / "inventory" / "hosts.yml"),
                "--format",
                "json",
                "--output",
                str(report),
                "--fail-on",
                "none",
            ],
            check=True,
            timeout=300,
        )
        return json.loads(report.read_text())

    return audit
