#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the action plugin of the same name, which runs the
# acceptq.remediation.gather module on the host and the checks on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit
short_description: Judge the fleet's accept-queue evidence together and return findings
version_added: "0.1.0"
description:
  - Runs on the controller, once per run (C(run_once)), after M(acceptq.remediation.gather) has
    registered each host's evidence. Judges every host with acceptq's host rules, seeing the other
    hosts through the topology (which nginx location passes to which php-fpm pool on which host),
    and the fleet rules over all of them. A host that could not be reached or gathered becomes a
    finding (AQ-HOST-001, AQ-HOST-002) and the others are still judged.
  - Each finding has a stable C(id), a C(severity), the C(host), the C(concern), what was
    C(observed), what is C(expected), the C(fix) and the C(evidence) it rests on.
  - The finding ids are listed in the collection's C(docs/findings.md).
author:
  - acceptq contributors (@acceptq)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  hosts:
    description:
      - The inventory hosts to judge; default C(ansible_play_hosts_all).
    type: list
    elements: str
  gathered:
    description:
      - The name of the variable each host registered the gather result in.
    type: str
    default: __acceptq_gathered
  policy:
    description:
      - Thresholds for hosts that declare no C(acceptq_policy) of their own; unknown keys are an error
        (a finding on that host).
    type: dict
  workload:
    description:
      - The declared workload for hosts that declare no C(acceptq_workload) of their own (see the README).
    type: dict
  report:
    description:
      - A path on the controller to write the report to (JSON, atomically). The CLI reads the findings
        from this file, whatever their size.
    type: path
  report_evidence:
    description:
      - Carry each host's raw evidence in the report.
    type: bool
    default: false
attributes:
  action:
    support: full
    details: Runs on the controller only.
  check_mode:
    support: full
    details: Read-only.
  diff_mode:
    support: none
    details: Nothing changes.
  platform:
    support: full
    platforms: posix
    details: The controller.
  async:
    support: none
  bypass_host_loop:
    support: none
seealso:
  - module: acceptq.remediation.gather
"""

EXAMPLES = r"""
- name: Gather evidence on the host, read-only
  acceptq.remediation.gather:
  register: __acceptq_gathered
  ignore_unreachable: true
  ignore_errors: true

- name: Judge the fleet's evidence together on the controller
  acceptq.remediation.audit:
    report: /tmp/acceptq-report.json
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
findings:
  description: The findings for the fleet, most severe first.
  returned: always
  type: list
  elements: dict
  sample:
    - id: AQ-KERNEL-003
      severity: error
      host: web1
      concern: kernel
      title: Accept queue full now
      observed: "127.0.0.1:9000 of php-fpm8.2 (pid 812): accept queue 129 deep, limit 128"
      expected: accept queue well below its limit
      fix: Find why php-fpm8.2 stopped accepting
      evidence: {"queue_depth": 129, "backlog_limit": 128}
summary:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {"info": 1, "warning": 0, "error": 1, "critical": 0}
hosts:
  description: Each judged host's status (ok, failed, unreachable), message and, with I(report_evidence), evidence.
  returned: always
  type: dict
"""
