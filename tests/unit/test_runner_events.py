"""What the CLI shows of a real ansible-playbook run, from ansible-runner's
events: whole failure messages (every failed loop item), Ansible's warnings,
and --diff output."""

import sys

from acceptq.runner import failure_message, render_diff, run_playbook

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Write a file (its diff is shown with --diff)
      ansible.builtin.copy:
        dest: "{{ target }}"
        content: "listen.backlog = 511\\n"
        mode: "0644"
    - name: Warn (a variable with a reserved name)
      ansible.builtin.set_fact:
        environment: 1
    - name: Refuse, one item at a time
      ansible.builtin.fail:
        msg: "{{ item }}: refused because /etc/php/8.2/fpm/pool.d/www.conf:12 is immutable and {{ 'x' * 200 }}"
      loop: [www, api]
"""


def _root(tmp_path):
    root = tmp_path / "collection"
    (root / "playbooks").mkdir(parents=True)
    (root / "playbooks" / "probe.yml").write_text(PLAYBOOK)
    return root


def test_a_real_run_reports_whole_failures_warnings_and_diffs(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # the link to this fake collection lives in its cache
    target = tmp_path / "pool.conf"
    target.write_text("listen.backlog = -1\n")
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    here:\n      ansible_connection: local\n      ansible_python_interpreter: %s\n"
        % sys.executable
    )
    diffs, warnings = [], []
    run = run_playbook(
        _root(tmp_path),
        "probe.yml",
        str(inventory),
        extravars={"target": str(target)},
        cmdline="--check --diff",
        on_warning=warnings.append,
        on_diff=lambda host, task, text: diffs.append((host, task, text)),
    )
    host = run.hosts["here"]
    assert host.status == "failed"
    # Both items, whole, not "One or more items failed" cut at 120 characters.
    assert "item www: www: refused because /etc/php/8.2/fpm/pool.d/www.conf:12 is immutable" in host.message
    assert "item api: api: refused" in host.message and "x" * 200 in host.message
    assert host.message.startswith("Refuse, one item at a time: ")
    (host_name, task, text) = diffs[0]
    assert host_name == "here" and task.startswith("Write a file")
    assert "-listen.backlog = -1" in text and "+listen.backlog = 511" in text
    assert target.read_text() == "listen.backlog = -1\n"  # check mode changed nothing
    assert any("reserved name" in warning for warning in warnings), warnings
    assert run.interrupted is None


def test_failure_message_keeps_stderr_and_items():
    result = {
        "msg": "One or more items failed",
        "results": [
            {"failed": False, "item": "ok"},
            {"failed": True, "_ansible_item_label": "www", "msg": "non-zero return code", "stderr": "php-fpm -t: boom"},
        ],
    }
    assert failure_message(result) == "item www: non-zero return code\nstderr: php-fpm -t: boom"
    assert failure_message({"rc": 3}) == "exit status 3"


def test_render_diff_handles_prepared_lists_and_identical():
    assert render_diff([{"prepared": "changed 1 line"}, {"before": "a\n", "after": "a\n"}]) == "changed 1 line"
    text = render_diff({"before": "a\nb\n", "after": "a\nc\n", "before_header": "/f (before)"})
    assert "--- /f (before)" in text and "-b" in text and "+c" in text
    assert render_diff({"before": {"k": 1}, "after": {"k": 2}}).count('"k"') == 2
