"""incident: the seed's failure chain measured before and after acceptq's remediation.

Directions only, with margins a noisy 2-core machine cannot flake; the exact
figures are tools/bench-incident.py's output; this run's are kept in
.ansible/incident-figures.json (Molecule prunes its ephemeral directory).
"""

import json
import os
from pathlib import Path

import pytest

RUN_AFTER = "python3 /usr/local/lib/acceptq-incident/run.py --label after"
SEED_FIGURES = "/var/lib/acceptq-incident/seed/figures.json"
STATE = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "/nonexistent")) / ".ansible"


@pytest.fixture(scope="module")
def seed(host):
    return json.loads(host.file(SEED_FIGURES).content_string)


@pytest.fixture(scope="module")
def after(host, seed):
    figures = json.loads(host.check_output(RUN_AFTER))
    if STATE.is_dir():
        (STATE / "incident-figures.json").write_text(json.dumps({"seed": seed, "after": figures}, indent=1))
    return figures


def test_seed_reproduces_the_incident(seed):
    assert seed["backlog"] == 65535
    assert seed["status"]["499"] >= 100, seed
    assert seed["stale_executions"] >= 300, seed
    assert seed["peak_accept_queue"] >= 300, seed


def test_remediation_resized_the_php_fpm_backlog(after):
    assert after["backlog"] < 65535, after


def test_no_499_after(after):
    assert after["status"]["499"] == 0, after


def test_stale_executions_at_least_halved(seed, after):
    assert after["stale_executions"] * 2 <= seed["stale_executions"], (seed, after)


def test_accept_queue_stays_within_the_sized_backlog(after):
    assert after["peak_accept_queue"] <= after["backlog"] + 1, after


def test_pages_still_served(seed, after):
    assert after["ok_200"] * 2 >= seed["ok_200"], (seed, after)
