#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the action plugin of the same name, which runs the
# acceptq.remediation.gather module on the host and plans the writes on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: logrotate_plan
short_description: Plan a per-host logrotate slot, USR1-only rotation scripts and a throttled prune job
version_added: "0.1.0"
description:
  - Calls M(acceptq.remediation.gather) once on the host (section C(logrotate)), parses logrotate's
    configuration on the controller with file:line and returns the files the
    M(acceptq.remediation.logrotate_schedule) role writes through M(acceptq.remediation.safe_edit).
  - The slot is deterministic - drawn from O(seed) and the pool's O(members) - and unique within the pool,
    for both the rotation and the prune job; written as a C(logrotate.timer) drop-in (C(OnCalendar=) reset,
    the slot, C(AccuracySec=1s), no random delay) or, without systemd, a line in C(/etc/cron.d).
  - Blocks whose scripts reload or restart php-fpm or nginx, or signal once per file without
    C(sharedscripts), are taken over by a managed file that sorts first (C(/etc/logrotate.d/00-acceptq))
    with C(ignoreduplicates) (logrotate 3.21 and later); with older logrotate the block's own file is
    edited at the parsed lines.
  - A configuration that does not parse in full is refused (the task fails naming file:line), never written over.
  - Writes nothing.
author:
  - acceptq contributors (@acceptq)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  pool:
    description: The pool (inventory group) whose hosts must not share a slot.
    type: str
    required: true
  members:
    description: The pool's hosts; the slot of each depends only on these and O(seed).
    type: list
    elements: str
    default: []
  window_start:
    description: Start of the window, C(HH:MM) host time.
    type: str
    default: "01:00"
  window_end:
    description: End of the window, C(HH:MM) host time.
    type: str
    default: "05:00"
  seed:
    description: Seed of the slots (default the pool's name).
    type: str
  prune:
    description: What the prune job deletes, each C(path) (a directory), C(pattern) (file names) and C(age_days).
    type: list
    elements: dict
    default: []
  prune_delay_minutes:
    description: Minutes between the rotation slot and the prune job.
    type: int
    default: 30
  prune_batch:
    description: Files deleted between two pauses.
    type: int
    default: 200
  prune_pause_ms:
    description: Pause between batches.
    type: int
    default: 200
  prune_replaces:
    description: Cron files whose deletion lines the prune job replaces (they are commented out).
    type: list
    elements: path
    default: []
  manage_signals:
    description: Whether to take over blocks that reload or restart php-fpm or nginx.
    type: bool
    default: true
attributes:
  action:
    support: full
    details: Runs on the controller around one gathering module call and a read-back of the files to write.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Read-only.
  diff_mode:
    support: none
    details: The role's writes show the diff.
  platform:
    support: full
    platforms: linux
seealso:
  - module: acceptq.remediation.gather
  - module: acceptq.remediation.safe_edit
"""

EXAMPLES = r"""
- name: Plan the slot of this host in its pool
  acceptq.remediation.logrotate_plan:
    pool: web
    members: "{{ groups['web'] }}"
  register: __logrotate_schedule_plan
"""

RETURN = r"""
slot:
  description: This host's rotation slot, C(HH:MM).
  returned: success
  type: str
  sample: "02:17"
prune_slot:
  description: The prune job's slot, or null without prune targets.
  returned: success
  type: str
files:
  description: The files to write, each C(path), C(content) and C(reason).
  returned: success
  type: list
  elements: dict
writes:
  description: The same files as M(acceptq.remediation.safe_edit) takes them (C(content_b64), C(sha256_before)).
  returned: success
  type: list
  elements: dict
missing:
  description: Paths among C(files) that do not exist yet (the role creates them empty first).
  returned: success
  type: list
  elements: str
edits:
  description: One line per file, C(path - reason).
  returned: success
  type: list
  elements: str
refused:
  description: What could not be planned, with C(file), C(line) and C(message); the task fails when any.
  returned: always
  type: list
  elements: dict
daemon_reload:
  description: Whether systemd must re-read its units after the writes.
  returned: success
  type: bool
binary:
  description: The logrotate binary.
  returned: always
  type: str
conf:
  description: logrotate's main configuration file.
  returned: always
  type: str
"""
