# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side of the host concern: what the host is (always gathered) and the
addresses it answers on, which link an nginx upstream server on another host
to this host's listeners (core/fleet.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket

from ansible_collections.acceptq.remediation.plugins.module_utils.core.evidence import (
    EvidenceError,
    Section,
    collect_host,
    read_text,
)

# A host with more local addresses than this is a router, not a web host:
# the rest would only bloat the evidence.
MAX_ADDRESSES = 256


def parse_fib_trie(text):
    """Local IPv4 addresses: the "|-- A.B.C.D" entries followed by "/32 host LOCAL"."""
    found, candidate = [], None
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("|-- "):
            candidate = stripped[4:]
        elif candidate and stripped.startswith("/32 host LOCAL"):
            if candidate not in found:
                found.append(candidate)
            candidate = None
    return found


def parse_if_inet6(text):
    """Addresses of /proc/net/if_inet6 ("32 hex digits, index, prefix, scope, flags, name")."""
    found = []
    for line in text.split("\n"):
        fields = line.split()
        if len(fields) < 6 or len(fields[0]) != 32:
            continue
        try:
            address = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(fields[0]))
        except ValueError:
            continue
        if address not in found:
            found.append(address)
    return found


def collect_addresses(context):
    proc_root = context["proc_root"]
    section = {"hostname": socket.gethostname(), "addresses": []}
    try:
        section["fqdn"] = socket.getfqdn() if context.get("resolve_fqdn") else None
    except OSError:
        section["fqdn"] = None
    for name, parse in (("net/fib_trie", parse_fib_trie), ("net/if_inet6", parse_if_inet6)):
        path = os.path.join(proc_root, name)
        try:
            text = read_text(path)
        except EvidenceError as exc:
            if name == "net/if_inet6" and not os.path.exists(path):
                continue  # IPv6 disabled: nothing to read, nothing wrong
            context["errors"].append({"section": "addresses", "source": path, "message": str(exc)})
            continue
        for address in parse(text):
            if address not in section["addresses"]:
                section["addresses"].append(address)
    section["truncated"] = len(section["addresses"]) > MAX_ADDRESSES
    section["addresses"] = section["addresses"][:MAX_ADDRESSES]
    return section


SECTIONS = (
    Section("host", collect_host, 0, linux_only=False),
    Section("addresses", collect_addresses, 5),
)
