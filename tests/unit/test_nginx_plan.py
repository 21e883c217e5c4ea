"""nginx remediation planning: precise text edits at parsed lines, and the plan over real-looking configs."""

import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils import _nginx_plan
from ansible_collections.acceptq.remediation.plugins.module_utils._nginx_plan import PlanError

VHOST = """\
server {
    listen 80 default_server;
    server_name a.example;   # vhost A

    location ~ \\.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_read_timeout 100ms; # seed value
        fastcgi_pass php;
    }
    location /inline { fastcgi_pass php; }
}
"""


def test_replace_keeps_indentation_and_trailing_comment():
    edited = _nginx_plan.replace_directive(VHOST, 7, "fastcgi_read_timeout", ["1500ms"])
    assert edited.splitlines()[6] == "        fastcgi_read_timeout 1500ms; # seed value"
    assert edited.splitlines()[:6] == VHOST.splitlines()[:6]
    assert edited.splitlines()[7:] == VHOST.splitlines()[7:]


def test_replace_refuses_a_line_without_the_directive():
    with pytest.raises(PlanError, match="fastcgi_read_timeout"):
        _nginx_plan.replace_directive(VHOST, 8, "fastcgi_read_timeout", ["2s"])
    with pytest.raises(PlanError, match="outside the file"):
        _nginx_plan.replace_directive(VHOST, 99, "fastcgi_read_timeout", ["2s"])


def test_replace_ignores_names_in_comments_and_quotes():
    text = 'add_header X "fastcgi_read_timeout 1s;"; # fastcgi_read_timeout 2s;\n'
    with pytest.raises(PlanError, match="no directive"):
        _nginx_plan.replace_directive(text, 1, "fastcgi_read_timeout", ["3s"])


def test_replace_one_of_several_statements_on_a_line():
    text = "location / { fastcgi_connect_timeout 5s; fastcgi_read_timeout 60s; fastcgi_pass php; }\n"
    edited = _nginx_plan.replace_directive(text, 1, "fastcgi_read_timeout", ["1500ms"])
    assert edited == "location / { fastcgi_connect_timeout 5s; fastcgi_read_timeout 1500ms; fastcgi_pass php; }\n"


def test_replace_refuses_ambiguous_and_multiline_statements():
    with pytest.raises(PlanError, match="cannot tell them apart"):
        _nginx_plan.replace_directive("a 1; a 2;\n", 1, "a", ["3"])
    with pytest.raises(PlanError, match="no directive"):
        _nginx_plan.replace_directive("server 127.0.0.1:9000\n    max_fails=3;\n", 1, "server", ["x"])


def test_insert_on_its_own_line_indented_like_the_block():
    edited = _nginx_plan.insert_directive(VHOST, 5, "location", "fastcgi_send_timeout", ["1500ms"])
    lines = edited.splitlines()
    assert lines[5] == "        fastcgi_send_timeout 1500ms;"
    assert lines[6] == "        include snippets/fastcgi-php.conf;"
    assert len(lines) == len(VHOST.splitlines()) + 1


def test_insert_after_a_brace_followed_by_statements_stays_inside_the_block():
    edited = _nginx_plan.insert_directive(VHOST, 10, "location", "fastcgi_read_timeout", ["2s"])
    assert edited.splitlines()[9] == "    location /inline { fastcgi_read_timeout 2s; fastcgi_pass php; }"


def test_insert_into_an_empty_block_and_keeps_crlf():
    text = "upstream php {\r\n}\r\n"
    edited = _nginx_plan.insert_directive(text, 1, "upstream", "keepalive", ["2"])
    assert edited == "upstream php {\r\n    keepalive 2;\r\n}\r\n"


def test_insert_refuses_a_line_opening_another_block():
    with pytest.raises(PlanError, match="no block 'location'"):
        _nginx_plan.insert_directive(VHOST, 1, "location", "fastcgi_read_timeout", ["2s"])


def test_edits_on_original_line_numbers_apply_bottom_up():
    edits = [
        {"action": "insert", "line": 5, "block": "location", "name": "fastcgi_send_timeout", "args": ["1500ms"]},
        {"action": "replace", "line": 7, "name": "fastcgi_read_timeout", "args": ["1500ms"]},
        {"action": "replace", "line": 2, "name": "listen", "args": ["80", "default_server", "backlog=128"]},
    ]
    edited = _nginx_plan.apply_edits(VHOST, edits).splitlines()
    assert edited[1] == "    listen 80 default_server backlog=128;"
    assert edited[5] == "        fastcgi_send_timeout 1500ms;"
    assert edited[7] == "        fastcgi_read_timeout 1500ms; # seed value"


def test_no_trailing_newline_is_kept():
    assert _nginx_plan.replace_directive("a 1;", 1, "a", ["2"]) == "a 2;"
    assert _nginx_plan.insert_directive("b {", 1, "b", "a", ["1"]) == "b {\n    a 1;\n"


def test_durations_and_parameters():
    assert _nginx_plan.format_duration(2.0) == "2s"
    assert _nginx_plan.format_duration(1.5) == "1500ms"
    assert _nginx_plan.format_duration(0.1) == "100ms"
    with pytest.raises(PlanError):
        _nginx_plan.format_duration(0)
    args = _nginx_plan.directive_args("    server 127.0.0.1:9000 max_fails=10 fail_timeout=5m;\n", 1, "server")
    assert args == ["127.0.0.1:9000", "max_fails=10", "fail_timeout=5m"]
    args = _nginx_plan.set_parameter(args, "max_fails", "1")
    assert _nginx_plan.set_parameter(args, "weight", "2") == [
        "127.0.0.1:9000",
        "max_fails=1",
        "fail_timeout=5m",
        "weight=2",
    ]
