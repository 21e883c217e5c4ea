"""The incident lab's figures, from two short runs captured in the lab container.

tests/fixtures/incident/seed: the seed configuration (backlog 65535, vhost B
with nginx's 60 s defaults); remediated: backlog 24, upstream timeouts 1.5 s
(connect 0.5 s). Both: 5 s of load, a 3 s stall, 6 s after.
"""

import shutil
import sys

import pytest
from conftest import FIXTURES, ROOT

sys.path.insert(0, str(ROOT / "molecule" / "resources" / "files" / "incident"))

import analyze  # noqa: E402

RUNS = FIXTURES / "incident"


def test_seed_run_figures():
    figures = analyze.analyze(RUNS / "seed")
    assert figures["backlog"] == 65535
    assert figures["status"] == {"200": 1199, "499": 241, "502": 0, "504": 128, "other": 0}
    assert figures["status_by_vhost"]["b.incident.test"]["499"] == 241
    assert figures["status_by_vhost"]["a.incident.test"]["499"] == 0
    assert figures["stale_executions"] == 368
    assert figures["peak_accept_queue"] == 327
    assert figures["peak_close_wait"] == 146
    assert figures["pre_stall_share_200"] == 1.0
    assert figures["recovery_s"] == 4.2


def test_remediated_run_figures():
    figures = analyze.analyze(RUNS / "remediated")
    assert figures["backlog"] == 24
    assert figures["status"] == {"200": 1227, "499": 0, "502": 0, "504": 341, "other": 0}
    assert figures["stale_executions"] == 33
    assert figures["peak_accept_queue"] == 25
    assert figures["recovery_s"] == 0.4


def test_arrival_is_log_time_minus_request_time(tmp_path):
    log = tmp_path / "access.log"
    log.write_text("1795538211.550 b.incident.test 504 1.500 504\n1795538212.000 a.incident.test 499 2.000\n")
    assert analyze.read_access_log(log) == [
        (pytest.approx(1795538210.05), "b.incident.test", "504", 1.5, "504"),
        (pytest.approx(1795538210.0), "a.incident.test", "499", 2.0, "-"),
    ]


def test_no_recovery_while_the_queue_stays_deep(monkeypatch):
    monkeypatch.setattr(analyze, "QUEUE_CALM", 0)
    figures = analyze.analyze(RUNS / "remediated")
    assert figures["recovery_s"] is None
    # Arrivals ran 14 s from the load's start (0.5 s after the run's): 6.4 s after the stall, less the 1 s window.
    assert figures["recovery_searched_s"] == 5.4


def test_a_foreign_access_log_line_names_file_and_line(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(RUNS / "remediated", run)
    with open(run / "access.log", "a") as log:
        log.write('127.0.0.1 - - [24/Nov/2026:16:36:00 +0000] "GET / HTTP/1.1" 200 612\n')
    lines = len((run / "access.log").read_text().splitlines())
    with pytest.raises(ValueError, match=r"access\.log:%d: not an incident access-log line" % lines):
        analyze.analyze(run)
