#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the action plugin of the same name, which runs the
# acceptq.remediation.gather module on the host and plans the edits on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backlog_plan
short_description: Plan php-fpm listen.backlog edits sized by queueing
version_added: "0.1.0"
description:
  - Calls M(acceptq.remediation.gather) once on the host (sections C(kernel), C(sockets), C(php_fpm),
    C(nginx)) and sizes every php-fpm pool on the controller with the rule the audit judges with
    (backlog = ceil(throughput x acceptable wait), clamped to [floor, somaxconn]; see docs/sizing.md).
  - For each pool whose configured backlog or listener Send-Q differs from the sized value, plans one
    edit in the file that defines the pool - its last C(listen.backlog) line replaced, or one line
    inserted in its section after its C(listen) line - and the php-fpm service to restart.
  - Pools whose files did not parse, that could not be located, or whose lines changed since they were
    read are refused (listed in C(refused), with file and line), never edited.
  - Fails when C(php-fpm -tt) already fails, since no change could then be validated.
  - Writes nothing. The M(acceptq.remediation.php_fpm_backlog) role writes, validates with C(php-fpm -t)
    and restarts.
author:
  - acceptq contributors (@acceptq)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  workload:
    description:
      - The declared workload (inventory C(acceptq_workload)), as M(acceptq.remediation.audit) takes it.
    type: dict
    default: {}
  raise_somaxconn:
    description:
      - Keep a sized backlog above net.core.somaxconn (and report C(somaxconn_needed)); false cuts it
        to somaxconn.
    type: bool
    default: true
  pools:
    description: Pool names to plan; empty plans every pool of every installed PHP version.
    type: list
    elements: str
    default: []
  services:
    description: php-fpm binary path to service name, where it is not C(php<version>-fpm).
    type: dict
    default: {}
  process_control_timeout_s:
    description:
      - Where a php-fpm's C([global] process_control_timeout) is 0 (a reload kills requests in flight,
        AQ-BACKLOG-006), plan an edit setting it to this many seconds; unset derives it (the pools'
        longest C(request_terminate_timeout), else the nginx read timeout passing to them, else 60);
        0 leaves it alone.
    type: int
attributes:
  action:
    support: full
    details: Runs on the controller around one gathering module call and a read-back of the files to edit.
  check_mode:
    support: full
    details: Read-only.
  diff_mode:
    support: none
    details: The role's file writes show the diff.
  platform:
    support: full
    platforms: linux
  async:
    support: none
  bypass_host_loop:
    support: none
seealso:
  - module: acceptq.remediation.gather
  - module: acceptq.remediation.audit
"""

EXAMPLES = r"""
- name: Plan the php-fpm backlog edits
  acceptq.remediation.backlog_plan:
    workload: "{{ acceptq_workload | default({}) }}"
  register: __php_fpm_backlog_plan
"""

RETURN = r"""
pools:
  description: Every pool with C(pool), C(binary), C(service), C(listen), C(listener) (the socket found
    for it, or null), C(file), C(line), C(current), C(send_q), C(sized), C(reason) and C(action)
    (none, set, restart or refused).
  returned: success
  type: list
  elements: dict
summary:
  description: "One line per pool: C(pool NAME of BINARY: sized N (listen.backlog X, Send-Q Y): ACTION)."
  returned: success
  type: list
  elements: str
files:
  description: The files to write, each with C(path), its new C(content) and its C(edits).
  returned: success
  type: list
  elements: dict
edits:
  description: "One line per edit: C(file:line old -> new (pool NAME: reason))."
  returned: success
  type: list
  elements: str
refused:
  description: Pools left alone, with C(file), C(line) and C(message).
  returned: success
  type: list
  elements: dict
refused_messages:
  description: "C(refused) as C(file:line: message) lines."
  returned: success
  type: list
  elements: str
restarts:
  description: The php-fpm services to restart, each with C(service), C(binary) and C(conf) (to validate with).
  returned: success
  type: list
  elements: dict
somaxconn:
  description: net.core.somaxconn of the host's network namespace.
  returned: success
  type: int
somaxconn_needed:
  description: The somaxconn the largest sized backlog needs, when above the current one; else null.
  returned: success
  type: int
installed:
  description: Whether any php-fpm binary was found.
  returned: always
  type: bool
workload_assumed:
  description: The workload values not declared, taken from the defaults.
  returned: success
  type: list
  elements: str
"""
