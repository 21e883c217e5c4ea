"""Drain planning: which nginx upstream server lines get ``down`` for a php-fpm backend, and refusals."""

import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils.backlog import drain as _drain

UPSTREAM = """\
http {
    upstream app {
        server 10.88.0.11:9000 max_fails=1;   # backend b
        server 10.88.0.12:9000;
%s    }
    server {
        listen 8090;
        location ~ \\.php$ {
            fastcgi_pass app;
        }
        location /direct {
            fastcgi_pass %s;
        }
    }
}
"""


def nginx_evidence(conf):
    return {
        "nginx": {
            "binary": "/usr/sbin/nginx",
            "conf_path": "/etc/nginx/nginx.conf",
            "dump": {"returncode": 0, "stdout": "# configuration file /etc/nginx/nginx.conf:\n" + conf + "\n"},
        },
        "sockets": {"listeners": []},
        "addresses": {"addresses": ["10.88.0.10"], "hostname": "front"},
    }


def backend_evidence(address):
    return {
        "php_fpm": {"pools": [{"name": "app", "binary": "/usr/sbin/php-fpm8.2", "listen": "9000"}]},
        "sockets": {
            "listeners": [
                {"family": "inet", "address": "0.0.0.0", "port": 9000, "local": "0.0.0.0:9000", "backlog_limit": 4096}
            ]
        },
        "addresses": {"addresses": [address], "hostname": "b"},
    }


def plan(conf, share=0.5, texts=None, address="10.88.0.11"):
    files = {"/etc/nginx/nginx.conf": conf} if texts is None else texts
    return _drain.plan("b", backend_evidence(address), "front", nginx_evidence(conf), ["app"], files, share)


def test_one_of_two_servers_is_marked_down_in_place():
    conf = UPSTREAM % ("", "app")
    result = plan(conf)
    assert result["refused"] == [] and result["links"] == 2
    (drain,) = result["drains"]
    assert (drain["file"], drain["line"], drain["upstream"]) == ("/etc/nginx/nginx.conf", 3, "app")
    assert drain["new"] == "        server 10.88.0.11:9000 max_fails=1 down;   # backend b"
    (written,) = result["files"]
    assert written["content"] == conf.replace("max_fails=1;", "max_fails=1 down;")


def test_the_other_backend_gets_its_own_line():
    assert plan(UPSTREAM % ("", "app"), address="10.88.0.12")["drains"][0]["line"] == 4


def test_a_direct_pass_cannot_be_drained():
    result = plan(UPSTREAM % ("", "10.88.0.11:9000"))
    assert result["drains"] == [] and result["files"] == []
    assert "passes straight to pool app (10.88.0.11:9000)" in result["refused"][0]


def test_the_share_is_never_exceeded():
    conf = UPSTREAM % ("        server 10.88.0.13:9000;\n", "app")
    assert plan(conf, share=0.34)["drains"]
    refused = plan(conf, share=0.3)["refused"]
    assert "takes 1 of 3 servers out, more than the allowed share 0.3" in refused[0]


def test_a_server_already_down_counts_against_the_share():
    conf = UPSTREAM % ("", "app")
    conf = conf.replace("server 10.88.0.12:9000;", "server 10.88.0.12:9000 down;")
    refused = plan(conf, share=1)["refused"]
    assert "leaves no server up" in refused[0]


def test_a_line_with_two_statements_is_refused_with_its_text():
    conf = UPSTREAM % ("", "app")
    conf = conf.replace("max_fails=1;   # backend b", "max_fails=1; keepalive 4;")
    refused = plan(conf)["refused"]
    assert "/etc/nginx/nginx.conf:3" in refused[0] and "keepalive 4" in refused[0]


def test_a_file_changed_on_disk_since_the_dump_is_refused():
    conf = UPSTREAM % ("", "app")
    texts = {"/etc/nginx/nginx.conf": "\n\n\n"}
    assert "is not one 'server 10.88.0.11:9000 ...;' statement" in plan(conf, texts=texts)["refused"][0]
    assert "could not be read back" in plan(conf, texts={})["refused"][0]


def test_a_backend_nobody_passes_to_has_no_links():
    result = plan(UPSTREAM % ("", "app"), address="10.88.0.99")
    assert result == {"links": 0, "drains": [], "files": [], "refused": []}


@pytest.mark.parametrize(
    "line, expected",
    [
        ("    server 1.2.3.4:9000;\n", "    server 1.2.3.4:9000 down;\n"),
        ("\tserver 1.2.3.4:9000 weight=2 ;\r\n", "\tserver 1.2.3.4:9000 weight=2 down;\r\n"),
        ("    server 1.2.3.4:9000 down;\n", "    server 1.2.3.4:9000 down;\n"),
        ("    server 1.2.3.4:9001;\n", None),
        ("    server 1.2.3.4:9000\n", None),
        ("    server 1.2.3.4:9000; server 5.6.7.8:9000;\n", None),
    ],
)
def test_mark_down(line, expected):
    assert _drain.mark_down(line, "1.2.3.4:9000") == expected


def test_split_lines_keeps_unicode_line_separators_inside_lines():
    assert _drain.split_lines("a\u2028b\nc\fd\r\ne") == ["a\u2028b\n", "c\fd\r\n", "e"]
