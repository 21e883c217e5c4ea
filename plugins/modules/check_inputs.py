#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the action plugin of the same name, which runs on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: check_inputs
short_description: Refuse bad declared inputs before the remediation changes anything
version_added: "0.1.0"
description:
  - Validates the declared workload (C(acceptq_workload)) as the audit reads it, and every variable of the
    named roles that is set for the host, against the role's own argument specs.
  - Refuses NaN, infinity and numbers beyond 2^31-1 anywhere in them (1e308, 1e12 queries per second),
    naming the variable and the path inside it, e.g. C(acceptq_workload.pools.www.peak_qps).
  - Fails listing every problem at once; changes nothing.
author:
  - acceptq contributors (@acceptq)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  roles:
    description: Roles of this collection whose variables to check.
    type: list
    elements: str
    default: []
  workload:
    description: The declared workload (inventory C(acceptq_workload)).
    type: dict
    default: {}
attributes:
  action:
    support: full
    details: Runs on the controller only.
  check_mode:
    support: full
    details: Read-only.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: all
  async:
    support: none
  bypass_host_loop:
    support: none
"""

EXAMPLES = r"""
- name: Refuse bad inputs before any change
  acceptq.remediation.check_inputs:
    workload: "{{ acceptq_workload | default({}) }}"
    roles: [kernel_queues, nginx_timeouts, php_fpm_backlog]
"""

RETURN = r"""
problems:
  description: Every refused input, each naming its variable.
  returned: always
  type: list
  elements: str
"""
