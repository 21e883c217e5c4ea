"""The queue snapshot (ansible_local fact and textfile metrics) on live and captured state."""

import json
import os
import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.acceptq.remediation.plugins.module_utils.facts import snapshot as _snapshot


def test_first_run_reports_no_rate_then_second_run_does(tmp_path):
    state = str(tmp_path / "state.json")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    first = _snapshot.snapshot(state_path=state, now=1000.0)
    server.close()
    assert first["rate_interval_s"] is None
    assert all(entry["rate_per_s"] is None and entry["delta"] is None for entry in first["counters"].values())
    saved = json.loads((tmp_path / "state.json").read_text())
    # The listened ports, for the next run to start its connection dump at once.
    listened = set(int(item["local"].rsplit(":", 1)[1]) for item in first["listeners"] if item["family"] != "unix")
    assert port in saved["listened_ports"] and set(saved["listened_ports"]) == listened
    saved["counters"]["ListenOverflows"] -= 10  # as if 10 overflows happened since
    (tmp_path / "state.json").write_text(json.dumps(saved))
    second = _snapshot.snapshot(state_path=state, now=1005.0)
    assert second["rate_interval_s"] == 5.0
    assert second["counters"]["ListenOverflows"]["delta"] == 10
    assert second["counters"]["ListenOverflows"]["rate_per_s"] == 2.0


def test_counter_that_went_down_gives_no_rate():
    rates, elapsed = _snapshot.counter_rates({"ListenDrops": 5}, {"time": 0, "counters": {"ListenDrops": 9}}, 10)
    assert elapsed == 10 and rates["ListenDrops"] == {"value": 5, "delta": None, "rate_per_s": None}


@pytest.mark.parametrize("content", ["", "not json", '{"time": "x"}', "[]"])
def test_garbage_state_file_is_a_first_run(tmp_path, content):
    (tmp_path / "state.json").write_text(content)
    snap = _snapshot.snapshot(state_path=str(tmp_path / "state.json"))
    assert snap["rate_interval_s"] is None


def test_unwritable_state_is_an_error_not_a_traceback(tmp_path):
    snap = _snapshot.snapshot(state_path=str(tmp_path / "missing-dir" / "state.json"))
    assert [error["section"] for error in snap["errors"]] == ["state"]


def test_prometheus_text_parses_and_carries_the_listener(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    try:
        snap = _snapshot.snapshot(state_path=str(tmp_path / "s.json"))
        text = _snapshot.render_prometheus(snap)
    finally:
        for sock in clients + [server]:
            sock.close()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    local = "127.0.0.1:%d" % port
    depth = [s for s in families["acceptq_listen_queue_depth"].samples if s.labels["listener"] == local]
    limit = [s for s in families["acceptq_listen_queue_limit"].samples if s.labels["listener"] == local]
    assert [s.value for s in depth] == [3.0] and [s.value for s in limit] == [4.0]
    assert families["acceptq_listen_overflows"].type == "counter"
    assert families["acceptq_flock_waiters"].samples[0].value >= 0
    assert "acceptq_counter_rate_per_second" not in families  # first run: no rates


def test_label_values_are_escaped():
    snap = {
        "listeners": [
            {
                "family": "unix",
                "local": '/run/a"b\\c',
                "process": "x",
                "queue_depth": 0,
                "queue_limit": 1,
                "queue_ratio": 0.0,
            }
        ],
        "time": 1,
    }
    families = list(text_string_to_metric_families(_snapshot.render_prometheus(snap)))
    (sample,) = [f for f in families if f.name == "acceptq_listen_queue_depth"][0].samples
    assert sample.labels["listener"] == '/run/a"b\\c'


def test_write_atomically_leaves_no_partial_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "acceptq.prom"
    target.write_text("old\n")

    def broken_rename(source, destination):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "rename", broken_rename)
    with pytest.raises(OSError):
        _snapshot.write_atomically(str(target), "new\n")
    assert target.read_text() == "old\n"
    assert [path.name for path in tmp_path.iterdir()] == ["acceptq.prom"]


def test_every_rendered_metric_is_documented():
    import re

    from conftest import ROOT

    snap = {
        "time": 1.0,
        "sysctls": {"net.core.somaxconn": 4096, "net.ipv4.tcp_max_syn_backlog": 4096},
        "counters": {name: {"value": 1, "delta": 1, "rate_per_s": 1.0} for name, _m, _h in _snapshot.COUNTER_METRICS},
        "listeners": [
            {
                "family": "inet",
                "local": "127.0.0.1:1",
                "process": "p",
                "queue_depth": 1,
                "queue_limit": 2,
                "queue_ratio": 0.5,
            }
        ],
        "connections_by_port": {"1": {"CLOSE_WAIT": 1}},
        "flock": {
            "waiters_total": 1,
            "files": [{"path": "/x", "device": "0:1", "inode": 1, "waiters": 1, "waiters_by_process": {"p": 1}}],
            "waiters_by_process": {"p": 1},
        },
        "errors": [],
    }
    rendered = {family.name for family in text_string_to_metric_families(_snapshot.render_prometheus(snap))}
    rendered = {name + "_total" if name + "_total" in _snapshot.render_prometheus(snap) else name for name in rendered}
    documented = set(re.findall(r"^\| `(acceptq_[a-z_]+)` \|", (ROOT / "docs" / "metrics.md").read_text(), re.M))
    assert rendered == documented


def test_write_atomically_skips_a_temp_name_already_taken(tmp_path, monkeypatch):
    names = iter([b"\0" * 6, b"\1" * 6])
    monkeypatch.setattr(_snapshot.os, "urandom", lambda size: next(names))
    squatter = tmp_path / (".acceptq.prom." + "00" * 6)
    squatter.write_text("someone else's\n")
    _snapshot.write_atomically(str(tmp_path / "acceptq.prom"), "new\n", mode=0o640)
    assert squatter.read_text() == "someone else's\n"
    assert (tmp_path / "acceptq.prom").read_text() == "new\n"
    assert (tmp_path / "acceptq.prom").stat().st_mode & 0o777 == 0o640
    assert sorted(path.name for path in tmp_path.iterdir()) == [squatter.name, "acceptq.prom"]
