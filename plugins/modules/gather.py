#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gather
short_description: Gather accept-queue evidence from a host, read-only
version_added: "0.1.0"
description:
  - Reads, in one call, the raw evidence acceptq judges on the controller for the
    host's network namespace.
  - C(host) section (always), the system, kernel release, Python version and hostname.
  - C(kernel) section, net.core.somaxconn, net.ipv4.tcp_max_syn_backlog,
    tcp_syncookies and tcp_abort_on_overflow, and the TcpExt counters ListenOverflows,
    ListenDrops (accept queue), TCPReqQFullDrop, TCPReqQFullDoCookies, SyncookiesSent
    (SYN queue) and TCPBacklogDrop (a socket's own receive backlog, kept apart),
    sampled twice O(counter_sample_interval) seconds apart so that a rising counter
    can be told from an old one.
  - C(addresses) section, the host's interface addresses (C(/proc/net/fib_trie) local
    IPv4 entries and C(/proc/net/if_inet6)) and hostname, which link an nginx upstream
    server on another host to this host's listeners.
  - C(sockets) section, every listening TCP (IPv4 and IPv6) and unix socket, read
    with netlink socket diagnostics as C(ss) does, with its current accept-queue depth
    (Recv-Q), its effective backlog limit (Send-Q) and the processes holding it.
  - C(connections) section, ESTABLISHED and CLOSE_WAIT TCP connections counted per
    local port, for the ports a listener owns (the kernel filters the dump when the
    C(sockets) section is gathered too). CLOSE_WAIT on a backend port is a connection
    its client gave up on.
  - C(locks) section, files with processes blocked waiting for a lock
    (C(/proc/locks) "->" lines), with the path where a holder has it open, the
    holders, and the waiters counted by process name.
  - C(php_fpm) section, for every installed php-fpm binary (C(/usr/sbin/php-fpm*)),
    its C(-tt) result and each pool's effective listen, listen.backlog, pm settings,
    request_terminate_timeout and status path. Configuration errors are reported with
    the file and line php-fpm names. Each pool's C(definition) - the file and line of
    its C([name]) section and of its last C(listen.backlog) - is found by reading the
    main file C(-tt) names and its C(include=) globs; lines that do not parse are
    reported with file and line in the binary's C(conf_errors).
  - C(nginx) section, the nginx binary and version, the effective configuration as
    C(nginx -T) prints it (every file, includes resolved; the controller parses it),
    or, when the configuration does not pass the test, the files under its directory,
    so that errors can be located; the running worker count, and the last lines of
    every C(.log) file the nginx processes hold open (access and error logs).
  - C(logrotate) section, the logrotate binary and version; C(systemctl show) of every
    timer and the service it starts (C(logrotate.timer) with its drop-ins, OnCalendar,
    AccuracySec, RandomizedDelaySec, FixedRandomDelay, next and last firing), or without
    systemd the crontabs, C(cron.d) and run-parts scripts; the text of
    C(/etc/logrotate.conf) and every file it includes (bounded; parsed on the
    controller), the state file, the live and rotated logs its patterns match (path,
    size, mtime), the I/O scheduler of the block device under C(/var/log), a sha256 of
    C(/etc/machine-id) and the packaged php-fpm reopen scripts.
  - C(php_code) section, the PHP code that might lock its log writes, from the code roots (O(php_code_roots),
    php-fpm pools' C(chdir), nginx C(root) and C(fastcgi_param SCRIPT_FILENAME), with the parent of a
    C(public)-style document root) walked within O(php_code_limits) (files, bytes, seconds, depth; a
    directory is never entered twice, so symlink loops end; vendor/ included), and the text of the files
    whose bytes name C(flock), C(LOCK_EX), a locking option or a Monolog file handler. Skipped files
    (binary, too large, unreadable) are named; the controller parses the candidates.
  - A source that cannot be read becomes an entry in RV(evidence.errors) naming it;
    the rest of the evidence is still returned. Only the Python 3 standard library
    is needed on the host.
author:
  - acceptq contributors (@acceptq)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  sections:
    description:
      - Evidence sections to gather. C(host) is always included.
      - Omitted or empty, every section of every concern registered in
        C(plugins/module_utils/concerns.py) is gathered (the list grows with the
        concerns, so it is not fixed here); an unknown name fails the module and
        the message lists the valid ones.
    type: list
    elements: str
  counter_sample_interval:
    description:
      - Seconds between the two reads of the TcpExt counters. C(0) reads them once,
        and then no rate can be judged.
    type: float
    default: 1.0
  php_code_roots:
    description:
      - Directories of PHP code to walk for the C(php_code) section, besides those php-fpm and nginx name
        (the inventory's C(acceptq_php_code_roots)).
    type: list
    elements: path
    default: []
  php_code_limits:
    description:
      - Overrides of the C(php_code) walk's limits - C(max_files), C(max_file_bytes), C(max_candidate_bytes),
        C(max_shipped_bytes), C(max_seconds), C(max_depth).
    type: dict
    default: {}
  proc_root:
    description:
      - Where procfs is mounted. Only tests point this elsewhere.
    type: path
    default: /proc
attributes:
  check_mode:
    support: full
    details: The module never changes the host.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: linux
notes:
  - Counters and somaxconn are per network namespace; the evidence is for the
    namespace the module runs in.
  - Owning processes are found through C(/proc/PID/fd); without root, sockets of
    other users' processes show no owner.
seealso:
  - module: acceptq.remediation.audit
"""

EXAMPLES = r"""
- name: Gather accept-queue evidence
  acceptq.remediation.gather:
  register: __acceptq_evidence

- name: Read only the kernel settings and counters, without waiting
  acceptq.remediation.gather:
    sections: [kernel]
    counter_sample_interval: 0
"""

RETURN = r"""
evidence:
  description: The raw evidence, one key per section.
  returned: always
  type: dict
  contains:
    schema:
      description: Version of this document's layout.
      type: int
      sample: 1
    errors:
      description: Sources that could not be read, each with C(section), C(source) and C(message).
      type: list
      elements: dict
      sample:
        - section: kernel
          source: /proc/net/netstat
          message: "/proc/net/netstat: No such file or directory"
    host:
      description: Platform facts (system, kernel_release, python, hostname).
      type: dict
    kernel:
      description:
        - C(netns), C(sysctls) (name to integer, null when unreadable), C(counters) and
          C(counters_previous) (TcpExt name to integer), C(counter_interval_s).
      type: dict
      sample:
        netns: "net:[4026531840]"
        sysctls: {"net.core.somaxconn": 4096, "net.ipv4.tcp_max_syn_backlog": 4096}
        counters: {"ListenOverflows": 12, "ListenDrops": 12, "TCPBacklogDrop": 0}
        counter_interval_s: 1.0
    sockets:
      description:
        - C(listeners), each with C(family) (inet, inet6, unix), C(local), C(address)
          and C(port) or C(path), C(queue_depth), C(backlog_limit), C(inode),
          C(owner) (pid and name of the lowest pid holding it); C(owner_fds), inode to
          [pid, fd] of each owner; and C(listened_ports), the TCP ports listened on (null when
          the listener table was unreadable). The fact keeps the last two to make its next run
          cheap.
      type: dict
      sample:
        listeners:
          - {"family": "inet", "local": "0.0.0.0:80", "queue_depth": 0, "backlog_limit": 511,
             "owner": {"pid": 812, "name": "nginx"}}
    connections:
      description:
        - C(by_local_port) (port to state to count, for ESTABLISHED and CLOSE_WAIT), C(totals),
          and C(filtered) (true when the kernel limited the dump to listened ports).
      type: dict
      sample:
        by_local_port: {"9000": {"ESTABLISHED": 8, "CLOSE_WAIT": 120}}
        totals: {"ESTABLISHED": 8, "CLOSE_WAIT": 120}
    locks:
      description:
        - C(files) with blocked waiters, each with C(device), C(inode), C(path) (null when no
          holder has it open where we can see), C(kind), C(holders), C(waiters) and
          C(waiters_by_process); and C(waiters_total).
      type: dict
      sample:
        waiters_total: 37
        files:
          - {"path": "/var/log/app/error.log", "kind": ["FLOCK"], "waiters": 37,
             "holders": [{"pid": 812, "name": "php-fpm8.2"}], "waiters_by_process": {"php-fpm8.2": 37}}
    php_fpm:
      description:
        - C(binaries) (each with C(binary), C(version), C(conf), C(conf_files), C(conf_errors),
          C(ok), C(returncode), C(errors)) and C(pools) (each with C(binary), C(name), C(listen),
          C(listen_kind) tcp or unix, C(listen_backlog) as an integer, -1 meaning as large as
          somaxconn allows, C(settings), and C(definition) (null when no section defines it) with
          C(file), C(line), C(complete), C(errors), C(backlog) and C(sections)).
      type: dict
      sample:
        pools:
          - {"binary": "/usr/sbin/php-fpm8.2", "name": "www", "listen": "/run/php/php8.2-fpm.sock",
             "listen_kind": "unix", "listen_backlog": -1, "settings": {"pm": "dynamic", "pm.max_children": "5"}}
    nginx:
      description:
        - C(binary) (null when nginx is not installed), C(version), C(conf_path), C(dump)
          (C(returncode), C(stdout), C(stderr) of C(nginx -T)), C(files) (path to text, read only
          when the test failed), C(running), C(worker_count), C(cpu_count), and C(logs) (path to
          C(lines), the last lines, and C(error)).
      type: dict
      sample:
        binary: /usr/sbin/nginx
        version: 1.22.1
        conf_path: /etc/nginx/nginx.conf
        dump: {"returncode": 0, "stdout": "# configuration file /etc/nginx/nginx.conf:\n...", "stderr": ""}
        worker_count: 2
        logs: {"/var/log/nginx/access.log": {"lines": ["..."], "error": null}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acceptq.remediation.plugins.module_utils import concerns


def main():
    module = AnsibleModule(
        argument_spec=dict(
            # No choices/default in the spec: they follow concerns.py, which the
            # documentation cannot list without drifting from it.
            sections=dict(type="list", elements="str"),
            counter_sample_interval=dict(type="float", default=1.0),
            php_code_roots=dict(type="list", elements="path", default=[]),
            php_code_limits=dict(type="dict", default={}),
            proc_root=dict(type="path", default="/proc"),
        ),
        supports_check_mode=True,
    )
    interval = module.params["counter_sample_interval"]
    if interval < 0 or interval > 60:
        module.fail_json(msg="counter_sample_interval must be between 0 and 60 seconds, got %s" % interval)
    sections = module.params["sections"] or list(concerns.RUN_ORDER)
    unknown = sorted(set(sections) - set(concerns.RUN_ORDER))
    if unknown:
        module.fail_json(
            msg="unknown evidence section(s) %s; valid: %s" % (", ".join(unknown), ", ".join(concerns.RUN_ORDER))
        )
    evidence = concerns.collect(
        sections=sections,
        proc_root=module.params["proc_root"],
        counter_sample_interval=interval,
        hints={"php_code_roots": module.params["php_code_roots"], "php_code_limits": module.params["php_code_limits"]},
    )
    module.exit_json(changed=False, evidence=evidence)


if __name__ == "__main__":
    main()
