#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, acceptq contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: safe_edit
short_description: Edit configuration files whole or not at all, validated by the daemon's checker
version_added: "0.1.0"
description:
  - Takes a per-host lock (an C(flock) the kernel drops when its holder dies); a second run waits
    O(lock_timeout) seconds, then fails naming the holder and changes nothing.
  - Rolls back first what a run killed between its writes and its checkers left (its journal);
    those edits were never validated.
  - Checks every planned write before the first one - the bytes on disk are those the plan was made
    from (O(files[].sha256_before)), a regular file (symlinks are followed and the target edited),
    neither the file nor its directory immutable or append-only, a writable filesystem, space for the
    backup and the temporary file, and an owner a non-root run could keep - and fails listing every
    problem with nothing changed.
  - Backs every file up (owner and mode kept), writes a journal, writes each file atomically (a
    temporary file in the same directory, fsync, rename, owner and mode kept), then runs every
    O(validate) checker. A non-zero exit or a O(validate[].fail_pattern) match in its output restores
    every written file byte for byte from its backup and fails with the checker's words.
  - C(changed) is true only for edits the checkers accepted, so a handler notified by this task runs
    only for a validated configuration.
  - O(state=pending) reports (as C(changed)) validated edits of O(label) whose daemon was never told
    because the run died before its handler; O(state=committed) forgets them once the handler ran;
    O(state=recovered) only rolls back what killed runs left; O(state=restored) puts back the files of
    a previous result's O(restore) list (for a daemon that failed to come back on the new files).
author:
  - acceptq contributors (@acceptq)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  files:
    description: The files to write. Unchanged content is left alone.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path; a symlink is followed and its target edited.
        type: path
        required: true
      content:
        description: The new text (written as UTF-8). One of O(files[].content) and O(files[].content_b64).
        type: str
      content_b64:
        description: The new bytes, base64 encoded (any encoding, kept as planned).
        type: str
      sha256_before:
        description: SHA-256 of the bytes the plan was made from; a file that differs is refused.
        type: str
  validate:
    description: Checkers run after the writes, in order; the first failure restores every file.
    type: list
    elements: dict
    default: []
    suboptions:
      argv:
        description: The command, without a shell.
        type: list
        elements: str
        required: true
      name:
        description: How messages call the checker (default the command line), e.g. C(nginx -t).
        type: str
      fail_pattern:
        description: A regular expression (multiline) whose match in the output is a failure even on exit 0,
          e.g. C(^error:) for C(logrotate -d).
        type: str
  state:
    description: What to do (see the description).
    type: str
    choices: [present, pending, committed, recovered, restored]
    default: present
  restore:
    description: For O(state=restored), the C(files) of a previous result (entries with a C(backup)).
    type: list
    elements: dict
    default: []
  label:
    description: Who edits (the role's name); names the journal and appears in lock messages.
    type: str
    default: acceptq
  backup_dir:
    description: Where each run's backups go, in a directory per run mirroring the absolute paths.
    type: path
    default: /var/backups/acceptq
  state_dir:
    description: Where the host lock and the journals live.
    type: path
    default: /var/lib/acceptq/safe_edit
  lock_timeout:
    description: Seconds to wait for another run's lock before failing.
    type: float
    default: 10
  validate_timeout:
    description: Seconds a checker may run before it counts as failed.
    type: float
    default: 120
  failure_note:
    description: Appended to failure messages, e.g. C(and nginx was not reloaded).
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    details: Runs the preflight and reports the diff; takes no lock, writes and runs nothing.
  diff_mode:
    support: full
  platform:
    support: full
    platforms: linux
"""

EXAMPLES = r"""
- name: Write the planned files, validated by nginx -t
  acceptq.remediation.safe_edit:
    label: nginx_timeouts
    files: "{{ plan.files }}"
    validate:
      - argv: [/usr/sbin/nginx, -t]
        name: nginx -t
    backup_dir: /var/backups/acceptq/nginx
  notify: acceptq nginx reload
"""

RETURN = r"""
files:
  description: Every planned file with its target, owner, mode, digests, C(changed), C(backup) and C(written).
  returned: always
  type: list
  elements: dict
backup:
  description: This run's backup directory, when a file was backed up.
  returned: always
  type: str
recovered:
  description: What the rollback of killed runs did (or, in check mode, would do).
  returned: always
  type: list
  elements: str
validated:
  description: The checkers run and whether each accepted.
  returned: always
  type: list
  elements: dict
restored:
  description: For O(state=restored), the paths put back (C(files) holds their entries).
  returned: when state is restored
  type: list
  elements: str
pending:
  description: For O(state=pending), the validated files whose daemon was never told.
  returned: when state is pending
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.acceptq.remediation.plugins.module_utils import _safe_edit


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    path=dict(type="path", required=True),
                    content=dict(type="str"),
                    content_b64=dict(type="str"),
                    sha256_before=dict(type="str"),
                ),
                mutually_exclusive=[("content", "content_b64")],
                required_one_of=[("content", "content_b64")],
            ),
            validate=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    argv=dict(type="list", elements="str", required=True),
                    name=dict(type="str"),
                    fail_pattern=dict(type="str"),
                ),
            ),
            state=dict(
                type="str", default="present", choices=["present", "pending", "committed", "recovered", "restored"]
            ),
            restore=dict(type="list", elements="dict", default=[]),
            label=dict(type="str", default="acceptq"),
            backup_dir=dict(type="path", default="/var/backups/acceptq"),
            state_dir=dict(type="path", default="/var/lib/acceptq/safe_edit"),
            lock_timeout=dict(type="float", default=10),
            validate_timeout=dict(type="float", default=120),
            failure_note=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    params = module.params
    state, label, state_dir = params["state"], params["label"], params["state_dir"]
    for validator in params["validate"]:
        if validator.get("fail_pattern"):
            try:
                _safe_edit.re.compile(validator["fail_pattern"])
            except _safe_edit.re.error as exc:
                module.fail_json(
                    msg="validate fail_pattern %r is not a regular expression: %s" % (validator["fail_pattern"], exc)
                )
    try:
        if state == "pending":
            pending = _safe_edit.pending(state_dir, label)
            module.exit_json(changed=bool(pending), pending=pending)
        if state == "committed":
            module.exit_json(changed=False if module.check_mode else _safe_edit.commit(state_dir, label))
        if state == "recovered":
            if module.check_mode:
                messages = _safe_edit.recover(state_dir, check_mode=True)
                for message in messages:
                    module.warn(message)
                module.exit_json(changed=bool(messages), recovered=messages)
            with _safe_edit.HostLock(_safe_edit.os.path.join(state_dir, "lock"), label, params["lock_timeout"]):
                messages = _safe_edit.recover(state_dir)
            for message in messages:
                module.warn(message)
            module.exit_json(changed=bool(messages), recovered=messages)
        if state == "restored":
            entries = [entry for entry in params["restore"] if entry.get("backup") and entry.get("written")]
            if module.check_mode:
                module.exit_json(changed=bool(entries), restored=[entry["target"] for entry in entries])
            with _safe_edit.HostLock(_safe_edit.os.path.join(state_dir, "lock"), label, params["lock_timeout"]):
                restored, failures = _safe_edit.restore(entries)
                if not failures:
                    _safe_edit.commit(state_dir, label)  # nothing of those edits is pending any more
            files = [entry for entry in entries if entry["target"] in restored]
            if failures:
                module.fail_json(msg="; ".join(failures), restored=restored, files=files)
            module.exit_json(changed=bool(restored), restored=restored, files=files)
        result = _safe_edit.transaction(
            params["files"],
            validators=params["validate"],
            backup_dir=params["backup_dir"],
            state_dir=state_dir,
            label=label,
            lock_timeout=params["lock_timeout"],
            validate_timeout=params["validate_timeout"],
            check_mode=module.check_mode,
            failure_note=params["failure_note"],
        )
    except _safe_edit.EditError as exc:
        module.fail_json(msg=str(exc))
    for message in result["recovered"]:
        module.warn(message)
    diff = result.pop("diff", [])
    if module._diff and diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
