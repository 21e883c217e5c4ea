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
short_description: Audit a host's accept-queue failure chain and return findings
version_added: "0.1.0"
description:
  - Calls M(acceptq.remediation.gather) once on the host and judges the evidence on
    the controller with acceptq's checks. Each finding has a stable C(id), a
    C(severity), the C(host), the C(concern), what was C(observed), what is
    C(expected), the C(fix) and the C(evidence) it rests on.
  - The finding ids are listed in the collection's C(docs/findings.md).
author:
  - acceptq contributors
options:
  policy:
    description:
      - Thresholds the checks judge against; unknown keys are an error.
      - C(somaxconn_min) (int, default 4096), the least acceptable net.core.somaxconn.
    type: dict
    default: {}
  workload:
    description:
      - What acceptq cannot observe on the host, declared per fleet, pool or location;
        unknown keys are an error and every value not declared is reported as assumed.
      - C(client_timeout_s) (default 60), the timeout of whatever sits in front of nginx;
        C(service_time_s) (default 0.1), the mean PHP service time; C(p99_s) (default 1),
        the expected 99th percentile; C(backlog_floor) (default 16), the smallest sized backlog;
        C(queue_wait_s) (default 0.25), the longest a connection should wait in an accept queue.
      - C(pools), per php-fpm pool name, C(peak_qps), C(client_timeout_s), C(service_time_s),
        C(backlog_floor), C(queue_wait_s); C(locations), per nginx server name or "server_name location",
        C(p99_s) and C(client_timeout_s).
    type: dict
    default: {}
  sections:
    description: Passed to M(acceptq.remediation.gather).
    type: list
    elements: str
  counter_sample_interval:
    description: Passed to M(acceptq.remediation.gather).
    type: float
attributes:
  action:
    support: full
    details: Runs on the controller around one module call on the host.
  check_mode:
    support: full
    details: Read-only.
  diff_mode:
    support: none
  platform:
    platforms: linux
seealso:
  - module: acceptq.remediation.gather
"""

EXAMPLES = r"""
- name: Audit the accept-queue chain
  acceptq.remediation.audit:
    policy:
      somaxconn_min: 1024
  register: __acceptq_audit

- name: Show the findings
  ansible.builtin.debug:
    msg: "{{ __acceptq_audit.findings | map(attribute='observed') | list }}"
"""

RETURN = r"""
findings:
  description: The findings for this host, most severe first.
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
evidence:
  description: The raw evidence the findings were judged on (see M(acceptq.remediation.gather)).
  returned: success
  type: dict
"""
