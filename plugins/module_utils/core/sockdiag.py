# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Socket diagnostics over netlink (NETLINK_SOCK_DIAG), as ``ss`` reads them.

Python 3 standard library only: this runs on the audited host. For a
listening socket the kernel reports the current accept-queue depth as the
receive queue and the effective backlog (after the somaxconn cap) as the send
queue, for TCP and unix sockets alike. The parsers are pure functions over the
raw netlink bytes so captured dumps can be replayed in tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import socket
import struct
import sys

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
# The legacy inet_diag request: the kernel answers it for both address
# families in one walk of the connection table (replies carry this type).
TCPDIAG_GETSOCK = 18
INET_REPLY_TYPES = (SOCK_DIAG_BY_FAMILY, TCPDIAG_GETSOCK)
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3

TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
}
TCP_LISTEN = 10
UNIX_SOCK_TYPES = {1: "stream", 2: "dgram", 5: "seqpacket"}

UDIAG_SHOW_NAME = 0x01
UDIAG_SHOW_RQLEN = 0x10
UNIX_DIAG_NAME = 0
UNIX_DIAG_RQLEN = 4

_NLMSGHDR = struct.Struct("=IHHII")
_HEADER_PREFIX = struct.Struct("=IH")
_RTATTR = struct.Struct("=HH")
# inet_diag_msg: family, state, timer, retrans, then inet_diag_sockid
# (ports big-endian, addresses raw, interface, cookie), then five u32.
_INET_TAIL = struct.Struct("=IIIII")
_INET_MSG_LEN = 72
_UNIX_MSG = struct.Struct("=BBBBIII")


class SockDiagError(Exception):
    """The kernel refused or could not answer a socket-diagnostics dump."""


def state_mask(states):
    mask = 0
    for state in states:
        mask |= 1 << state
    return mask


def inet_request(family, states, local_ports=None):
    """Bytes of an inet_diag_req_v2 dump request for TCP sockets.

    local_ports: only sockets with one of these local ports (filtered in the kernel).
    """
    payload = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, state_mask(states))
    payload += b"\0" * 48  # inet_diag_sockid: match every socket
    if local_ports:
        code = source_port_filter(local_ports)
        payload += _RTATTR.pack(_RTATTR.size + len(code), INET_DIAG_REQ_BYTECODE) + code
    return payload


INET_DIAG_REQ_BYTECODE = 1
INET_DIAG_BC_JMP = 1
INET_DIAG_BC_S_LE = 3
INET_DIAG_BC_S_EQ = 11
_BC_OP = struct.Struct("=BBH")
# Ports compared one by one once a search has narrowed them down to this many.
_FILTER_LEAF = 4


def source_port_filter(ports):
    """inet_diag bytecode accepting sockets whose local port is one of ports.

    A binary search over the sorted ports, so that the kernel runs about
    log2(n) + 4 tests per socket rather than up to n (with thousands of
    ports and sockets, the difference is tens of milliseconds of kernel
    time). An S_LE test (8 bytes) falls through to the lower half and jumps
    to the upper one; the last few ports are S_EQ tests, each followed by a
    JMP (4 bytes) to the end (accept) unless it ends the program, and a
    leaf's last miss jumps past the end (reject). The kernel only takes
    forward jumps to instructions reached by falling through, which this
    layout keeps. Up to four ports it is the OR chain ss compiles.
    """
    ports = sorted(set(ports))
    if not ports:
        return b""
    ops = []  # [code, port, target]: target is an index in ops, "accept" or "reject"

    def emit(low, high):
        if high - low <= _FILTER_LEAF:
            for index in range(low, high):
                miss = "reject" if index == high - 1 else len(ops) + 2  # past this test's JMP
                ops.append([INET_DIAG_BC_S_EQ, ports[index], miss])
                ops.append([INET_DIAG_BC_JMP, None, "accept"])
            return
        middle = (low + high) // 2
        split = len(ops)
        ops.append([INET_DIAG_BC_S_LE, ports[middle - 1], None])
        emit(low, middle)
        ops[split][2] = len(ops)  # the upper half starts here
        emit(middle, high)

    emit(0, len(ports))
    ops.pop()  # the last JMP: falling off the end accepts
    offsets = []
    total = 0
    for code, _port, _target in ops:
        offsets.append(total)
        total += 4 if code == INET_DIAG_BC_JMP else 8
    ends = {"accept": total, "reject": total + 4}
    program = []
    for (code, port, target), offset in zip(ops, offsets):
        jump = (ends[target] if isinstance(target, str) else offsets[target]) - offset
        if code == INET_DIAG_BC_JMP:
            program.append(_BC_OP.pack(code, 4, jump))
        else:
            program.append(_BC_OP.pack(code, 8, jump) + _BC_OP.pack(0, 0, port))
    return b"".join(program)


def inet_both_families_request(states, local_ports=None):
    """Bytes of a legacy inet_diag_req (send with TCPDIAG_GETSOCK) for TCP sockets.

    The kernel treats it as a request for any family: IPv4 and IPv6 sockets
    come from one walk of the established table instead of one walk each.
    """
    payload = struct.pack("=BBBB", socket.AF_INET, 0, 0, 0) + b"\0" * 48 + struct.pack("=II", state_mask(states), 0)
    if local_ports:
        code = source_port_filter(local_ports)
        payload += _RTATTR.pack(_RTATTR.size + len(code), INET_DIAG_REQ_BYTECODE) + code
    return payload


def unix_request(states):
    """Bytes of a unix_diag_req dump request with names and queue lengths."""
    return struct.pack(
        "=BBHIIIII", socket.AF_UNIX, 0, 0, state_mask(states), 0, UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN, 0, 0
    )


def dump_runs(payload, seq=1, recv_size=65536, request_type=SOCK_DIAG_BY_FAMILY):
    """Send one dump request; yield (reply, type, offset, stride, count, length)
    for each run of alike messages (see walk_runs) as each reply arrives.

    Stops after the kernel's NLMSG_DONE (or ack); raises SockDiagError on its error.
    Each reply is walked once and can be dropped once its runs are read, so
    a dump of thousands of sockets never sits in memory whole. The kernel
    fills one reply of at most 32 KiB per read, so 64 KiB always holds one.
    """
    header = _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), request_type, NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    try:
        sock.sendto(header + payload, (0, 0))
        while True:
            reply = sock.recv(recv_size)
            if not reply:
                return
            for run in walk_runs(reply):
                yield (reply,) + run
                if run[0] in (NLMSG_DONE, NLMSG_ERROR):  # an error of 0 is an ack: the end too
                    return
    finally:
        sock.close()


def dump(payload, seq=1, recv_size=65536, request_type=SOCK_DIAG_BY_FAMILY):
    """Send one dump request; return the raw reply bytes (all parts, joined)."""
    parts = []
    for reply, _type, _offset, _stride, _count, _length in dump_runs(payload, seq, recv_size, request_type):
        if not parts or parts[-1] is not reply:
            parts.append(reply)
    return b"".join(parts)


def _run_length(data, offset, stride, count):
    """How many messages from offset repeat the first one's length and type.

    Reads the six header bytes of every candidate message as strided slices
    and counts each column's leading matches: the per-message work stays in C.
    """
    limit = offset + (count - 1) * stride + 1
    for index in range(6):
        column = data[offset + index : limit + index : stride]
        matching = len(column) - len(column.lstrip(column[:1]))
        if matching < count:
            count = matching
    return count


def walk_runs(data):
    """Yield (type, offset, stride, count, length) for each run of alike messages.

    A run is consecutive netlink messages of one type and one length (a dump
    repeats one layout for every socket of a kind), starting at offset, one
    every stride bytes. Raises SockDiagError on a kernel error or a
    malformed header.
    """
    offset = 0
    size = len(data)
    while offset + _NLMSGHDR.size <= size:
        length, msg_type = _HEADER_PREFIX.unpack_from(data, offset)
        if length < _NLMSGHDR.size or offset + length > size:
            raise SockDiagError("malformed netlink message at byte %d" % offset)
        stride = (length + 3) & ~3
        count = 1
        if msg_type == NLMSG_ERROR:
            error = struct.unpack_from("=i", data, offset + _NLMSGHDR.size)[0] if length >= _NLMSGHDR.size + 4 else -1
            if error:
                raise SockDiagError("kernel answered error %d" % -error)
        elif msg_type != NLMSG_DONE and offset + stride + length <= size:
            count = _run_length(data, offset, stride, (size - offset - length) // stride + 1)
        yield msg_type, offset, stride, count, length
        offset += stride * count


def walk_messages(data):
    """Yield (type, body start, body end) of each netlink message, without copying."""
    for msg_type, offset, stride, count, length in walk_runs(data):
        for start in range(offset, offset + stride * count, stride):
            yield msg_type, start + _NLMSGHDR.size, start + length


def iter_messages(data):
    """Yield (type, body) for each netlink message; raise on a kernel error."""
    for msg_type, start, end in walk_messages(data):
        yield msg_type, data[start:end]


def _attributes(body, offset):
    attrs = {}
    while offset + _RTATTR.size <= len(body):
        length, attr_type = _RTATTR.unpack_from(body, offset)
        if length < _RTATTR.size:
            break
        attrs[attr_type] = body[offset + _RTATTR.size : offset + length]
        offset += (length + 3) & ~3
    return attrs


def parse_inet(data):
    """Parse an inet_diag dump into a list of socket dicts: what a listener record uses."""
    sockets = []
    for msg_type, start, end in walk_messages(data):
        if msg_type not in INET_REPLY_TYPES or end - start < _INET_MSG_LEN:
            continue
        family, state = data[start], data[start + 1]
        _expires, rqueue, wqueue, _uid, inode = _INET_TAIL.unpack_from(data, start + 52)
        inet = family == socket.AF_INET
        sockets.append(
            {
                "family": "inet" if inet else "inet6",
                "state": TCP_STATES.get(state, str(state)),
                "local_address": (
                    socket.inet_ntop(socket.AF_INET, data[start + 8 : start + 12])
                    if inet
                    else socket.inet_ntop(socket.AF_INET6, data[start + 8 : start + 24])
                ),
                "local_port": (data[start + 4] << 8) | data[start + 5],
                "recv_q": rqueue,
                "send_q": wqueue,
                "inode": inode,
            }
        )
    return sockets


def parse_unix(data):
    """Parse a unix_diag dump into a list of socket dicts."""
    sockets = []
    for msg_type, body in iter_messages(data):
        if msg_type != SOCK_DIAG_BY_FAMILY or len(body) < _UNIX_MSG.size:
            continue
        _family, sock_type, state, _pad, inode, _c0, _c1 = _UNIX_MSG.unpack_from(body, 0)
        attrs = _attributes(body, _UNIX_MSG.size)
        name = attrs.get(UNIX_DIAG_NAME, b"")
        if name.startswith(b"\0"):
            path = "@" + name[1:].decode("utf-8", "replace")
        else:
            path = name.rstrip(b"\0").decode("utf-8", "replace")
        rqueue = wqueue = None
        if len(attrs.get(UNIX_DIAG_RQLEN, b"")) >= 8:
            rqueue, wqueue = struct.unpack_from("=II", attrs[UNIX_DIAG_RQLEN])
        sockets.append(
            {
                "family": "unix",
                "type": UNIX_SOCK_TYPES.get(sock_type, str(sock_type)),
                "state": TCP_STATES.get(state, str(state)),
                "path": path,
                "recv_q": rqueue,
                "send_q": wqueue,
                "inode": inode,
            }
        )
    return sockets


def count_states_by_port(data, counts=None):
    """Count TCP sockets by (local port, state) in the bytes of an inet_diag dump."""
    return count_runs(((data,) + run for run in walk_runs(data)), counts)


def count_dump(payload, counts=None, request_type=SOCK_DIAG_BY_FAMILY):
    """Send an inet_diag dump request and count its sockets by (local port, state), reply by reply."""
    return count_runs(dump_runs(payload, request_type=request_type), counts)


def count_runs(runs, counts=None):
    """Count TCP sockets by (local port, state) from (reply, walk_runs...) tuples.

    Takes the state byte and the two source port bytes of every message in a
    run as strided slices and tallies them in C: with tens of thousands of
    connections, no per-message Python work is what keeps a gathering fast.
    """
    counts = {} if counts is None else counts
    tally = collections.Counter()
    for data, msg_type, offset, stride, count, length in runs:
        if msg_type not in INET_REPLY_TYPES or length < _NLMSGHDR.size + _INET_MSG_LEN:
            continue
        body = offset + _NLMSGHDR.size
        stop = offset + stride * count
        # inet_diag_msg: state at byte 1, source port big-endian at bytes 4-5,
        # packed four bytes a socket so that each tallies as one int.
        keys = bytearray(4 * count)
        keys[0::4] = data[body + 1 : stop : stride]
        keys[1::4] = data[body + 4 : stop : stride]
        keys[2::4] = data[body + 5 : stop : stride]
        tally.update(memoryview(keys).cast("I"))
    names = TCP_STATES
    for key, number in tally.items():
        state, high, low, _pad = key.to_bytes(4, sys.byteorder)
        port = (high << 8) | low
        per_port = counts.get(port)
        if per_port is None:
            per_port = counts[port] = {}
        name = names.get(state, str(state))
        per_port[name] = per_port.get(name, 0) + number
    return counts
