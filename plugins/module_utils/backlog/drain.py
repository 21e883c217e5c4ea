# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the drain of php-fpm pools on one nginx host: which upstream ``server`` lines get ``down``.

Controller side, pure. The fleet topology (core.fleet) says which locations
of this nginx host pass to the pools on the backend host; each must pass
through an upstream where other servers stay up, and marking this backend
``down`` must not take more than ``max_share`` of the upstream's servers out.
Anything else is a refusal with its reason: the role then does not drain.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.acceptq.remediation.plugins.module_utils.core import fleet as _fleet
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx

# One upstream server statement alone on its line (a trailing comment allowed).
_SERVER_LINE = re.compile(r"^(?P<head>\s*server\s+(?P<address>[^\s;]+)[^;#{}]*?)\s*;(?P<tail>\s*(?:#.*)?)$")


def split_lines(text):
    """Lines with their endings, split on \n only (as nginx counts lines; not str.splitlines)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _where(item):
    return "%s:%s" % (item.get("file"), item.get("line"))


def mark_down(line, address):
    """The server line with ``down`` added, or None when it is not one statement for that address."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    found = _SERVER_LINE.match(body)
    if not found or found.group("address") != address:
        return None
    if re.search(r"\sdown(\s|$)", found.group("head")):
        return line
    return "%s down;%s%s" % (found.group("head"), found.group("tail"), ending)


def plan(
    backend,
    backend_evidence,
    nginx_host,
    nginx_evidence,
    pool_names,
    texts,
    max_share,
    backend_address=None,
    nginx_address=None,
    model_loader=_nginx.load_config,
):
    """{"links", "drains", "files", "refused"} for draining ``pool_names`` of ``backend`` on ``nginx_host``.

    texts: {path: text} of nginx's files as they are on disk now (read back on the nginx host); None
    plans from the files in the evidence (nginx -T), to learn which files to read back.
    drains: [{upstream, address, file, line, old, new, pool, servers, down_after}];
    files: [{path, content}] with every drain applied; refused: [messages] (nothing is drained then).
    """
    views = [_fleet.HostView(backend, backend_evidence, ansible_host=backend_address)]
    if nginx_host != backend:
        views.append(_fleet.HostView(nginx_host, nginx_evidence, ansible_host=nginx_address))
    else:
        merged = dict(backend_evidence or {})
        merged.update(dict((key, value) for key, value in (nginx_evidence or {}).items() if key not in merged))
        views = [_fleet.HostView(backend, merged, ansible_host=backend_address)]
    fleet = _fleet.Fleet(views, model_loader=model_loader)
    model = fleet.nginx_model(nginx_host)
    result = {"links": 0, "drains": [], "files": [], "refused": []}
    if not model:
        return result
    if texts is None:
        texts = model.get("files") or {}
    pools = [
        pool
        for pool in ((backend_evidence or {}).get("php_fpm") or {}).get("pools") or []
        if pool.get("name") in pool_names
    ]
    edits = {}
    for pool in pools:
        for link in fleet.passes_to(backend, pool):
            if link.nginx_host != nginx_host:
                continue
            result["links"] += 1
            label = "nginx on %s, %s" % (nginx_host, link.label())
            if not link.upstream:
                result["refused"].append(
                    "%s passes straight to pool %s (%s), not through an upstream with other servers: "
                    "nothing could take its requests during a restart" % (label, pool["name"], link.target)
                )
                continue
            upstream = model["upstreams"][link.upstream]
            servers = [server for server in upstream["servers"] if not server.get("backup")]
            ours = [server for server in servers if server.get("address") == link.target]
            for server in ours:
                edits.setdefault((server["file"], server["line"]), (link.upstream, server, pool, servers))
    for (path, line), (name, server, pool, servers) in sorted(edits.items(), key=lambda item: item[0]):
        down_after = set(
            _where(other) for other in servers if other.get("down") or (other["file"], other["line"]) in edits
        )
        where = "upstream %s at %s on %s" % (name, _where(server), nginx_host)
        if len(down_after) >= len(servers):
            result["refused"].append(
                "%s: marking %s down leaves no server up (%d server(s), %d down after the drain)"
                % (where, server["address"], len(servers), len(down_after))
            )
            continue
        if len(down_after) > max_share * len(servers):
            result["refused"].append(
                "%s: draining %s takes %d of %d servers out, more than the allowed share %g "
                "(php_fpm_backlog_drain_max_share)"
                % (where, server["address"], len(down_after), len(servers), max_share)
            )
            continue
        text = texts.get(path)
        lines = split_lines(text) if text is not None else []
        if text is None or line > len(lines):
            result["refused"].append("%s: %s could not be read back to edit" % (where, path))
            continue
        new = mark_down(lines[line - 1], server["address"])
        if new is None:
            result["refused"].append(
                "%s: line %d is not one 'server %s ...;' statement acceptq can mark down: %r"
                % (where, line, server["address"], lines[line - 1].strip())
            )
            continue
        result["drains"].append(
            {
                "upstream": name,
                "address": server["address"],
                "file": path,
                "line": line,
                "old": lines[line - 1].rstrip("\r\n"),
                "new": new.rstrip("\r\n"),
                "pool": pool["name"],
                "servers": len(servers),
                "down_after": len(down_after),
            }
        )
    if result["refused"]:
        result["drains"] = []
        return result
    by_file = {}
    for drain in result["drains"]:
        by_file.setdefault(drain["file"], []).append(drain)
    for path in sorted(by_file):
        lines = split_lines(texts[path])
        for drain in by_file[path]:
            lines[drain["line"] - 1] = mark_down(lines[drain["line"] - 1], drain["address"])
        result["files"].append({"path": path, "content": "".join(lines)})
    return result
