import socket
import struct

import pytest
from conftest import FIXTURES

from ansible_collections.acceptq.remediation.plugins.module_utils.core import sockdiag as _sockdiag


def test_captured_overflow_shows_depth_above_capped_backlog():
    listeners = _sockdiag.parse_inet((FIXTURES / "overflow" / "inet_diag.bin").read_bytes())
    assert [(s["local_address"], s["local_port"], s["recv_q"], s["send_q"]) for s in listeners] == [
        ("127.0.0.1", 9000, 17, 16),  # asked for 64, capped by somaxconn 16, queue holds backlog + 1
        ("127.0.0.1", 9001, 0, 8),  # the CLOSE_WAIT server: it accepted everything
    ]


def test_captured_unix_listener_full():
    listeners = _sockdiag.parse_unix((FIXTURES / "overflow" / "unix_diag.bin").read_bytes())
    assert [(s["path"], s["type"], s["recv_q"], s["send_q"]) for s in listeners] == [
        ("/tmp/acceptq-capture.sock", "stream", 9, 8)
    ]


def test_live_tcp_and_unix_listeners(tmp_path):
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(5)
    port = tcp.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    path = str(tmp_path / "live.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(path)
    unix.listen(7)
    unix_clients = []
    for _ in range(2):
        client = socket.socket(socket.AF_UNIX)
        client.connect(path)
        unix_clients.append(client)
    try:
        inet = _sockdiag.parse_inet(_sockdiag.dump(_sockdiag.inet_request(socket.AF_INET, [_sockdiag.TCP_LISTEN])))
        mine = [s for s in inet if s["local_port"] == port]
        assert [(s["recv_q"], s["send_q"], s["state"]) for s in mine] == [(3, 5, "LISTEN")]
        unix_listeners = _sockdiag.parse_unix(_sockdiag.dump(_sockdiag.unix_request([_sockdiag.TCP_LISTEN])))
        mine = [s for s in unix_listeners if s["path"] == path]
        assert [(s["recv_q"], s["send_q"]) for s in mine] == [(2, 7)]
    finally:
        for sock in clients + unix_clients + [tcp, unix]:
            sock.close()


def test_abstract_unix_name_is_shown_with_at_sign():
    name = b"\0acceptq-abstract"
    attr = struct.pack("=HH", 4 + len(name), _sockdiag.UNIX_DIAG_NAME) + name
    attr += b"\0" * (-len(attr) % 4)
    body = struct.pack("=BBBBIII", socket.AF_UNIX, 1, 10, 0, 42, 0, 0) + attr
    message = struct.pack("=IHHII", 16 + len(body), _sockdiag.SOCK_DIAG_BY_FAMILY, 2, 1, 0) + body
    (parsed,) = _sockdiag.parse_unix(message)
    assert parsed["path"] == "@acceptq-abstract"
    assert parsed["recv_q"] is None  # no RQLEN attribute: unknown, not zero


def test_kernel_error_reply_raises():
    reply = struct.pack("=IHHII", 20, _sockdiag.NLMSG_ERROR, 0, 1, 0) + struct.pack("=i", -22)
    with pytest.raises(_sockdiag.SockDiagError, match="error 22"):
        _sockdiag.parse_inet(reply)


def test_truncated_header_raises():
    reply = struct.pack("=IHHII", 4, _sockdiag.SOCK_DIAG_BY_FAMILY, 0, 1, 0)
    with pytest.raises(_sockdiag.SockDiagError, match="malformed"):
        _sockdiag.parse_inet(reply)


def test_short_messages_are_skipped_not_misread():
    reply = struct.pack("=IHHII", 24, _sockdiag.SOCK_DIAG_BY_FAMILY, 0, 1, 0) + b"\0" * 8
    assert _sockdiag.parse_inet(reply) == []


def test_kernel_filters_the_connection_dump_to_listened_ports():
    servers, held, ports = [], [], []
    for _ in range(3):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        servers.append(server)
        ports.append(server.getsockname()[1])
    for index, server in enumerate(servers):
        for _ in range(index + 1):
            held.append(socket.create_connection(server.getsockname()))
            held.append(server.accept()[0])
    try:
        request = _sockdiag.inet_request(socket.AF_INET, [1, 8], local_ports=ports[1:])
        counts = _sockdiag.count_states_by_port(_sockdiag.dump(request))
        # Only the server sides on the two chosen ports: no client ephemeral ports, no third listener.
        assert counts == {ports[1]: {"ESTABLISHED": 2}, ports[2]: {"ESTABLISHED": 3}}
    finally:
        for sock in held + servers:
            sock.close()


def test_port_filter_layout():
    code = _sockdiag.source_port_filter([80, 9000])
    ops = [struct.unpack_from("=BBH", code, offset) for offset in range(0, len(code), 4)]
    # S_EQ 80 (match: to the JMP, miss: past it), port, JMP to the end, S_EQ 9000, port
    assert ops == [(11, 8, 12), (0, 0, 80), (1, 4, 12), (11, 8, 12), (0, 0, 9000)]


def _inet_message(state, port, attributes=b""):
    body = struct.pack("=BBBB", socket.AF_INET, state, 0, 0) + struct.pack("!HH", port, 40000) + b"\0" * 64
    body += attributes
    return struct.pack("=IHHII", 16 + len(body), _sockdiag.SOCK_DIAG_BY_FAMILY, 2, 1, 0) + body


def test_state_counts_survive_messages_of_differing_layouts():
    # A run of alike messages broken by longer ones (an extra attribute), then
    # NLMSG_DONE: each message must still be read at its own offset.
    extra = struct.pack("=HHI", 8, 99, 0)
    messages = [
        _inet_message(1, 80),
        _inet_message(1, 80),
        _inet_message(8, 80, extra),
        _inet_message(8, 9000),
        _inet_message(1, 9000, extra),
        _inet_message(1, 9000, extra),
        _inet_message(8, 9000),
    ]
    done = struct.pack("=IHHII", 20, _sockdiag.NLMSG_DONE, 2, 1, 0) + struct.pack("=i", 0)
    data = b"".join(messages) + done
    runs = [(msg_type, count) for msg_type, _offset, _stride, count, _length in _sockdiag.walk_runs(data)]
    assert runs == [(20, 2), (20, 1), (20, 1), (20, 2), (20, 1), (_sockdiag.NLMSG_DONE, 1)]
    assert _sockdiag.count_states_by_port(data) == {
        80: {"ESTABLISHED": 2, "CLOSE_WAIT": 1},
        9000: {"CLOSE_WAIT": 2, "ESTABLISHED": 2},
    }


def test_message_running_past_the_reply_raises():
    reply = _inet_message(1, 80)[:-8]  # its header claims 8 bytes more than were received
    with pytest.raises(_sockdiag.SockDiagError, match="malformed"):
        _sockdiag.count_states_by_port(reply)


def _connected_pairs(family, address, count):
    server = socket.socket(family)
    server.bind((address, 0))
    server.listen(8)
    held = [server]
    for _ in range(count):
        held.append(socket.create_connection(server.getsockname()[:2]))
        held.append(server.accept()[0])
    return server.getsockname()[1], held


def test_one_request_counts_both_families_as_two_would():
    port4, held = _connected_pairs(socket.AF_INET, "127.0.0.1", 2)
    try:
        port6, held6 = _connected_pairs(socket.AF_INET6, "::1", 3)
        held += held6
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        ports = [port4, port6]
        both = _sockdiag.dump(
            _sockdiag.inet_both_families_request([1, 8], local_ports=ports),
            request_type=_sockdiag.TCPDIAG_GETSOCK,
        )
        counts = _sockdiag.count_states_by_port(both)
        per_family = {}
        for family in (socket.AF_INET, socket.AF_INET6):
            request = _sockdiag.inet_request(family, [1, 8], local_ports=ports)
            _sockdiag.count_states_by_port(_sockdiag.dump(request), per_family)
        assert counts == per_family == {port4: {"ESTABLISHED": 2}, port6: {"ESTABLISHED": 3}}
    finally:
        for sock in held:
            sock.close()


def _run_port_filter(code, port):
    """The kernel's inet_diag_bc_run, for the port tests the filter uses."""
    offset, remaining = 0, len(code)
    while remaining > 0:
        op, yes, no = struct.unpack_from("=BBH", code, offset)
        value = struct.unpack_from("=BBH", code, offset + 4)[2] if op != _sockdiag.INET_DIAG_BC_JMP else None
        matched = {
            _sockdiag.INET_DIAG_BC_JMP: False,
            _sockdiag.INET_DIAG_BC_S_EQ: port == value,
            _sockdiag.INET_DIAG_BC_S_LE: port is not None and value is not None and port <= value,
        }[op]
        step = yes if matched else no
        offset, remaining = offset + step, remaining - step
    return remaining == 0


def _audit_port_filter(code):
    """The kernel's inet_diag_bc_audit: jumps forward, aligned, onto the fall-through chain."""

    def on_chain(target_remaining):
        offset, remaining = 0, len(code)
        while remaining >= 0:
            if target_remaining >= remaining:
                return target_remaining == remaining
            step = struct.unpack_from("=BBH", code, offset)[1]
            if step < 4 or step % 4:
                return False
            offset, remaining = offset + step, remaining - step
        return False

    offset, remaining = 0, len(code)
    while remaining > 0:
        op, yes, no = struct.unpack_from("=BBH", code, offset)
        size = 4 if op == _sockdiag.INET_DIAG_BC_JMP else 8
        assert size <= no <= remaining + 4 and no % 4 == 0, "bad jump at byte %d" % offset
        assert no >= remaining or on_chain(remaining - no), "jump into an instruction at byte %d" % offset
        assert size <= yes <= remaining + 4 and yes % 4 == 0
        offset, remaining = offset + yes, remaining - yes
    assert remaining == 0


@pytest.mark.parametrize("count", [1, 2, 4, 5, 9, 33, 100, 1000])
def test_port_filter_is_a_search_the_kernel_accepts(count):
    import random

    chooser = random.Random(count)
    ports = set(chooser.sample(range(1, 65535), count))
    code = _sockdiag.source_port_filter(ports)
    _audit_port_filter(code)
    probes = set(ports) | {port + 1 for port in ports} | {port - 1 for port in ports} | {0, 65535}
    probes |= set(chooser.sample(range(65536), 300))
    assert [port for port in sorted(probes) if _run_port_filter(code, port)] == sorted(ports)


def test_port_filter_for_the_most_ports_fits_16_bit_jumps():
    from ansible_collections.acceptq.remediation.plugins.module_utils.kernel import collect as _kernel

    code = _sockdiag.source_port_filter(range(1, _kernel.MAX_FILTERED_PORTS + 1))
    assert len(code) + 4 <= 0xFFFF  # the attribute's length, and the longest jump, are 16 bits


def test_kernel_runs_the_search_filter():
    servers, held = [], []
    for _ in range(13):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        servers.append(server)
        held.append(socket.create_connection(server.getsockname()))
        held.append(server.accept()[0])
    ports = sorted(server.getsockname()[1] for server in servers)
    try:
        chosen = ports[::2] + ports[1:4]  # nine ports: two S_LE levels above the S_EQ tests
        request = _sockdiag.inet_request(socket.AF_INET, [1], local_ports=chosen)
        counts = _sockdiag.count_states_by_port(_sockdiag.dump(request))
        assert counts == {port: {"ESTABLISHED": 1} for port in chosen}
    finally:
        for sock in held + servers:
            sock.close()
