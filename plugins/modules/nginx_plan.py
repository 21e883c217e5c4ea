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
module: nginx_plan
short_description: Plan precise edits of nginx's upstream timeouts, ejection and listen backlog
version_added: "0.1.0"
description:
  - Calls M(acceptq.remediation.gather) once on the host (sections C(kernel), C(sockets), C(nginx)),
    parses the C(nginx -T) dump on the controller and returns, per file, the new content with
    each edit at its C(file:line), the old and new statement and the reason.
  - Values come from the same rule the audit judges with (C(_nginx.recommended)) - upstream
    read/send/connect timeouts below the client timeout, C(*_next_upstream) counting
    C(error) and C(timeout), C(max_fails)/C(fail_timeout) on every upstream server.
  - A directive is replaced on the line it is declared on when every location inheriting it
    needs the same value; otherwise, or when nginx's default applies, one line is inserted
    inside the location right after its opening brace. Nothing else in a file changes.
  - Files that did not parse, or changed on disk since C(nginx -T) read them, are refused
    (listed in C(refused) and warned about), never edited.
  - Writes nothing. The M(acceptq.remediation.nginx_timeouts) role writes, validates with
    C(nginx -t) and reloads.
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
  manage:
    description: What to plan.
    type: list
    elements: str
    choices: [timeouts, next_upstream, upstreams, listen_backlog]
    default: [timeouts, next_upstream, upstreams, listen_backlog]
  listen_backlog:
    description:
      - The sized C(backlog=) for every nginx listen socket. Unset, only a C(backlog=) above
        C(net.core.somaxconn) is lowered to it.
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
- name: Plan the nginx edits
  acceptq.remediation.nginx_plan:
    workload: "{{ acceptq_workload | default({}) }}"
  register: __nginx_timeouts_plan

- name: Show them
  ansible.builtin.debug:
    var: __nginx_timeouts_plan.edits
"""

RETURN = r"""
files:
  description: The files to write, each with its new content and its edits.
  returned: success
  type: list
  elements: dict
  sample:
    - path: /etc/nginx/sites-enabled/seed
      content: "upstream php_backend {\n    server 127.0.0.1:9000 max_fails=1 fail_timeout=10s;\n..."
      edits:
        - {action: replace, file: /etc/nginx/sites-enabled/seed, line: 14, name: fastcgi_read_timeout,
           args: [1500ms], old: "fastcgi_read_timeout 100ms (server scope)", new: "fastcgi_read_timeout 1500ms;",
           reason: "75% of the client timeout 2s (declared), ..."}
edits:
  description: One line per edit, C(file:line old -> new (reason)).
  returned: success
  type: list
  elements: str
refused:
  description: What was left alone, with C(file), C(line) and C(message).
  returned: success
  type: list
  elements: dict
restart_needed:
  description:
    - Whether a reload cannot apply the listen backlog, because an nginx listener's Send-Q is stale
      and its C(backlog=) does not change.
  returned: success
  type: bool
restart_reasons:
  description: The listeners behind C(restart_needed).
  returned: success
  type: list
  elements: str
binary:
  description: The nginx binary, to run C(nginx -t) with.
  returned: always
  type: str
running:
  description: Whether an nginx master process runs (a stopped nginx is not started, reloaded or restarted).
  returned: always
  type: bool
conf_path:
  description: nginx's main configuration file, as the running master uses it (its C(-c)), else nginx's build default.
  returned: always
  type: str
prefix:
  description: nginx's prefix, as the running master uses it (its C(-p)), else nginx's build default.
  returned: always
  type: str
conf_source:
  description: Where RV(conf_path) and RV(prefix) came from (the running master's command line, or the build default).
  returned: always
  type: str
test_argv:
  description: The C(nginx -t) command line that validates the configuration nginx runs (with its C(-p) and C(-c)).
  returned: always
  type: list
  elements: str
somaxconn:
  description: net.core.somaxconn of the host's network namespace.
  returned: success
  type: int
workload_assumed:
  description: The workload values not declared, taken from the defaults.
  returned: success
  type: list
  elements: str
"""
