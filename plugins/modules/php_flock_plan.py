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
module: php_flock_plan
short_description: Plan the removal of exclusive locks around PHP log appends
version_added: "0.1.0"
description:
  - Calls M(acceptq.remediation.gather) once on the host (sections C(php_fpm), C(nginx), C(php_code)),
    parses the candidate PHP files on the controller with tree-sitter and returns, per file, the new
    content.
  - Edits only where removing the lock is proven safe - C(flock()) calls around one append write of one
    record, C(FILE_APPEND | LOCK_EX) written inline, Monolog C(useLocking) or Laravel/Symfony C(locking)
    turned on in the application's own code or configuration.
  - Refuses, with the reason in C(refused) - a lock that also guards a truncate, a rotation, a rewrite or
    several writes; files on a network filesystem; PHP before 8.0; anything under C(vendor/); framework
    loggers; files that are not UTF-8 or do not parse; an edit whose result would not parse.
  - Writes nothing. The M(acceptq.remediation.php_flock_logging) role writes, backs up and validates each
    file with C(php -l).
author:
  - acceptq contributors (@acceptq)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
options:
  code_roots:
    description: Directories of PHP code to look at, besides the php-fpm C(chdir) and nginx roots.
    type: list
    elements: path
    default: []
  php_version:
    description:
      - The PHP version the code runs on (C(8.2)). Unset, the lowest version of the host's php-fpm binaries.
    type: str
  php_binary:
    description: The PHP command line binary that validates each edited file (C(php -l)).
    type: str
    default: php
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
  - module: acceptq.remediation.safe_edit
"""

EXAMPLES = r"""
- name: Plan the lock removals
  acceptq.remediation.php_flock_plan:
    code_roots: [/srv/app]
  register: __php_flock_logging_plan
"""

RETURN = r"""
files:
  description: The files to edit.
  returned: success
  type: list
  elements: str
writes:
  description: What M(acceptq.remediation.safe_edit) takes - path, new content, digest of the bytes planned from.
  returned: success
  type: list
  elements: dict
edits:
  description: One line per edit, C(file:line what).
  returned: success
  type: list
  elements: str
refused:
  description: Findings left alone, C(file:line reason).
  returned: success
  type: list
  elements: str
validate:
  description: The checkers for M(acceptq.remediation.safe_edit), one C(php -l) per edited PHP file.
  returned: success
  type: list
  elements: dict
php_version:
  description: The PHP version the plan assumed.
  returned: success
  type: str
"""
