#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: listen_backlog
short_description: Change a running php-fpm listener's backlog without a restart, or wait until it is idle
version_added: "0.2.0"
description:
  - With O(backlog), takes a duplicate of the listening socket from the process that holds it (php-fpm's
    master; C(pidfd_open) and C(pidfd_getfd), Linux >= 5.6, CAP_SYS_PTRACE over that process) and calls
    C(listen()) on it again with the new backlog. The socket and its queue stay as they are; the new limit
    is visible as Send-Q at once, and the module reads it back.
  - Where the kernel refuses (an older kernel, a seccomp filter, no CAP_SYS_PTRACE, Yama's ptrace_scope),
    it does not fail - it returns RV(applied=false) and the reason, so the caller can drain and restart
    instead. A Send-Q that does not match after C(listen()) is a failure.
  - The backlog is capped by C(net.core.somaxconn), as the kernel caps every C(listen()); raise it first.
  - With O(probe), sends one FastCGI request and fails unless a php-fpm worker answers it.
  - With O(wait_idle_timeout), waits until the listener's accept queue is empty and no connection to it is
    open (socket diagnostics) for O(idle_settle_s) seconds; fails naming the listener when that does not
    happen in time. Run after its nginx servers were marked C(down), before a restart.
  - Does not edit the pool file; the M(acceptq.remediation.php_fpm_backlog) role does, so that the next
    restart keeps the value.
author:
  - acceptq contributors (@acceptq)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  listen:
    description: The pool's C(listen) value (a unix socket path, C(address:port) or a port).
    type: str
    required: true
  backlog:
    description: The backlog to apply. Omit to only wait for idleness.
    type: int
  owner:
    description:
      - C([pid, fd]) of the master's listening fd, as the gathered evidence has it; found through C(/proc)
        when omitted or stale.
    type: list
    elements: int
  wait_idle_timeout:
    description: Seconds to wait for the listener to become idle; 0 does not wait.
    type: float
    default: 0.0
  idle_settle_s:
    description: How long the listener must stay idle before it counts as drained.
    type: float
    default: 1.0
  status_path:
    description:
      - The pool's C(pm.status_path). With it, the idle wait also reads the pool's status page over
        FastCGI and waits until no request is in flight (C(active processes) less the status request).
    type: str
  probe:
    description:
      - Send one real FastCGI request (for a script that does not exist, so no PHP code runs) and fail
        unless a worker answers it. The health check after a restart.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reads the listener and takes (and closes at once) a duplicate of its fd, which says whether the
      live change would be permitted; calls no C(listen()).
  diff_mode:
    support: none
  platform:
    support: full
    platforms: linux
notes:
  - Host side, Python standard library only.
seealso:
  - module: acceptq.remediation.gather
"""

EXAMPLES = r"""
- name: Apply the sized backlog to the running listener
  acceptq.remediation.listen_backlog:
    listen: /run/php/php8.2-fpm.sock
    backlog: 86
  register: __live

- name: Wait until a drained pool has nothing queued or in flight
  acceptq.remediation.listen_backlog:
    listen: 0.0.0.0:9000
    wait_idle_timeout: 30
"""

RETURN = r"""
applied:
  description: Whether the listener now has the backlog (true also when it had it already; in check mode,
    whether the live change would be permitted).
  returned: when backlog is given
  type: bool
reason:
  description: Why the live change was not possible (the caller falls back), empty when it was.
  returned: when backlog is given
  type: str
send_q_before:
  description: The listener's Send-Q (effective backlog) before.
  returned: when backlog is given and something listens
  type: int
send_q:
  description: The listener's Send-Q after the change (unchanged in check mode).
  returned: always
  type: int
pid:
  description: The process whose listening fd was taken (php-fpm's master).
  returned: when found
  type: int
idle:
  description: Whether the listener was idle within the timeout.
  returned: when wait_idle_timeout > 0
  type: bool
queue_depth:
  description: The listener's Recv-Q (connections waiting to be accepted) at the last reading.
  returned: always
  type: int
answer:
  description: "The first line of the probe's answer, e.g. C(Status: 404 Not Found)."
  returned: when probe is true
  type: str
connections:
  description: Open connections to the listener at the last reading.
  returned: when wait_idle_timeout > 0
  type: int
in_flight:
  description: Requests in flight by the status page at the last reading; null without O(status_path).
  returned: when wait_idle_timeout > 0
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import live as _live
from ansible_collections.acceptq.remediation.plugins.module_utils.core import sockdiag as _sockdiag


def main():
    module = AnsibleModule(
        argument_spec=dict(
            listen=dict(type="str", required=True),
            backlog=dict(type="int"),
            owner=dict(type="list", elements="int"),
            wait_idle_timeout=dict(type="float", default=0.0),
            idle_settle_s=dict(type="float", default=1.0),
            status_path=dict(type="str"),
            probe=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    listen = params["listen"]
    result = {"changed": False, "listen": listen}
    try:
        if params["backlog"] is not None:
            result.update(applied=False, reason="")
            try:
                applied = _live.apply(listen, params["backlog"], module.check_mode, owner=params["owner"])
            except _live.LiveRefused as exc:
                result["reason"] = str(exc)
            else:
                result.update(applied)
                expected = min(params["backlog"], applied["somaxconn"] or params["backlog"])
                if not module.check_mode and applied["send_q"] != expected:
                    module.fail_json(
                        msg="%s: listen(%d) on php-fpm's socket left Send-Q at %d, not %d"
                        % (listen, params["backlog"], applied["send_q"], expected),
                        **result,
                    )
                result["applied"] = True  # in check mode: the fd was taken, so listen() would be permitted
                if expected != params["backlog"]:
                    result["reason"] = "net.core.somaxconn %d caps the backlog at %d" % (applied["somaxconn"], expected)
        else:
            listener = _live.find_listener(listen)
            result.update(send_q=listener["send_q"], queue_depth=listener["recv_q"])
        if params["wait_idle_timeout"] > 0 and not module.check_mode:
            waited = _live.wait_idle(
                listen, params["wait_idle_timeout"], settle=params["idle_settle_s"], status_path=params["status_path"]
            )
            result.update(waited)
            if not waited["idle"]:
                module.fail_json(
                    msg="%s did not drain within %gs: %d connection(s) still queued, %d open, %s request(s) in flight"
                    % (
                        listen,
                        params["wait_idle_timeout"],
                        waited["queue_depth"],
                        waited["connections"],
                        "?" if waited["in_flight"] is None else waited["in_flight"],
                    ),
                    **result,
                )
        if params["probe"] and not module.check_mode:
            try:
                result["answer"] = _live.probe(listen)
            except (OSError, ValueError) as exc:
                module.fail_json(msg="%s: php-fpm did not answer a FastCGI request: %s" % (listen, exc), **result)
    except _live.ListenerMissing as exc:
        module.fail_json(msg=str(exc), **result)
    except ValueError as exc:
        module.fail_json(msg="%s: %s" % (listen, exc), **result)
    except (OSError, _sockdiag.SockDiagError) as exc:
        module.fail_json(msg="%s: socket diagnostics failed: %s" % (listen, exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
