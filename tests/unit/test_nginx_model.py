import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx

FIXTURES = "tests/fixtures/nginx/"


def section(stdout=None, returncode=0, stderr="", files=None):
    return {
        "binary": "/usr/sbin/nginx",
        "conf_path": "/etc/nginx/nginx.conf",
        "dump": {"returncode": returncode, "stdout": stdout or "", "stderr": stderr},
        "files": files,
        "cpu_count": 2,
    }


@pytest.fixture(scope="module")
def seed():
    with open(FIXTURES + "seed-dump.txt") as handle:
        return _nginx.load_config(section(handle.read()))


def server(model, name):
    return next(server for server in model["servers"] if name in server["names"])


@pytest.mark.parametrize(
    "text, seconds",
    [("100ms", 0.1), ("60s", 60), ("60", 60), ("5m", 300), ("1m30s", 90), ("1h", 3600), ("0", 0)],
)
def test_durations(text, seconds):
    assert _nginx.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "fast", "10 s", "5mm", "-1s"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        _nginx.parse_duration(text)


def test_dump_splits_into_files(seed):
    assert list(seed["files"])[:2] == ["/etc/nginx/nginx.conf", "/etc/nginx/mime.types"]
    assert "/etc/nginx/sites-enabled/seed" in seed["files"]
    assert seed["errors"] == [] and seed["unparsed"] == []


def test_timeouts_inherit_with_their_origin(seed):
    php = server(seed, "vhost-a")["locations"][0]
    read = php["settings"]["read_timeout"]
    assert (read["value"], read["seconds"], read["scope"]) == ("100ms", 0.1, "server")
    assert (read["file"], read["line"]) == ("/etc/nginx/sites-enabled/seed", 14)
    assert php["settings"]["connect_timeout"] == {
        "value": "60s",
        "seconds": 60.0,
        "file": None,
        "line": None,
        "scope": "default",
    }
    assert php["settings"]["keep_conn"]["value"] == "on"


def test_nested_locations_and_proxy(seed):
    vhost_b = server(seed, "vhost-b")
    by_match = dict((location["match"], location) for location in vhost_b["locations"])
    assert by_match["~ \\.php$"]["pass"]["target"] == "unix:/run/php/php8.2-fpm.sock"
    assert by_match["~ \\.php$"]["settings"]["next_upstream"]["value"] == "off"
    api = by_match["/api/"]
    assert api["pass"]["module"] == "proxy" and api["pass"]["target"] == "127.0.0.1:9000"
    assert api["settings"]["read_timeout"]["seconds"] == 90
    assert "keep_conn" not in api["settings"]


def test_upstream_servers_and_listens(seed):
    upstream = seed["upstreams"]["php_backend"]
    entry = upstream["servers"][0]
    assert (entry["max_fails"], entry["fail_timeout_s"], entry["line"]) == (10, 300.0, 3)
    assert upstream["keepalive"]["value"] == 16
    assert server(seed, "vhost-a")["locations"][0]["pass"]["upstream"] == "php_backend"
    listens = [(item["address"], item["port"], item["backlog"]) for item in server(seed, "vhost-b")["listens"]]
    assert listens == [("*", 8082, None), ("::", 8082, 1024)]
    assert seed["worker_processes"]["count"] == 2


def test_locations_for_a_php_fpm_listen(seed):
    assert len(_nginx.locations_for_listen(seed, "127.0.0.1:9000")) == 2  # vhost-a via upstream, /api/ direct
    assert len(_nginx.locations_for_listen(seed, "9000")) == 2
    assert len(_nginx.locations_for_listen(seed, "/run/php/php8.2-fpm.sock")) == 1
    assert _nginx.locations_for_listen(seed, "127.0.0.1:9001") == []


@pytest.mark.parametrize(
    "target, listen, expected",
    [
        ("localhost:9000", "127.0.0.1:9000", True),
        ("127.0.0.1:9000", "0.0.0.0:9000", True),
        ("[::1]:9000", "[::1]:9000", True),
        ("10.0.0.5:9000", "127.0.0.1:9000", False),
        ("unix:/run/php//fpm.sock", "/run/php/fpm.sock", True),
        ("unix:/run/php/fpm.sock", "9000", False),
    ],
)
def test_listen_matching(target, listen, expected):
    assert _nginx.listen_matches(target, listen) is expected


def test_syntax_errors_name_file_and_line():
    dump = (
        "# configuration file /etc/nginx/nginx.conf:\nhttp {\n include /etc/nginx/sites/*;\n}\n"
        "# configuration file /etc/nginx/sites/broken:\nserver {\n listen 80;\n location / {\n}\n"
        "# configuration file /etc/nginx/sites/good:\nserver {\n listen 81;\n"
        " location / { fastcgi_pass 127.0.0.1:9000; }\n}\n"
    )
    model = _nginx.load_config(section(dump))
    assert model["unparsed"] == ["/etc/nginx/sites/broken"]
    assert model["errors"][0]["file"] == "/etc/nginx/sites/broken" and model["errors"][0]["line"]
    good = [server for server in model["servers"] if server["file"] == "/etc/nginx/sites/good"]
    assert good[0]["locations"][0]["pass"]["target"] == "127.0.0.1:9000"


def test_failed_test_uses_the_files_and_stderr():
    files = {
        "/etc/nginx/nginx.conf": "http {\n include /etc/nginx/conf.d/app.conf;\n}\n",
    }
    stderr = 'nginx: [emerg] open() "/etc/nginx/conf.d/app.conf" failed (2: No such file) in /etc/nginx/nginx.conf:2\n'
    model = _nginx.load_config(section(returncode=1, stderr=stderr, files=files))
    assert {"file": "/etc/nginx/nginx.conf", "line": 2} in [
        {"file": error["file"], "line": error["line"]} for error in model["errors"]
    ]
    assert model["unparsed"] == ["/etc/nginx/nginx.conf"]


def test_lua_and_third_party_blocks_do_not_stop_the_parse():
    dump = (
        "# configuration file /etc/nginx/nginx.conf:\nhttp {\n"
        " map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n"
        " server {\n  listen 80;\n  more_set_headers 'X: y';\n"
        "  location / {\n   access_by_lua_block { if ngx.var.x then ngx.exit(403) end }\n"
        "   if ($request_method = POST) { return 405; }\n   proxy_pass http://app;\n  }\n }\n"
        " upstream app { server 10.0.0.1:8080; }\n}\n"
    )
    model = _nginx.load_config(section(dump))
    assert model["errors"] == []
    assert model["servers"][0]["locations"][0]["pass"]["upstream"] == "app"


def test_not_installed():
    assert _nginx.load_config({"binary": None})["servers"] == []


def test_recommended_stays_inside_the_client_timeout(seed):
    workload = {"client_timeout_s": 2.0, "p99_s": 1.0, "locations": {}, "assumed": ["p99_s"]}
    vhost_a = server(seed, "vhost-a")
    values = _nginx.recommended(seed, vhost_a, vhost_a["locations"][0], workload)
    assert values["read_timeout_s"] == 1.5 and values["fail_timeout_s"] <= 10
    assert _nginx.format_duration(values["read_timeout_s"]) == "1500ms"
    assert _nginx.format_duration(45.0) == "45s"


def test_failed_test_captured_on_a_real_nginx():
    """nginx -T on Debian's nginx 1.22.1 with an include of a missing file: no dump, the files instead."""
    import json

    with open(FIXTURES + "failed-test-section.json") as handle:
        model = _nginx.load_config(json.load(handle))
    assert model["errors"] == [
        {
            "file": "/etc/nginx/sites-enabled/broken",
            "line": 3,
            "message": 'open() "/etc/nginx/snippets/nope.conf" failed (2: No such file or directory)',
        }
    ]
    assert model["unparsed"] == ["/etc/nginx/sites-enabled/broken"]
    assert [server["listens"][0]["port"] for server in model["servers"]] == [8090, 80]  # sites-enabled/* in glob order


def test_a_ten_thousand_line_configuration_parses():
    servers = "".join(
        "server {\n listen %d;\n server_name s%d;\n location / {\n  fastcgi_read_timeout 5s;\n"
        "  fastcgi_pass 127.0.0.1:9000;\n }\n}\n" % (10000 + index, index)
        for index in range(1250)
    )
    dump = "# configuration file /etc/nginx/nginx.conf:\nhttp {\n%s}\n" % servers
    assert dump.count("\n") > 10000
    model = _nginx.load_config(section(dump))
    assert len(model["servers"]) == 1250 and model["errors"] == []
    assert model["servers"][-1]["locations"][0]["settings"]["read_timeout"]["line"] == 2 + 8 * 1249 + 4
