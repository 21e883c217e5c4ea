# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet: every audited host's evidence, and the topology between them.

Controller side. nginx and php-fpm may run on different hosts (the seed
incident: 10.121.96.200 -> 10.121.96.206:9000); a ``Link`` joins one nginx
location that passes upstream to the inventory host and listener (and the
php-fpm pool) that serve the target. A target is matched on the host's
interface addresses (the ``addresses`` evidence section), its ansible_host,
its inventory name and hostname; loopback and unix targets stay on the
nginx host. Rules that used "the nginx on this host" ask the fleet instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.acceptq.remediation.plugins.module_utils.core import endpoints


class HostView(object):
    """One inventory host as the audit saw it."""

    def __init__(
        self, name, evidence=None, status="ok", message="", ansible_host=None, groups=(), policy=None, workload=None
    ):
        self.name = name
        # What the inventory declares for this host (acceptq_policy, acceptq_workload), not yet validated.
        self.declared_policy = policy
        self.declared_workload = workload
        # The validated values, set by the audit (registry.audit_fleet).
        self.policy = None
        self.evidence = evidence
        self.status = status
        self.message = message
        self.ansible_host = ansible_host
        self.groups = tuple(groups)

    @property
    def gathered(self):
        return self.status == "ok" and isinstance(self.evidence, dict)

    def names(self):
        """Every name or address another host may use to reach this one, lower-cased."""
        found = [self.name]
        if self.ansible_host:
            found.append(str(self.ansible_host))
        evidence = self.evidence or {}
        addresses = evidence.get("addresses") or {}
        found.extend(addresses.get("addresses") or [])
        for key in ("hostname", "fqdn"):
            if addresses.get(key):
                found.append(addresses[key])
        if (evidence.get("host") or {}).get("hostname"):
            found.append(evidence["host"]["hostname"])
        names = []
        for name in found:
            name = str(name).strip().lower().strip("[]").rstrip(".")
            if name and name not in names and not endpoints.parse(name + ":1").loopback:
                names.append(name)
        return names


class Link(object):
    """One nginx location passing to one target, and what serves it (when known)."""

    def __init__(self, nginx_host, server, location, upstream, target, backend_host=None, listener=None, pool=None):
        self.nginx_host = nginx_host
        self.server = server
        self.location = location
        self.upstream = upstream
        self.target = target
        self.backend_host = backend_host
        self.listener = listener
        self.pool = pool
        self.problem = None  # why the target is not linked: "unknown", "ambiguous", "not listening"

    def label(self):
        return "%s location %s (%s:%s)" % (
            (self.server.get("names") or ["_"])[0],
            self.location.get("match"),
            self.location.get("file"),
            self.location.get("line"),
        )


def _pools(evidence):
    return ((evidence or {}).get("php_fpm") or {}).get("pools") or []


def _listeners(evidence):
    return ((evidence or {}).get("sockets") or {}).get("listeners") or []


def pool_for(evidence, listening):
    """The php-fpm pool of a host that listens on an Endpoint, or None."""
    for pool in _pools(evidence):
        listen = endpoints.parse(pool.get("listen"))
        if listen is not None and (listen == listening or endpoints.reaches(listening, listen)):
            return pool
    return None


def _is_ip(host):
    return host.replace(".", "").isdigit() or ":" in host


def _serves(target, local, same_host):
    """Whether a listener (an Endpoint from the sockets evidence) on a candidate host serves the target."""
    if target.kind == "unix":
        return local.kind == "unix" and local.path == target.path
    if local.kind != "tcp" or local.port != target.port:
        return False
    if local.wildcard or local.host == target.host:
        return True
    if local.loopback:
        return same_host and target.loopback
    # A name (not an address) reaches whichever of the host's addresses it resolves to.
    return not _is_ip(target.host) and not target.loopback


class Fleet(object):
    """{name: HostView} plus the topology, computed once per audit."""

    def __init__(self, hosts, model_loader=None):
        self.hosts = dict((host.name, host) for host in hosts)
        self._model_loader = model_loader
        self._models = {}
        self._links = None
        self.address_owners = {}
        for host in self.hosts.values():
            for name in host.names():
                self.address_owners.setdefault(name, [])
                if host.name not in self.address_owners[name]:
                    self.address_owners[name].append(host.name)

    # -- nginx models, parsed once per host per audit

    def nginx_model(self, name):
        if name not in self._models:
            host = self.hosts.get(name)
            section = (host.evidence or {}).get("nginx") if host and host.gathered else None
            if not section or not section.get("binary") or self._model_loader is None:
                self._models[name] = None
            else:
                self._models[name] = self._model_loader(section)
        return self._models[name]

    def forget(self, name):
        """Leave a host out of the topology (its judging was stopped at a limit)."""
        self._models[name] = None
        host = self.hosts.get(name)
        if host is not None:
            host.status, host.message = "failed", "judging stopped at a limit"
        self._links = None

    def groups(self):
        """{group: [hosts]} from the inventory (ungrouped hosts are in no group)."""
        found = {}
        for host in self.hosts.values():
            for group in host.groups:
                if group not in ("all", "ungrouped"):
                    found.setdefault(group, []).append(host.name)
        return dict((group, sorted(names)) for group, names in found.items())

    def conflicts(self):
        """{address: [hosts]} claimed by more than one host (loopback excluded)."""
        return dict((address, owners) for address, owners in self.address_owners.items() if len(owners) > 1)

    # -- topology

    @property
    def links(self):
        if self._links is None:
            self._links = []
            for name in sorted(self.hosts):
                model = self.nginx_model(name)
                if model:
                    self._links.extend(self._links_of(name, model))
        return self._links

    def _links_of(self, name, model):
        from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as nginx_model

        found = []
        for server in model.get("servers") or []:
            for location in server.get("locations") or []:
                passed = location.get("pass")
                if not passed:
                    continue
                # Each address with the upstream it comes through (a map can lead to several);
                # unresolved targets are the nginx concern's own finding (AQ-NGINX-014).
                for upstream, target in nginx_model.upstream_links(model, location):
                    link = Link(name, server, location, upstream, target)
                    self._resolve(link)
                    found.append(link)
        return found

    def _resolve(self, link):
        endpoint = endpoints.parse(link.target)
        if endpoint is None:
            link.problem = "unresolved"
            return
        if endpoint.kind == "unix" or endpoint.loopback:
            candidates = [link.nginx_host]
        else:
            candidates = self.address_owners.get(endpoint.host) or []
            if link.nginx_host in candidates:
                candidates = [link.nginx_host]
        if not candidates:
            link.problem = "unknown"
            return
        gathered = [name for name in candidates if self.hosts[name].gathered]
        listening = []
        for name in gathered:
            for listener in _listeners(self.hosts[name].evidence):
                if _serves(endpoint, endpoints.of_listener(listener), same_host=name == link.nginx_host):
                    listening.append((name, listener))
                    break
        if len(candidates) > 1 and len(set(name for name, _listener in listening)) != 1:
            link.problem = "ambiguous"
            link.backend_host = None
            return
        if listening:
            link.backend_host, link.listener = listening[0]
        else:
            link.backend_host = candidates[0]
            if not self.hosts[candidates[0]].gathered:
                link.problem = "not gathered"
        evidence = self.hosts[link.backend_host].evidence
        link.pool = pool_for(evidence, endpoints.of_listener(link.listener)) if link.listener else None
        if link.pool is None and not link.listener:
            # php-fpm may be down: its configuration still says where it listens.
            for pool in _pools(evidence):
                listen = endpoints.parse(pool.get("listen"))
                if (
                    listen is not None
                    and listen.kind == endpoint.kind
                    and (
                        (listen.kind == "unix" and listen.path == endpoint.path)
                        or (listen.kind == "tcp" and listen.port == endpoint.port)
                    )
                ):
                    link.pool = pool
                    break
        if link.listener is None and link.pool is None and link.problem is None:
            link.problem = "not listening"

    def workload_of(self, name, default=None):
        """The effective workload of a host (its own declaration), else default."""
        host = self.hosts.get(name)
        return (host.policy or {}).get("workload") if host and host.policy else default

    def passes_to(self, host, pool):
        """The links whose target is this pool on this host (from any nginx host)."""
        return [
            link
            for link in self.links
            if link.backend_host == host
            and link.pool is not None
            and link.pool.get("name") == pool.get("name")
            and link.pool.get("binary") == pool.get("binary")
        ]

    def unresolved(self):
        return [link for link in self.links if link.problem in ("unknown", "ambiguous", "unresolved")]
