# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side of the kernel concern: the queue sysctls and TcpExt counters,
every listening socket with its accept queue, and connections per port.

Python 3 standard library only. The sockets and connections sections are
the evidence most concerns judge on (queues, owners, CLOSE_WAIT); they are
gathered here once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import time

from ansible_collections.acceptq.remediation.plugins.module_utils.core import sockdiag as _sockdiag
from ansible_collections.acceptq.remediation.plugins.module_utils.core.evidence import (
    EvidenceError,
    Section,
    _open_fds,
    context_netns,
    process_name,
    read_text,
    start_background,
)

KERNEL_SYSCTLS = (
    "net.core.somaxconn",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_abort_on_overflow",
)
# Accept-queue counters, SYN-queue counters, and TCPBacklogDrop, which counts
# a socket's own receive backlog and is kept apart from both.
ACCEPT_QUEUE_COUNTERS = ("ListenOverflows", "ListenDrops")
SYN_QUEUE_COUNTERS = ("TCPReqQFullDrop", "TCPReqQFullDoCookies", "SyncookiesSent")
OTHER_COUNTERS = ("TCPBacklogDrop",)
TCPEXT_COUNTERS = ACCEPT_QUEUE_COUNTERS + SYN_QUEUE_COUNTERS + OTHER_COUNTERS


def parse_netstat(text, source="/proc/net/netstat"):
    """Parse /proc/net/netstat (header line, value line, per protocol)."""
    counters = {}
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) % 2:
        raise EvidenceError("%s: odd number of lines (%d); a header or value line is missing" % (source, len(lines)))
    for index in range(0, len(lines), 2):
        header, values = lines[index], lines[index + 1]
        header_proto, _sep, names = header.partition(":")
        value_proto, _sep, numbers = values.partition(":")
        if header_proto != value_proto:
            raise EvidenceError(
                "%s:%d: values for %r follow the header of %r" % (source, index + 2, value_proto, header_proto)
            )
        names, numbers = names.split(), numbers.split()
        if len(names) != len(numbers):
            raise EvidenceError("%s:%d: %d names but %d values" % (source, index + 2, len(names), len(numbers)))
        for name, number in zip(names, numbers):
            try:
                counters["%s.%s" % (header_proto, name)] = int(number)
            except ValueError:
                raise EvidenceError("%s:%d: %s is %r, not an integer" % (source, index + 2, name, number)) from None
    return counters


def read_sysctl(proc_root, name):
    path = os.path.join(proc_root, "sys", *name.split("."))
    text = read_text(path).strip()
    try:
        return int(text)
    except ValueError:
        raise EvidenceError("%s: %r is not an integer" % (path, text)) from None


def read_tcpext_counters(proc_root):
    source = os.path.join(proc_root, "net/netstat")
    counters = parse_netstat(read_text(source), source)
    return dict((name, counters.get("TcpExt." + name)) for name in TCPEXT_COUNTERS)


def collect_kernel(context):
    proc_root = context["proc_root"]
    errors = context["errors"]
    section = {
        "netns": context_netns(context),
        "sysctls": {},
        "counters": None,
        "counters_previous": None,
        "counter_interval_s": None,
    }
    for name in KERNEL_SYSCTLS:
        try:
            section["sysctls"][name] = read_sysctl(proc_root, name)
        except EvidenceError as exc:
            section["sysctls"][name] = None
            errors.append({"section": "kernel", "source": name, "message": str(exc)})
    try:
        first = read_tcpext_counters(proc_root)
        interval = context["counter_sample_interval"]
        if interval > 0:
            started = time.time()
            time.sleep(interval)
            section["counters_previous"] = first
            section["counters"] = read_tcpext_counters(proc_root)
            section["counter_interval_s"] = round(time.time() - started, 3)
        else:
            section["counters"] = first
    except EvidenceError as exc:
        errors.append({"section": "kernel", "source": os.path.join(proc_root, "net/netstat"), "message": str(exc)})
    return section


def socket_owners(proc_root, inodes, hints=None):
    """Map socket inode -> (pid, fd) of the lowest pid holding it.

    hints: an earlier result ({inode: [pid, fd]}); a hint is kept when that fd
    still is that socket, so a repeated run costs one readlink per listener.
    The rest are found by scanning /proc/PID/fd in ascending pid order,
    stopping once every socket has its owner.
    """
    owners = {}
    hinted = {}
    for inode, hint in (hints or {}).items():
        try:
            inode, pid, fd = int(inode), int(hint[0]), int(hint[1])
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        if inode in inodes:
            hinted.setdefault(pid, []).append((fd, inode))
    for pid, held in hinted.items():
        # One handle on the fd directory per process: each check is then a
        # lookup of one name, not a walk of /proc/PID/fd/N.
        try:
            fd_dir = os.open(os.path.join(proc_root, str(pid), "fd"), os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            for fd, inode in held:
                try:
                    if os.readlink(str(fd), dir_fd=fd_dir) == "socket:[%d]" % inode:
                        owners[inode] = (pid, fd)
                except OSError:
                    continue
        finally:
            os.close(fd_dir)
    wanted = dict(("socket:[%d]" % inode, inode) for inode in inodes if inode not in owners)
    if not wanted:
        return owners
    try:
        pids = sorted((entry for entry in os.listdir(proc_root) if entry.isdigit()), key=int)
    except OSError:
        return owners
    for pid in pids:
        for fd, fd_dir in _open_fds(proc_root, pid):
            try:
                inode = wanted.pop(os.readlink(fd, dir_fd=fd_dir), None)
            except OSError:
                continue
            if inode is not None:
                owners[inode] = (int(pid), int(fd))
        if not wanted:
            break
    return owners


def listener_record(sock, owners, names):
    """One listening socket as reported evidence."""
    if sock["family"] == "unix":
        local = sock["path"] or "(unnamed)"
        record = {"family": "unix", "type": sock.get("type"), "path": sock["path"], "local": local}
    else:
        address = sock["local_address"]
        shown = "[%s]" % address if sock["family"] == "inet6" else address
        local = "%s:%d" % (shown, sock["local_port"])
        record = {
            "family": sock["family"],
            "type": "stream",
            "address": address,
            "port": sock["local_port"],
            "local": local,
        }
    holder = owners.get(sock["inode"])
    record.update(
        {
            "queue_depth": sock["recv_q"],
            "backlog_limit": sock["send_q"],
            "inode": sock["inode"],
            "owner": {"pid": holder[0], "name": names.get(holder[0])} if holder else None,
        }
    )
    return record


def build_listeners(inet_sockets, unix_sockets, owners, names=None):
    listening = [sock for sock in inet_sockets + unix_sockets if sock["state"] == "LISTEN"]
    records = [listener_record(sock, owners, names or {}) for sock in listening]
    records.sort(key=lambda record: (record["family"], record["local"]))
    return records


def _dump_listeners(errors, label, request, parse):
    try:
        return parse(_sockdiag.dump(request))
    except (OSError, _sockdiag.SockDiagError) as exc:
        errors.append(
            {
                "section": "sockets",
                "source": "netlink sock_diag %s" % label,
                "message": "socket table unreadable: %s" % exc,
            }
        )
        return None


def collect_sockets(context):
    errors = context["errors"]
    section = {"netns": context_netns(context), "listeners": [], "source": "netlink sock_diag"}
    readable = True
    try:
        # Both families in one request, as for the connections below.
        request = _sockdiag.inet_both_families_request([_sockdiag.TCP_LISTEN])
        inet_sockets = _sockdiag.parse_inet(_sockdiag.dump(request, request_type=_sockdiag.TCPDIAG_GETSOCK))
    except (OSError, _sockdiag.SockDiagError):
        inet_sockets = []
        for family, label in ((socket.AF_INET, "tcp (AF_INET)"), (socket.AF_INET6, "tcp (AF_INET6)")):
            request = _sockdiag.inet_request(family, [_sockdiag.TCP_LISTEN])
            parsed = _dump_listeners(errors, label, request, _sockdiag.parse_inet)
            readable = readable and parsed is not None
            inet_sockets.extend(parsed or [])
    if readable:
        context["listened_ports"] = set(sock["local_port"] for sock in inet_sockets if sock["state"] == "LISTEN")
    listened = context.get("listened_ports")
    section["listened_ports"] = sorted(listened) if listened is not None else None
    if listened is None or listened:
        # The connection dump needs only the ports: it runs while the rest is read.
        start_background(context, "connections", count_connections, listened)
    request = _sockdiag.unix_request([_sockdiag.TCP_LISTEN])
    unix_sockets = _dump_listeners(errors, "unix", request, _sockdiag.parse_unix) or []
    listening = set(sock["inode"] for sock in inet_sockets + unix_sockets if sock["state"] == "LISTEN")
    owners = socket_owners(context["proc_root"], listening, (context.get("hints") or {}).get("owners"))
    names = dict((pid, process_name(context["proc_root"], pid)) for pid in set(pid for pid, _fd in owners.values()))
    section["listeners"] = build_listeners(inet_sockets, unix_sockets, owners, names)
    # Where each owner holds its listener: hints that make the next run cheap.
    section["owner_fds"] = dict((str(inode), [pid, fd]) for inode, (pid, fd) in owners.items())
    return section


# Connection states worth counting per local port: CLOSE_WAIT on a backend
# port is a connection the client gave up on, still waiting to be accepted
# or answered.
COUNTED_STATES = (1, 8)  # ESTABLISHED, CLOSE_WAIT


# The bytecode filter's jumps are 16-bit: past this many ports, count everything.
MAX_FILTERED_PORTS = 4000


def count_connections(listened):
    """(counts {port: {state: n}}, errors, filtered) for the listened ports.

    listened: the sockets section's ports (the kernel then filters the dump:
    client-side sockets on ephemeral ports never reach us), or None to count
    every port. Touches nothing shared, so it can run in a thread.
    """
    errors = []
    counts = {}
    ports = listened if listened and len(listened) <= MAX_FILTERED_PORTS else None
    try:
        # Both families from one walk of the kernel's connection table; per
        # family (two walks) only where the kernel refuses the legacy request.
        request = _sockdiag.inet_both_families_request(COUNTED_STATES, local_ports=ports)
        _sockdiag.count_dump(request, counts, request_type=_sockdiag.TCPDIAG_GETSOCK)
        families = ()
    except (OSError, _sockdiag.SockDiagError):
        counts.clear()
        families = (socket.AF_INET, socket.AF_INET6)
    for family in families:
        try:
            request = _sockdiag.inet_request(family, COUNTED_STATES, local_ports=ports)
            _sockdiag.count_dump(request, counts)
        except (OSError, _sockdiag.SockDiagError) as exc:
            errors.append(
                {
                    "section": "connections",
                    "source": "netlink sock_diag tcp (%s)" % ("AF_INET" if family == socket.AF_INET else "AF_INET6"),
                    "message": "socket table unreadable: %s" % exc,
                }
            )
    return counts, errors, ports is not None


def _counts_for(listened, job):
    """What count_connections(listened) gives, taken from a started job where it can be.

    A job started on the previous run's ports is mended: the ports no longer
    listened on are dropped and the new ones counted by a second, small dump.
    """
    if job is None:
        return count_connections(listened)
    counts, errors, filtered = job.result()
    hinted = job.args[0]
    if hinted == listened:
        return counts, errors, filtered
    if listened is None or len(listened) > MAX_FILTERED_PORTS:
        # Every port is wanted: a job filtered to some cannot give that.
        return (counts, errors, filtered) if not filtered else count_connections(listened)
    counts = dict((port, states) for port, states in counts.items() if port in listened)
    missing = listened - hinted if filtered else ()
    if missing:
        more, more_errors, _filtered = count_connections(missing)
        counts.update(more)
        errors = errors + [error for error in more_errors if error not in errors]
    return counts, errors, True


def collect_connections(context):
    """ESTABLISHED and CLOSE_WAIT per local port, for the ports listened on."""
    listened = context.get("listened_ports")
    job = context.get("background", {}).pop("connections", None)
    if listened is not None and not listened:
        if job is not None:
            job.result()  # not left running behind the caller
        return {"netns": context_netns(context), "by_local_port": {}, "totals": {}, "filtered": True}
    counts, errors, filtered = _counts_for(listened, job)
    context["errors"].extend(errors)
    totals = {}
    for states in counts.values():
        for state, number in states.items():
            totals[state] = totals.get(state, 0) + number
    return {
        "netns": context_netns(context),
        "by_local_port": dict((str(port), states) for port, states in sorted(counts.items())),
        "totals": totals,
        "filtered": filtered,
    }


def _port_set(ports):
    """A previous run's listened ports (a list of port numbers) as a set, or None."""
    if not isinstance(ports, list) or not ports:
        return None
    if not all(isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536 for port in ports):
        return None
    return frozenset(ports)


def start_connections(context):
    """The connection dump is the longest job: start it now on the last run's ports
    (a snapshot's hint) rather than after the listener dump."""
    ports = _port_set((context.get("hints") or {}).get("ports"))
    if ports is not None:
        start_background(context, "connections", count_connections, ports)


SECTIONS = (
    # sockets early: it starts the connection dump when no hint did.
    Section("sockets", collect_sockets, 10),
    Section("kernel", collect_kernel, 20),
    Section("connections", collect_connections, 10, waits=True, start=start_connections),
)
