"""nginx remediation planning: precise text edits at parsed lines, and the plan over real-looking configs."""

import pytest
from conftest import FIXTURES

from ansible_collections.acceptq.remediation.plugins.module_utils import registry as checks
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import plan as _nginx_plan
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx.plan import PlanError

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


def test_replace_refuses_ambiguous_statements():
    with pytest.raises(PlanError, match="cannot tell them apart"):
        _nginx_plan.replace_directive("a 1; a 2;\n", 1, "a", ["3"])
    assert _nginx_plan.replace_directive("a 1; a 2;\n", 1, "a", ["3"], first_arg="2") == "a 1; a 3;\n"
    with pytest.raises(PlanError, match="no directive"):
        _nginx_plan.replace_directive("    max_fails=3;\n", 1, "server", ["x"])


def test_a_directive_split_over_lines_is_read_and_replaced_as_nginx_reads_it():
    text = "upstream u {\n    server 127.0.0.1:9000   # first\n        max_fails=3;\n    keepalive 2;\n}\n"
    assert _nginx_plan.directive_args(text, 2, "server", "127.0.0.1:9000") == ["127.0.0.1:9000", "max_fails=3"]
    edited = _nginx_plan.replace_directive(text, 2, "server", ["127.0.0.1:9000", "max_fails=1"])
    assert edited == "upstream u {\n    server 127.0.0.1:9000 max_fails=1;\n    keepalive 2;\n}\n"


def test_form_feed_and_u2028_in_comments_do_not_move_lines():
    text = "# a\u2028comment\x0c still the comment\nlocation / {\r\n    fastcgi_read_timeout 60s; # x\u2028y\r\n}\r\n"
    edited = _nginx_plan.replace_directive(text, 3, "fastcgi_read_timeout", ["2s"])
    assert edited == text.replace("60s", "2s")
    inserted = _nginx_plan.insert_directive(text, 2, "location", "fastcgi_send_timeout", ["2s"])
    assert inserted.split("\n")[2] == "    fastcgi_send_timeout 2s;\r"


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


def test_insert_below_a_brace_on_its_own_line():
    text = "location /api/\n{\n    proxy_pass http://app;\n}\n"
    edited = _nginx_plan.insert_directive(text, 2, "location", "proxy_read_timeout", ["1500ms"])
    assert edited == "location /api/\n{\n    proxy_read_timeout 1500ms;\n    proxy_pass http://app;\n}\n"


def test_dumped_text_matches_the_file_with_or_without_its_last_newline():
    assert _nginx_plan.same_lines("a;\nb;\n", "a;\nb;\n\n")
    assert _nginx_plan.same_lines("a;\nb;", "a;\nb;\n")
    assert not _nginx_plan.same_lines("a;\nc;\n", "a;\nb;\n\n")


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


def test_parameters():
    args = _nginx_plan.directive_args("    server 127.0.0.1:9000 max_fails=10 fail_timeout=5m;\n", 1, "server")
    assert args == ["127.0.0.1:9000", "max_fails=10", "fail_timeout=5m"]
    args = _nginx_plan.set_parameter(args, "max_fails", "1")
    assert _nginx_plan.set_parameter(args, "weight", "2") == [
        "127.0.0.1:9000",
        "max_fails=1",
        "fail_timeout=5m",
        "weight=2",
    ]


# The plan over parsed configurations: the seed's dump (tests/fixtures/nginx/seed-dump.txt).

SEED_SITE = "/etc/nginx/sites-enabled/seed"


def load(dump):
    return _nginx.load_config(
        {
            "binary": "/usr/sbin/nginx",
            "conf_path": "/etc/nginx/nginx.conf",
            "dump": {"returncode": 0, "stdout": dump, "stderr": ""},
            "cpu_count": 2,
        }
    )


def dump_of(files):
    """What nginx -T prints for these files."""
    return "".join("# configuration file %s:\n%s\n" % (path, text) for path, text in files.items())


def seed_dump():
    return (FIXTURES / "nginx" / "seed-dump.txt").read_text()


def workload(**declared):
    return checks.effective_workload(declared)


def on_disk(model):
    """The files as they are on disk: nginx -T printed one more newline after each."""
    return dict((path, text[:-1] if text.endswith("\n\n") else text) for path, text in model["files"].items())


def applied(model, result, disk=None):
    disk = disk or on_disk(model)
    files, refused = _nginx_plan.render_files(result["edits"], model["files"], disk)
    assert refused == []
    texts = dict(disk)
    texts.update((item["path"], item["content"]) for item in files)
    return texts


def edited_lines(result, path):
    return [(edit["line"], edit["action"], edit["new"]) for edit in result["edits"][path]]


def test_seed_plan_edits_where_nginx_takes_each_value_from():
    model = load(seed_dump())
    result = _nginx_plan.plan(model, workload(client_timeout_s=2), somaxconn=4096)
    assert result["refused"] == [] and result["restart_reasons"] == []
    assert list(result["edits"]) == [SEED_SITE]
    lines = edited_lines(result, SEED_SITE)
    # upstream server parameters rewritten on their own line, address and other words kept
    assert (3, "replace", "server 127.0.0.1:9000 max_fails=1 fail_timeout=10s;") in lines
    # the server-scope 100ms is replaced where it is declared, not shadowed
    assert (14, "replace", "fastcgi_read_timeout 1500ms;") in lines
    # unset timeouts are inserted inside the location that passes
    assert (16, "insert", "fastcgi_send_timeout 1500ms;") in lines
    # next_upstream off in the nested location and the proxy location's own 90s
    assert (31, "replace", "fastcgi_next_upstream error timeout;") in lines
    assert (36, "replace", "proxy_read_timeout 1500ms;") in lines
    # backlog=65535 is above somaxconn
    assert (11, "replace", "listen 8081 backlog=4096;") in lines
    assert all(edit["reason"] for edit in result["edits"][SEED_SITE])
    read = next(edit for edit in result["edits"][SEED_SITE] if edit["line"] == 14)
    assert "client timeout 2s (declared)" in read["reason"] and read["old"].endswith("(server scope)")
    assert "100ms is below the expected p99 of 1s" in read["reason"]
    connect = next(edit for edit in result["edits"][SEED_SITE] if edit["name"] == "fastcgi_connect_timeout")
    assert "SYN retransmission" in connect["reason"]


def test_plan_applied_then_planned_again_changes_nothing():
    model = load(seed_dump())
    result = _nginx_plan.plan(model, workload(client_timeout_s=2), somaxconn=4096)
    texts = applied(model, result)
    again = load(dump_of(texts))
    assert again["errors"] == []
    assert _nginx_plan.plan(again, workload(client_timeout_s=2), somaxconn=4096)["edits"] == {}
    for server in again["servers"]:
        for location in server["locations"]:
            if location["pass"]:
                assert location["settings"]["read_timeout"]["seconds"] == 1.5


def test_sized_listen_backlog_goes_on_the_listen_that_carries_the_options():
    model = load(seed_dump())
    result = _nginx_plan.plan(model, workload(), manage=["listen_backlog"], somaxconn=4096, listen_backlog=128)
    assert edited_lines(result, SEED_SITE) == [
        (11, "replace", "listen 8081 backlog=128;"),
        (24, "replace", "listen 8082 backlog=128;"),
        (25, "replace", "listen [::]:8082 backlog=128;"),
    ]


def test_per_location_overrides_split_a_shared_server_declaration():
    site = (
        "server {\n    listen 80;\n    server_name app;\n    fastcgi_read_timeout 30s;\n"
        "    location /slow/ {\n        fastcgi_pass 127.0.0.1:9000;\n    }\n"
        "    location / {\n        fastcgi_pass 127.0.0.1:9000;\n    }\n}\n"
    )
    model = load(
        dump_of({"/etc/nginx/nginx.conf": "http {\n    include /etc/nginx/site;\n}\n", "/etc/nginx/site": site})
    )
    declared = workload(client_timeout_s=2, locations={"app /slow/": {"client_timeout_s": 8}})
    result = _nginx_plan.plan(model, declared, manage=["timeouts"])
    reads = [line for line in edited_lines(result, "/etc/nginx/site") if "read_timeout" in line[2]]
    assert reads == [(5, "insert", "fastcgi_read_timeout 6s;"), (8, "insert", "fastcgi_read_timeout 1500ms;")]
    again = load(dump_of(applied(model, result)))
    assert _nginx_plan.plan(again, declared, manage=["timeouts"])["edits"] == {}


def test_files_that_did_not_parse_are_refused_and_the_rest_is_planned():
    files = {
        "/etc/nginx/nginx.conf": "http {\n    include /etc/nginx/conf.d/*.conf;\n}\n",
        "/etc/nginx/conf.d/a.conf": "server {\n    listen 80;\n    location / {\n        fastcgi_pass 127.0.0.1:9000;\n"
        "        fastcgi_read_timeout 100ms;\n    }\n}\n",
        # a syntax error: nothing of it is in the model
        "/etc/nginx/conf.d/b.conf": "upstream b {\n    server 127.0.0.1:9000 max_fails=0;\n}\nserver {\n"
        "    location / {\n",
        # parsed, but its include is missing: in the model, yet not to be touched
        "/etc/nginx/conf.d/c.conf": "server {\n    listen 81;\n    location / {\n"
        "        include /etc/nginx/missing.conf;\n        fastcgi_pass 127.0.0.1:9000;\n    }\n}\n",
    }
    model = load(dump_of(files))
    assert model["unparsed"] == ["/etc/nginx/conf.d/b.conf", "/etc/nginx/conf.d/c.conf"]
    result = _nginx_plan.plan(model, workload(client_timeout_s=2))
    assert list(result["edits"]) == ["/etc/nginx/conf.d/a.conf"]
    refused = [(item["file"], item["message"]) for item in result["refused"]]
    assert {path for path, _message in refused} == {"/etc/nginx/conf.d/b.conf", "/etc/nginx/conf.d/c.conf"}
    assert ("/etc/nginx/conf.d/c.conf", "fastcgi_read_timeout not changed: the file did not parse") in refused
    assert any(message.startswith("not parsed, left alone") for _path, message in refused)


def test_a_shared_location_declaration_with_conflicting_needs_is_refused():
    site = (
        "server {\n    server_name app;\n    location / {\n        fastcgi_read_timeout 60s;\n"
        "        fastcgi_pass 127.0.0.1:9000;\n        location /slow/ {\n            fastcgi_pass 127.0.0.1:9000;\n"
        "        }\n    }\n}\n"
    )
    model = load(
        dump_of({"/etc/nginx/nginx.conf": "http {\n    include /etc/nginx/site;\n}\n", "/etc/nginx/site": site})
    )
    declared = workload(client_timeout_s=2, locations={"app /slow/": {"client_timeout_s": 8}})
    result = _nginx_plan.plan(model, declared, manage=["timeouts"])
    assert ("/etc/nginx/site", 4) in [(item["file"], item["line"]) for item in result["refused"]]
    assert not any(edit["line"] == 4 for edit in result["edits"].get("/etc/nginx/site", []))


def test_a_file_changed_since_the_dump_is_refused():
    model = load(seed_dump())
    result = _nginx_plan.plan(model, workload(client_timeout_s=2), somaxconn=4096)
    disk = on_disk(model)
    disk[SEED_SITE] = "# edited by someone else\n" + disk[SEED_SITE]
    files, refused = _nginx_plan.render_files(result["edits"], model["files"], disk)
    assert files == [] and refused[0]["file"] == SEED_SITE and "changed on disk" in refused[0]["message"]


def nginx_listener(local, address, port, send_q):
    return {
        "family": "inet",
        "address": address,
        "port": port,
        "local": local,
        "backlog_limit": send_q,
        "owner": {"pid": 1, "name": "nginx"},
    }


def test_restart_only_when_the_backlog_value_does_not_change():
    model = load(seed_dump())
    listeners = [
        nginx_listener("0.0.0.0:8081", "0.0.0.0", 8081, 128),  # backlog= changes: a reload re-listens
        nginx_listener("0.0.0.0:8082", "0.0.0.0", 8082, 128),  # 511 unchanged, somaxconn raised since
        dict(nginx_listener("0.0.0.0:9000", "0.0.0.0", 9000, 5), owner={"pid": 2, "name": "php-fpm8.2"}),
    ]
    result = _nginx_plan.plan(model, workload(), manage=["listen_backlog"], somaxconn=4096, listeners=listeners)
    (reason,) = result["restart_reasons"]
    assert reason.startswith("0.0.0.0:8082: Send-Q 128") and "511" in reason
    listeners[1]["backlog_limit"] = 511
    result = _nginx_plan.plan(model, workload(), manage=["listen_backlog"], somaxconn=4096, listeners=listeners)
    assert result["restart_reasons"] == []


def test_allman_braces_and_comments_survive_a_plan():
    site = (
        "# api vhost\r\nserver\r\n{\r\n    listen 8080; # internal\r\n    location /api/\r\n    {\r\n"
        "        proxy_pass http://127.0.0.1:9000; # app\r\n    }\r\n}\r\n"
    )
    model = load(dump_of({"/etc/nginx/nginx.conf": "http {\n    include /etc/nginx/api;\n}\n", "/etc/nginx/api": site}))
    result = _nginx_plan.plan(model, workload(client_timeout_s=4), manage=["timeouts"])
    # nginx -T prints lines with LF; the file on disk keeps its CRLF
    texts = applied(model, result, disk={"/etc/nginx/api": site})
    assert texts["/etc/nginx/api"].split("\r\n")[5:9] == [
        "    {",
        "        proxy_connect_timeout 500ms;",
        "        proxy_read_timeout 3s;",
        "        proxy_send_timeout 3s;",
    ]
    assert texts["/etc/nginx/api"].count("\r\n") == site.count("\r\n") + 3
    again = load(dump_of(texts))
    assert _nginx_plan.plan(again, workload(client_timeout_s=4), manage=["timeouts"])["edits"] == {}


def test_a_ten_thousand_line_configuration_is_planned_and_applied():
    params = "".join("        fastcgi_param P%d $uri;\n" % number for number in range(42))
    blocks = []
    for number in range(200):
        blocks.append(
            "server {\n    listen %d;\n    server_name app%d;\n    fastcgi_read_timeout 100ms;\n"
            "    location ~ \\.php$ {\n%s        fastcgi_pass pool%d;\n    }\n}\n"
            "upstream pool%d {\n    server 127.0.0.1:%d max_fails=0;\n}\n"
            % (10000 + number, number, params, number, number, 9000 + number)
        )
    site = "".join(blocks)
    assert site.count("\n") >= 10000
    model = load(dump_of({"/etc/nginx/nginx.conf": "http {\n    include /etc/nginx/big;\n}\n", "/etc/nginx/big": site}))
    result = _nginx_plan.plan(model, workload(client_timeout_s=2), somaxconn=4096)
    assert (
        result["refused"] == [] and len(result["edits"]["/etc/nginx/big"]) == 200 * 4
    )  # read, send, connect, upstream server
    texts = applied(model, result)
    again = load(dump_of(texts))
    assert _nginx_plan.plan(again, workload(client_timeout_s=2), somaxconn=4096)["edits"] == {}


def test_map_if_and_lua_blocks_are_edited_around_not_into():
    conf = (
        "http {\n"
        "    map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n"
        "    upstream app { server 10.0.0.1:8080 max_fails=0; server 10.0.0.2:8080 backup; }\n"
        "    server {\n"
        "        listen 80;\n"
        "        more_set_headers 'X: y';\n"
        "        location / {\n"
        "            access_by_lua_block { if ngx.var.x then ngx.exit(403) end }\n"
        "            if ($request_method = POST) { return 405; }\n"
        "            proxy_pass http://app;\n"
        "        }\n"
        "    }\n"
        "}\n"
    )
    model = load(dump_of({"/etc/nginx/nginx.conf": conf}))
    assert model["errors"] == []
    result = _nginx_plan.plan(model, workload(client_timeout_s=10))
    assert result["refused"] == []
    lines = edited_lines(result, "/etc/nginx/nginx.conf")
    # two upstream servers on one line, each found by its address
    assert (3, "replace", "server 10.0.0.1:8080 max_fails=1 fail_timeout=10s;") in lines
    assert [line for line in lines if line[0] == 7] == [
        (7, "insert", "proxy_connect_timeout 500ms;"),
        (7, "insert", "proxy_read_timeout 7500ms;"),
        (7, "insert", "proxy_send_timeout 7500ms;"),
    ]
    texts = applied(model, result)
    again = load(dump_of(texts))
    assert again["errors"] == []
    assert _nginx_plan.plan(again, workload(client_timeout_s=10))["edits"] == {}
    assert texts["/etc/nginx/nginx.conf"].splitlines()[2] == (
        "    upstream app { server 10.0.0.1:8080 max_fails=1 fail_timeout=10s; server 10.0.0.2:8080 backup; }"
    )


def test_a_latin1_byte_in_a_comment_is_kept_through_the_edit():
    """nginx reads bytes; a Latin-1 comment is no reason to refuse the file, and its byte stays."""
    data = b"# caf\xe9 menu\nlocation / {\n    fastcgi_read_timeout 60s;\n}\n"
    disk = data.decode("utf-8", "surrogateescape")
    dumped = data.decode("utf-8", "replace") + "\n"  # what the host's nginx -T shows
    edits = {"/etc/nginx/x": [{"action": "replace", "line": 3, "name": "fastcgi_read_timeout", "args": ["2s"]}]}
    files, refused = _nginx_plan.render_files(edits, {"/etc/nginx/x": dumped}, {"/etc/nginx/x": disk})
    assert refused == []
    assert files[0]["content"].encode("utf-8", "surrogateescape") == data.replace(b"60s", b"2s")
