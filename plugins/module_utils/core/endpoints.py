# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One reading of an address: nginx upstream servers and pass targets, php-fpm
listen values, listeners from socket diagnostics and inventory addresses.

Pure Python, no imports beyond the standard library.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

LOOPBACK_NAMES = ("localhost", "ip6-localhost", "ip6-loopback", "localhost.localdomain")
WILDCARDS = ("*", "0.0.0.0", "::", "")


class Endpoint(object):
    """('unix', path) or ('tcp', host, port): host lower-cased, without brackets."""

    __slots__ = ("kind", "host", "port", "path")

    def __init__(self, kind, host=None, port=None, path=None):
        self.kind, self.host, self.port, self.path = kind, host, port, path

    @property
    def loopback(self):
        return self.kind == "tcp" and (
            self.host in LOOPBACK_NAMES or self.host.startswith("127.") or self.host == "::1"
        )

    @property
    def wildcard(self):
        return self.kind == "tcp" and self.host in WILDCARDS

    def __eq__(self, other):
        return isinstance(other, Endpoint) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def key(self):
        return (self.kind, self.path) if self.kind == "unix" else (self.kind, self.host, self.port)

    def __repr__(self):
        return "unix:%s" % self.path if self.kind == "unix" else "%s:%s" % (self.host, self.port)


def parse(value, default_port=80):
    """An Endpoint for 'unix:/p', '/p', 'host:port', '[v6]:port', 'port' or 'host'; None when empty.

    A bare port (php-fpm's "listen = 9000") listens on every address.
    """
    value = (value or "").strip()
    if not value or value == "undefined":
        return None
    if value.startswith("unix:"):
        return Endpoint("unix", path=os.path.normpath(value[5:].rstrip(":")))
    if value.startswith("/"):
        return Endpoint("unix", path=os.path.normpath(value))
    if value.startswith("["):
        host, _sep, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else str(default_port)
    elif value.count(":") > 1:  # a bare IPv6 address
        host, port = value, str(default_port)
    else:
        host, sep, port = value.rpartition(":")
        if not sep:
            host, port = ("*", value) if value.isdigit() else (value, str(default_port))
    try:
        port = int(port)
    except ValueError:
        return None
    return Endpoint("tcp", host=host.lower().rstrip("."), port=port)


def of_listener(listener):
    """The Endpoint of a listener record from the sockets evidence."""
    if listener.get("family") == "unix":
        return Endpoint("unix", path=os.path.normpath(listener.get("path") or "(unnamed)"))
    return Endpoint("tcp", host=(listener.get("address") or "").lower(), port=listener.get("port"))


def reaches(target, listening):
    """Whether a connection to ``target`` (on the listening host) reaches a socket listening on ``listening``."""
    if target is None or listening is None or target.kind != listening.kind:
        return False
    if target.kind == "unix":
        return target.path == listening.path
    if target.port != listening.port:
        return False
    if listening.wildcard or target.host == listening.host:
        return True
    return target.loopback and listening.loopback
