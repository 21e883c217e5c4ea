"""The planning action plugins' shared steps: one gathering call, and the read-back of files to edit."""

import base64

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.acceptq.remediation.plugins.plugin_utils import _planning


class FakeAction:
    """Answers module calls the way the host would."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def _execute_module(self, module_name, module_args, task_vars):
        self.calls.append((module_name, module_args))
        answer = self.answers[module_name]
        return answer(module_args) if callable(answer) else answer


def slurped(files):
    def answer(args):
        if args["src"] not in files:
            return {"failed": True, "msg": "file not found: %s" % args["src"]}
        return {"content": base64.b64encode(files[args["src"]]).decode("ascii")}

    return answer


def test_one_gathering_call_with_the_sections_asked():
    action = FakeAction({"acceptq.remediation.gather": {"evidence": {"nginx": {}}}})
    assert _planning.gather_evidence(action, ("kernel", "nginx"), {}) == {"nginx": {}}
    assert action.calls == [
        ("acceptq.remediation.gather", {"sections": ["kernel", "nginx"], "counter_sample_interval": 0})
    ]


def test_a_failed_gathering_is_a_clear_failure():
    action = FakeAction({"acceptq.remediation.gather": {"failed": True, "module_stderr": "Traceback ..."}})
    with pytest.raises(AnsibleActionFail, match="evidence gathering failed: Traceback"):
        _planning.gather_evidence(action, ["nginx"], {})


def test_read_back_keeps_bytes_and_leaves_out_what_it_cannot_read():
    files = {
        "/etc/nginx/sites-enabled/a": b"server {\r\n    listen 80;\r\n}",
        "/etc/nginx/sites-enabled/latin1": "# caf\xe9\n".encode("latin-1"),
    }
    action = FakeAction({"ansible.builtin.slurp": slurped(files)})
    texts = _planning.read_back(action, sorted(files) + ["/etc/nginx/missing"], {})
    assert texts == {"/etc/nginx/sites-enabled/a": "server {\r\n    listen 80;\r\n}"}


def test_located():
    assert _planning.located({"file": "/etc/nginx/x", "line": 3, "message": "m"}, "nginx") == "/etc/nginx/x:3: m"
    assert _planning.located({"file": None, "line": None, "message": "m"}, "nginx") == "nginx: m"
