# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Change a running listener's backlog in place, and tell when it is idle.

Host side: Python standard library and core.sockdiag only. A process with
CAP_SYS_PTRACE over php-fpm's master takes a duplicate of the master's
listening socket (pidfd_open + pidfd_getfd, Linux >= 5.6) and calls
listen() on it again: the same socket, its queue intact, the new backlog
visible as Send-Q at once. Where the kernel refuses, ``LiveRefused`` says why
so that the caller can fall back to a drain or a restart.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import errno
import os
import platform
import socket
import time

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import collect as _phpfpm
from ansible_collections.acceptq.remediation.plugins.module_utils.core import sockdiag as _sockdiag

# Syscall numbers since Linux 5.1 are the same on every architecture but alpha.
SYS_PIDFD_OPEN = 434
SYS_PIDFD_GETFD = 438
TCP_ESTABLISHED = 1


class LiveRefused(Exception):
    """The live change is not possible here; the message says why."""


class ListenerMissing(Exception):
    """Nothing listens where the pool says it listens."""


def parse_listen(listen):
    """('unix', path) or ('tcp', host, port) for a php-fpm listen value; ValueError when unreadable."""
    value = (listen or "").strip()
    if value.startswith("unix:"):
        value = value[5:]
    if value.startswith("/"):
        return ("unix", os.path.normpath(value))
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "*", value
    host = host.strip("[]").lower()
    if not port.isdigit():
        raise ValueError("listen = %r is neither a unix socket path nor [address:]port" % listen)
    return ("tcp", host if host not in ("", "0.0.0.0", "::") else "*", int(port))


def _matches(endpoint, sock):
    if endpoint[0] == "unix":
        return sock["family"] == "unix" and os.path.normpath(sock["path"] or "") == endpoint[1]
    if sock["family"] == "unix" or sock["local_port"] != endpoint[2]:
        return False
    if endpoint[1] == "*":
        return sock["local_address"] in ("0.0.0.0", "::")
    if endpoint[1] == "localhost":
        return sock["local_address"] in ("127.0.0.1", "::1")
    return sock["local_address"] == endpoint[1]


def _tcp_sockets(states, ports=None):
    request = _sockdiag.inet_both_families_request(states, ports)
    return _sockdiag.parse_inet(_sockdiag.dump(request, request_type=_sockdiag.TCPDIAG_GETSOCK))


def _unix_sockets(states):
    return _sockdiag.parse_unix(_sockdiag.dump(_sockdiag.unix_request(states)))


def find_listener(listen):
    """The listening socket (a sockdiag record: inode, recv_q = queue depth, send_q = backlog)."""
    endpoint = parse_listen(listen)
    if endpoint[0] == "unix":
        candidates = _unix_sockets([_sockdiag.TCP_LISTEN])
    else:
        candidates = _tcp_sockets([_sockdiag.TCP_LISTEN], [endpoint[2]])
    found = [sock for sock in candidates if sock["state"] == "LISTEN" and _matches(endpoint, sock)]
    if not found:
        raise ListenerMissing("nothing listens on %s" % listen)
    return found[0]


def holders(inode, proc_root="/proc", denied=None):
    """{pid: fd} of the processes holding socket inode (the first fd found in each).

    denied, a list, receives the pids whose fd directory could not be read.
    """
    target = "socket:[%d]" % inode
    found = {}
    for name in os.listdir(proc_root):
        if not name.isdigit():
            continue
        fd_dir = os.path.join(proc_root, name, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError as exc:
            if denied is not None and exc.errno in (errno.EACCES, errno.EPERM):
                denied.append(int(name))
            continue  # gone, or not ours to read
        for fd in fds:
            try:
                if os.readlink(os.path.join(fd_dir, fd)) == target:
                    found[int(name)] = int(fd)
                    break
            except OSError as exc:
                if denied is not None and exc.errno in (errno.EACCES, errno.EPERM):
                    denied.append(int(name))
                    break
                continue
    return found


def parent_of(pid, proc_root="/proc"):
    try:
        with open(os.path.join(proc_root, str(pid), "stat"), "rb") as stat:
            text = stat.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields follow the last ")".
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else None


def master_of(found, proc_root="/proc"):
    """(pid, fd) of the holder whose parent does not hold the socket: php-fpm's master, not a worker."""
    if not found:
        return None
    roots = [pid for pid in sorted(found) if parent_of(pid, proc_root) not in found]
    pid = roots[0] if roots else min(found)
    return pid, found[pid]


def _holds(owner, inode, proc_root):
    try:
        return os.readlink(os.path.join(proc_root, str(owner[0]), "fd", str(owner[1]))) == "socket:[%d]" % inode
    except (OSError, TypeError, IndexError):
        return False


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _refusal(call, pid, err):
    if err == errno.ENOSYS:
        return "%s is not available in kernel %s (Linux >= 5.6 is needed), or a seccomp filter hides it" % (
            call,
            platform.release(),
        )
    if err in (errno.EPERM, errno.EACCES):
        return (
            "%s on php-fpm's master (pid %d) was not permitted: it needs CAP_SYS_PTRACE over that process "
            "(a dropped capability, a seccomp filter, or Yama's ptrace_scope refuse it)" % (call, pid)
        )
    if err == errno.ESRCH:
        return "php-fpm's master (pid %d) exited before its socket could be taken" % pid
    return "%s on pid %d failed: %s" % (call, pid, os.strerror(err))


def take_fd(pid, fd):
    """A duplicate, in this process, of fd ``fd`` of process ``pid``; LiveRefused says why not."""
    if not hasattr(os, "pidfd_open"):
        libc = _libc()
        pidfd = libc.syscall(SYS_PIDFD_OPEN, ctypes.c_int(pid), ctypes.c_uint(0))
        if pidfd < 0:
            raise LiveRefused(_refusal("pidfd_open", pid, ctypes.get_errno()))
    else:
        try:
            pidfd = os.pidfd_open(pid)
        except OSError as exc:
            raise LiveRefused(_refusal("pidfd_open", pid, exc.errno)) from None
    try:
        libc = _libc()
        duplicate = libc.syscall(SYS_PIDFD_GETFD, ctypes.c_int(pidfd), ctypes.c_int(fd), ctypes.c_uint(0))
        if duplicate < 0:
            raise LiveRefused(_refusal("pidfd_getfd", pid, ctypes.get_errno()))
        return duplicate
    finally:
        os.close(pidfd)


def relisten(fd, backlog):
    """listen(fd, backlog) on a taken duplicate, then close the duplicate (the owner keeps its own)."""
    sock = socket.socket(fileno=fd)
    try:
        sock.listen(backlog)
    finally:
        sock.close()  # closes only our duplicate


def somaxconn(proc_root="/proc"):
    try:
        with open(os.path.join(proc_root, "sys/net/core/somaxconn")) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def apply(listen, backlog, check_mode=False, proc_root="/proc", owner=None):
    """Set the backlog of the socket ``listen`` names, live. Returns a result dict.

    owner: (pid, fd) of the master's listening fd when known (the gathered
    evidence has it); found through /proc otherwise. Raises ListenerMissing
    (nothing listens), LiveRefused (the kernel refuses: fall back), ValueError
    (bad arguments).
    """
    if not isinstance(backlog, int) or backlog < 1:
        raise ValueError("backlog must be a positive integer, got %r" % (backlog,))
    listener = find_listener(listen)
    denied = []
    if owner is None or not _holds(owner, listener["inode"], proc_root):
        owner = master_of(holders(listener["inode"], proc_root, denied), proc_root)
    if owner is None:
        if denied:
            raise LiveRefused(
                "the process holding %s could not be found: reading /proc/<pid>/fd of %d process(es) was not "
                "permitted (it needs CAP_SYS_PTRACE, as taking the socket does)" % (listen, len(denied))
            )
        raise LiveRefused("no process visible here holds %s (socket inode %d)" % (listen, listener["inode"]))
    pid, fd = owner
    limit = somaxconn(proc_root)
    expected = min(backlog, limit) if limit else backlog
    result = {
        "listen": listen,
        "inode": listener["inode"],
        "pid": pid,
        "fd": fd,
        "queue_depth": listener["recv_q"],
        "send_q_before": listener["send_q"],
        "send_q": listener["send_q"],
        "backlog": backlog,
        "somaxconn": limit,
        "changed": listener["send_q"] != expected,
    }
    if not result["changed"]:
        return result
    # Taken even in check mode (and closed at once): says whether the live change is possible.
    duplicate = take_fd(pid, fd)
    if check_mode:
        os.close(duplicate)
        return result
    relisten(duplicate, backlog)
    after = find_listener(listen)
    result["send_q"] = after["send_q"]
    result["queue_depth"] = after["recv_q"]
    if after["inode"] != listener["inode"]:
        raise LiveRefused("the listener on %s was replaced while it was changed (php-fpm restarted?)" % listen)
    return result


def _connections(endpoint, listener):
    """Accepted or queued connections of a listener: ESTABLISHED sockets on its address."""
    if endpoint[0] == "unix":
        # An accepted unix socket carries its listener's name; the client's end has none.
        return sum(
            1
            for sock in _unix_sockets([TCP_ESTABLISHED])
            if sock["state"] == "ESTABLISHED" and os.path.normpath(sock["path"] or "") == endpoint[1]
        )
    wildcard = listener["local_address"] in ("0.0.0.0", "::")
    return sum(
        1
        for sock in _tcp_sockets([TCP_ESTABLISHED], [endpoint[2]])
        if sock["local_port"] == endpoint[2] and (wildcard or sock["local_address"] == listener["local_address"])
    )


def in_flight(listen, status_path, timeout=2.0):
    """Requests the pool is serving besides the status request itself, from its status page
    (``active processes`` counts the worker answering it); None when the page cannot be read."""
    pool = {"listen": listen, "settings": {"pm.status_path": status_path}}
    try:
        status = _phpfpm.read_status(pool, timeout=timeout)
    except _phpfpm.StatusError:
        return None
    try:
        return max(0, int(status.get("active processes")) - 1)
    except (TypeError, ValueError):
        return None


def wait_idle(listen, timeout, settle=1.0, interval=0.1, clock=time.monotonic, sleep=time.sleep, status_path=None):
    """Wait until the listener's queue is empty, no connection to it is open and (with the pool's
    ``pm.status_path``) its status page shows no request in flight, for ``settle`` seconds.

    Returns {"idle": bool, "waited_s", "queue_depth", "connections", "in_flight"} (the last reading;
    in_flight None without a readable status page).
    """
    endpoint = parse_listen(listen)
    start = clock()
    quiet_since = None
    while True:
        listener = find_listener(listen)
        open_connections = _connections(endpoint, listener)
        # Asked only when the socket is quiet: a status request to a pool that is not
        # accepting would itself wait in the queue it is meant to see empty.
        quiet = listener["recv_q"] == 0 and open_connections == 0
        serving = in_flight(listen, status_path) if status_path and quiet else None
        now = clock()
        reading = {
            "waited_s": round(now - start, 3),
            "queue_depth": listener["recv_q"],
            "connections": open_connections,
            "in_flight": serving,
        }
        if quiet and not serving and (serving is not None or not status_path):
            quiet_since = now if quiet_since is None else quiet_since
            if now - quiet_since >= settle:
                return dict(reading, idle=True)
        else:
            quiet_since = None
        if now - start >= timeout:
            return dict(reading, idle=False)
        sleep(interval)


# A script that does not exist: any worker answers it (404 "File not found."), without running PHP code.
PROBE_SCRIPT = "/acceptq-probe-does-not-exist.php"


def probe(listen, timeout=5.0):
    """Send one real FastCGI request to the pool; return its status line. OSError/ValueError when unserved."""
    endpoint = parse_listen(listen)
    if endpoint[0] == "unix":
        family, target = socket.AF_UNIX, endpoint[1]
    else:
        host = {"*": "127.0.0.1", "localhost": "127.0.0.1"}.get(endpoint[1], endpoint[1])
        family, target = (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, endpoint[2])
    params = (
        ("SCRIPT_FILENAME", PROBE_SCRIPT),
        ("SCRIPT_NAME", PROBE_SCRIPT),
        ("REQUEST_URI", PROBE_SCRIPT),
        ("REQUEST_METHOD", "GET"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
    )
    stdout = _phpfpm.fcgi_get(family, target, params, timeout)
    if stdout is None:
        raise ValueError("the connection closed before the end of the response")
    return stdout.split(b"\n", 1)[0].decode("latin-1").strip() or "answered"
