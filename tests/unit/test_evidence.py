import contextlib
import os
import shutil
import socket

import pytest
from conftest import FIXTURES

from ansible_collections.acceptq.remediation.plugins.module_utils import concerns
from ansible_collections.acceptq.remediation.plugins.module_utils.core import evidence as _evidence
from ansible_collections.acceptq.remediation.plugins.module_utils.kernel import collect as _kernel
from ansible_collections.acceptq.remediation.plugins.module_utils.rot import collect as _rot


def test_netstat_capture_parses_every_counter():
    text = (FIXTURES / "overflow" / "proc" / "net" / "netstat").read_text()
    counters = _kernel.parse_netstat(text)
    assert counters["TcpExt.ListenOverflows"] == 69
    assert counters["TcpExt.ListenDrops"] == 69
    assert "IpExt.InOctets" in counters


def test_tcpext_counters_keep_backlogdrop_apart_from_queue_counters():
    counters = _kernel.read_tcpext_counters(str(FIXTURES / "overflow" / "proc"))
    assert set(counters) == set(_kernel.TCPEXT_COUNTERS)
    assert "TCPBacklogDrop" not in _kernel.ACCEPT_QUEUE_COUNTERS + _kernel.SYN_QUEUE_COUNTERS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("TcpExt: A B\n", "odd number of lines"),
        ("TcpExt: A B\nIpExt: 1 2\n", "/proc/net/netstat:2: values for 'IpExt' follow the header of 'TcpExt'"),
        ("TcpExt: A B\nTcpExt: 1\n", "/proc/net/netstat:2: 2 names but 1 values"),
        ("TcpExt: A B\nTcpExt: 1 x\n", "/proc/net/netstat:2: B is 'x', not an integer"),
    ],
)
def test_malformed_netstat_names_file_and_line(text, message):
    with pytest.raises(_evidence.EvidenceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _kernel.parse_netstat(text)


def test_missing_proc_files_become_errors_not_exceptions(tmp_path):
    shutil.copytree(FIXTURES / "overflow" / "proc", tmp_path / "proc")
    (tmp_path / "proc" / "net" / "netstat").unlink()
    (tmp_path / "proc" / "sys" / "net" / "core" / "somaxconn").unlink()
    evidence = concerns.collect(["kernel"], proc_root=str(tmp_path / "proc"), counter_sample_interval=0)
    sources = {error["source"] for error in evidence["errors"]}
    assert sources == {"net.core.somaxconn", str(tmp_path / "proc" / "net" / "netstat")}
    assert evidence["kernel"]["sysctls"]["net.core.somaxconn"] is None
    assert isinstance(evidence["kernel"]["sysctls"]["net.ipv4.tcp_max_syn_backlog"], int)
    assert any("No such file" in error["message"] for error in evidence["errors"])


def test_garbage_sysctl_is_an_error_naming_the_file(tmp_path):
    shutil.copytree(FIXTURES / "overflow" / "proc", tmp_path / "proc")
    (tmp_path / "proc" / "sys" / "net" / "core" / "somaxconn").write_text("lots\n")
    evidence = concerns.collect(["kernel"], proc_root=str(tmp_path / "proc"), counter_sample_interval=0)
    (error,) = evidence["errors"]
    assert error["message"].endswith("somaxconn: 'lots' is not an integer")


def test_non_linux_host_reports_what_it_could_not_read(monkeypatch):
    freebsd = os.uname_result(("FreeBSD", "bsd1", "14.1-RELEASE", "GENERIC", "amd64"))
    monkeypatch.setattr(_evidence.os, "uname", lambda: freebsd)
    evidence = concerns.collect(counter_sample_interval=0)
    assert evidence["kernel"] is None and evidence["sockets"] is None
    assert sorted(error["section"] for error in evidence["errors"]) == sorted(
        name for name, section in concerns.SECTIONS.items() if section.linux_only
    )
    assert all("needs Linux; this host runs FreeBSD" in error["message"] for error in evidence["errors"])


def test_unknown_section_is_refused():
    with pytest.raises(ValueError, match="unknown evidence sections: apache"):
        concerns.collect(["apache"])


def test_live_collection_samples_counters_twice():
    evidence = concerns.collect(["kernel"], counter_sample_interval=0.05)
    kernel = evidence["kernel"]
    assert kernel["counters_previous"] is not None
    assert kernel["counter_interval_s"] >= 0.05
    assert kernel["netns"].startswith("net:[")


def test_live_listener_has_owner(tmp_path):
    import os
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(3)
    port = server.getsockname()[1]
    try:
        evidence = concerns.collect(["sockets"], counter_sample_interval=0)
        (mine,) = [item for item in evidence["sockets"]["listeners"] if item.get("port") == port]
        assert mine["owner"]["pid"] == os.getpid()
        assert mine["local"] == "127.0.0.1:%d" % port
        assert (mine["queue_depth"], mine["backlog_limit"]) == (0, 3)
    finally:
        server.close()


def test_locks_background_read_gives_what_a_direct_read_gives():
    proc_root = str(FIXTURES / "overflow" / "proc")
    source = os.path.join(proc_root, "locks")
    context = {"proc_root": proc_root, "errors": [], "sections": ["sockets", "locks"]}
    _evidence.start_background(context, "locks", _evidence.read_text, source)
    assert isinstance(context["background"]["locks"], _evidence.Background)
    in_background = _rot.collect_locks(context)
    assert context["background"] == {}  # taken once, not kept for a later run
    direct = _rot.collect_locks({"proc_root": proc_root, "errors": []})
    assert in_background == direct
    assert in_background["waiters_total"] == 3


def test_locks_background_failure_is_the_same_error(tmp_path):
    context = {"proc_root": str(tmp_path), "errors": [], "sections": ["locks"]}
    _evidence.start_background(context, "locks", _evidence.read_text, str(tmp_path / "locks"))
    assert _rot.collect_locks(context) == {"files": [], "waiters_total": 0}
    (error,) = context["errors"]
    assert error["source"] == str(tmp_path / "locks")
    assert "No such file" in error["message"]


def test_no_background_job_for_a_section_not_asked_for():
    context = {"proc_root": "/proc", "errors": [], "sections": ["sockets", "connections"], "hints": {}}
    _evidence.start_background(context, "locks", _evidence.read_text, "/proc/locks")
    assert "locks" not in context.get("background", {})


def test_a_background_job_of_another_function_is_not_taken():
    context = {"proc_root": "/proc", "errors": [], "sections": ["connections"]}
    _evidence.start_background(context, "connections", lambda ports: ("background", ports), {80})
    assert _evidence.background_result(context, "connections", lambda ports: ("here", ports), {80}) == ("here", {80})


@contextlib.contextmanager
def loopback_connection(keep_listening=True):
    """A loopback listener with one accepted connection; yields the listener's port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    port = server.getsockname()[1]
    if not keep_listening:
        server.close()
    try:
        yield port
    finally:
        for sock in (client, accepted, server):
            sock.close()


@pytest.fixture
def one_connection():
    with loopback_connection() as port:
        yield port


def test_the_connection_dump_runs_in_the_background_and_counts_alike(one_connection):
    context = {"proc_root": "/proc", "errors": [], "sections": ["sockets", "connections"], "hints": {}}
    _kernel.collect_sockets(context)
    job = context["background"]["connections"]
    assert isinstance(job, _evidence.Background) and job.args == (context["listened_ports"],)
    section = _kernel.collect_connections(context)
    assert context["background"] == {}  # the section took the job's result
    assert section["by_local_port"][str(one_connection)] == {"ESTABLISHED": 1}
    assert _kernel.count_connections({one_connection})[0][one_connection] == {"ESTABLISHED": 1}
    assert section["filtered"] is True


def test_every_collector_has_its_place_in_the_run_order():
    assert sorted(concerns.RUN_ORDER) == sorted(concerns.SECTIONS)
    assert concerns.RUN_ORDER.index("sockets") < concerns.RUN_ORDER.index("connections")


def test_a_read_of_a_file_longer_than_one_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(_evidence, "READ_CHUNK", 7)
    path = tmp_path / "long"
    path.write_text("1: FLOCK ADVISORY WRITE 12 fd:01:2 0 EOF\n" * 3)
    assert _evidence.read_text(str(path)) == path.read_text()


def test_connections_fall_back_to_one_dump_per_family(monkeypatch, one_connection):
    from ansible_collections.acceptq.remediation.plugins.module_utils.core import sockdiag as _sockdiag

    real_count_dump = _sockdiag.count_dump
    asked = []

    def count_dump_refusing_the_legacy_request(payload, counts=None, request_type=_sockdiag.SOCK_DIAG_BY_FAMILY):
        asked.append(request_type)
        if request_type == _sockdiag.TCPDIAG_GETSOCK:
            raise _sockdiag.SockDiagError("kernel answered error 22")
        return real_count_dump(payload, counts, request_type=request_type)

    monkeypatch.setattr(_sockdiag, "count_dump", count_dump_refusing_the_legacy_request)
    context = {"proc_root": "/proc", "errors": [], "listened_ports": {one_connection}}
    section = _kernel.collect_connections(context)
    assert asked == [_sockdiag.TCPDIAG_GETSOCK, _sockdiag.SOCK_DIAG_BY_FAMILY, _sockdiag.SOCK_DIAG_BY_FAMILY]
    assert section["by_local_port"] == {str(one_connection): {"ESTABLISHED": 1}}
    assert context["errors"] == []


def test_listeners_of_both_families_from_one_request_or_one_each(monkeypatch):
    from ansible_collections.acceptq.remediation.plugins.module_utils.core import sockdiag as _sockdiag

    held = []
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            server = socket.socket(family)
            server.bind((address, 0))
        except OSError:
            pytest.skip("no IPv6 loopback here")
        server.listen(4)
        held.append(server)
    expected = {"127.0.0.1:%d" % held[0].getsockname()[1], "[::1]:%d" % held[1].getsockname()[1]}
    real_dump = _sockdiag.dump
    asked = []

    def dump_refusing_the_legacy_request(payload, request_type=_sockdiag.SOCK_DIAG_BY_FAMILY, **kwargs):
        asked.append(request_type)
        if request_type == _sockdiag.TCPDIAG_GETSOCK:
            raise _sockdiag.SockDiagError("kernel answered error 22")
        return real_dump(payload, request_type=request_type, **kwargs)

    try:
        one_request = concerns.collect(["sockets"], counter_sample_interval=0)
        monkeypatch.setattr(_sockdiag, "dump", dump_refusing_the_legacy_request)
        one_each = concerns.collect(["sockets"], counter_sample_interval=0)
    finally:
        for server in held:
            server.close()
    for evidence in (one_request, one_each):
        assert expected <= {listener["local"] for listener in evidence["sockets"]["listeners"]}
        assert evidence["errors"] == []
    assert asked == [_sockdiag.TCPDIAG_GETSOCK] + [_sockdiag.SOCK_DIAG_BY_FAMILY] * 3


@pytest.fixture
def two_connections(one_connection):
    with loopback_connection() as port:
        yield one_connection, port


@pytest.fixture
def closed_listener_connection():
    """The port of an accepted connection whose listener is closed: no longer listened on."""
    with loopback_connection(keep_listening=False) as port:
        yield port


def test_a_dump_started_on_the_last_runs_ports_is_mended(monkeypatch, two_connections, closed_listener_connection):
    kept, opened = two_connections
    gone = closed_listener_connection  # listened on last run, not now
    real_count = _kernel.count_connections
    asked = []

    def count_connections(listened):
        asked.append(set(listened))
        return real_count(listened)

    monkeypatch.setattr(_kernel, "count_connections", count_connections)
    assert real_count({gone})[0][gone] == {"ESTABLISHED": 1}  # the job does count it
    evidence = concerns.collect(["sockets", "connections"], hints={"ports": [kept, gone]})
    assert asked[0] == {kept, gone}  # started on the hints, before the listener dump
    assert opened in asked[1] and kept not in asked[1]  # then only the ports new since
    by_port = evidence["connections"]["by_local_port"]
    assert by_port[str(kept)] == by_port[str(opened)] == {"ESTABLISHED": 1}
    assert str(gone) not in by_port
    assert evidence["connections"]["filtered"] is True
    assert evidence["errors"] == []


def test_an_unfiltered_job_is_cut_to_the_listened_ports(monkeypatch, two_connections):
    kept, opened = two_connections
    monkeypatch.setattr(_kernel, "MAX_FILTERED_PORTS", 2)
    job = _evidence.Background(_kernel.count_connections, frozenset({kept, 1, 2, 3}))  # too many: every port
    counts, errors, filtered = _kernel._counts_for({kept, opened}, job)
    assert counts == {kept: {"ESTABLISHED": 1}, opened: {"ESTABLISHED": 1}}
    assert filtered is True and errors == []


def test_without_a_listener_table_a_filtered_job_is_not_enough(one_connection):
    job = _evidence.Background(_kernel.count_connections, frozenset({one_connection}))
    counts, errors, filtered = _kernel._counts_for(None, job)  # every port, as with no hints
    assert filtered is False and errors == []
    assert counts[one_connection] == {"ESTABLISHED": 1}
    assert len(counts) > 1  # the client's side, on its ephemeral port, too


def test_no_connection_dump_when_nothing_listens(monkeypatch):
    monkeypatch.setattr(_kernel._sockdiag, "parse_inet", lambda data: [])
    context = {"proc_root": "/proc", "errors": [], "sections": ["sockets", "connections"], "hints": {}}
    section = _kernel.collect_sockets(context)
    assert section["listened_ports"] == [] and "connections" not in context.get("background", {})
    assert _kernel.collect_connections(context)["by_local_port"] == {}


@pytest.mark.parametrize(
    "hints",
    [None, [], "123", {"80": 1}, ["http"], [0, 80], [70000], [True], [80.0], [float("inf")], [80, "443"]],
)
def test_unusable_port_hints_are_ignored(hints):
    assert _kernel._port_set(hints) is None


def test_port_hints_are_a_set_of_ports():
    assert _kernel._port_set([443, 80, 80]) == frozenset({80, 443})


def test_before_waiting_sees_every_section_but_the_waiting_ones():
    seen = []
    evidence = concerns.collect(
        ["kernel", "connections", "locks"],
        counter_sample_interval=0,
        before_waiting=lambda found: seen.append(set(found)),
    )
    assert len(seen) == 1 and "kernel" in seen[0]
    assert not seen[0] & set(name for name, section in concerns.SECTIONS.items() if section.waits)
    assert "connections" in evidence and "locks" in evidence


def test_before_waiting_is_called_once_without_waiting_sections():
    seen = []
    concerns.collect(["kernel"], counter_sample_interval=0, before_waiting=lambda found: seen.append(set(found)))
    assert len(seen) == 1 and "kernel" in seen[0]
