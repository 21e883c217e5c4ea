#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the action plugin of the same name, which gathers
# on the nginx host the task is delegated to and plans on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: drain_plan
short_description: Plan marking a php-fpm backend C(down) in one nginx host's upstreams
version_added: "0.2.0"
description:
  - Delegate it to an nginx host. Calls M(acceptq.remediation.gather) there once (sections C(nginx),
    C(sockets), C(addresses)) and, with the fleet topology, finds every location of that nginx passing
    to the named pools of the backend host.
  - Plans one edit per upstream C(server) line that reaches the backend - C(down) added in place - read
    back from the disk, as M(acceptq.remediation.safe_edit) takes it (RV(writes)).
  - Refuses (RV(refused), each message naming the nginx host, upstream and file:line) a location that
    passes straight to the pool rather than through an upstream, a drain that would leave no server up
    or take more than O(max_share) of an upstream's servers out, and a server line that is not one
    statement. The role drains only when nothing is refused.
  - Writes nothing.
author:
  - acceptq contributors (@acceptq)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  backend:
    description: The inventory name of the php-fpm host whose pools are drained.
    type: str
    required: true
  backend_evidence:
    description: The backend's gathered evidence (sections C(php_fpm), C(sockets), C(addresses)).
    type: dict
    required: true
  backend_address:
    description: The backend's C(ansible_host), another name nginx may use for it.
    type: str
  pools:
    description: The pools to drain, by name.
    type: list
    elements: str
    required: true
  max_share:
    description: The largest share of an upstream's servers that may be C(down) at once, in (0, 1].
    type: float
    default: 0.5
attributes:
  action:
    support: full
    details: Runs on the controller around one gathering call and a read-back of the files on the delegated host.
  check_mode:
    support: full
    details: Read-only.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: linux
  async:
    support: none
  bypass_host_loop:
    support: none
seealso:
  - module: acceptq.remediation.listen_backlog
  - module: acceptq.remediation.safe_edit
"""

EXAMPLES = r"""
- name: Plan the drain on every nginx host
  acceptq.remediation.drain_plan:
    backend: "{{ inventory_hostname }}"
    backend_evidence: "{{ __backend.evidence }}"
    pools: [www]
  delegate_to: "{{ item }}"
  loop: "{{ groups['nginx'] }}"
"""

RETURN = r"""
nginx_host:
  description: The nginx host planned for.
  returned: always
  type: str
links:
  description: How many of its locations pass to the pools.
  returned: always
  type: int
drains:
  description: Each upstream server line to mark down, with C(upstream), C(address), C(file), C(line), C(old),
    C(new), C(pool), C(servers) and C(down_after).
  returned: always
  type: list
  elements: dict
refused:
  description: Why the pools cannot be drained here; empty when they can.
  returned: always
  type: list
  elements: str
writes:
  description: The files with every drain applied, for M(acceptq.remediation.safe_edit) (C(path), C(content_b64),
    C(sha256_before)).
  returned: always
  type: list
  elements: dict
"""
