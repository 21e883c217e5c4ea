"""One test per class of error that real configurations showed (issue 15) and the nginx parts of issue 18.

Each builds the smallest `nginx -T` dump (or tree) showing the class and fails without its fix.
"""

import time

import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import plan as _plan
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import run_checks

WORKLOAD = {"client_timeout_s": 30, "locations": {}, "assumed": [], "p99_s": 1.0}


def dump(*files):
    """A nginx -T dump of (path, text) pairs, the main file first."""
    return "".join("# configuration file %s:\n%s\n" % (path, text) for path, text in files)


def section(text, **extra):
    result = {
        "binary": "/usr/sbin/nginx",
        "conf_path": "/etc/nginx/nginx.conf",
        "dump": {"returncode": 0, "stdout": text, "stderr": ""},
        "cpu_count": 2,
    }
    result.update(extra)
    return result


def model_of(*files, **extra):
    return _nginx.load_config(section(dump(*files), **extra))


def findings_of(*files, **workload):
    evidence = {"nginx": dict(section(dump(*files)), worker_count=2, logs={})}
    return run_checks("web1", evidence, {}, dict({"client_timeout_s": 30}, **workload))


def ids(findings):
    return sorted(finding.id for finding in findings)


def by_id(findings, finding_id):
    return [finding for finding in findings if finding.id == finding_id]


def locations(model):
    return dict((location["match"], location) for server in model["servers"] for location in server["locations"])


GOOD_TIMEOUTS = "fastcgi_read_timeout 20s; fastcgi_send_timeout 20s; fastcgi_connect_timeout 500ms;"


# 1. access_log inheritance, default log, escape=, /dev/null


def test_access_log_off_in_one_location_keeps_the_http_log_elsewhere():
    model = model_of(
        (
            "/etc/nginx/nginx.conf",
            "http {\n access_log /var/log/nginx/main.log;\n server {\n  listen 80;\n"
            "  location = /favicon.ico { access_log off; fastcgi_pass 127.0.0.1:9000; }\n"
            "  location ~ \\.php$ { fastcgi_pass 127.0.0.1:9000; }\n }\n}\n",
        )
    )
    by_match = locations(model)
    assert by_match["= /favicon.ico"]["access_logs"] == []
    assert [log["path"] for log in by_match["~ \\.php$"]["access_logs"]] == ["/var/log/nginx/main.log"]


def test_no_access_log_means_the_default_combined_log():
    model = model_of(
        ("/etc/nginx/nginx.conf", "http {\n server {\n  location / { fastcgi_pass 127.0.0.1:9000; }\n }\n}\n"),
        http_log_path="/var/log/nginx/access.log",
    )
    (log,) = locations(model)["/"]["access_logs"]
    assert (log["path"], log["format"], log["default"]) == ("/var/log/nginx/access.log", "combined", True)
    blind = by_id(
        findings_of(
            ("/etc/nginx/nginx.conf", "http {\n server {\n  location / { fastcgi_pass 127.0.0.1:9000; }\n }\n}\n")
        ),
        "AQ-NGINX-008",
    )
    assert blind and "format combined" in blind[0].observed
    assert (blind[0].evidence["file"], blind[0].evidence["line"]) == ("/etc/nginx/nginx.conf", 3)  # its location


def test_escape_json_formats_are_parsed_and_judged():
    conf = (
        'http {\n log_format j escape=json \'{"status":"$status","up":"$upstream_status",\'\n'
        '   \'"rt":"$request_time","urt":"$upstream_response_time"}\';\n'
        " access_log /var/log/nginx/j.log j;\n"
        " server {\n  location / { %s fastcgi_pass 127.0.0.1:9000; }\n }\n}\n" % GOOD_TIMEOUTS
    )
    model = model_of(("/etc/nginx/nginx.conf", conf))
    assert model["log_formats"]["j"]["format"].startswith('{"status":"$status"')
    assert model["log_formats"]["j"]["escape"] == "escape=json"
    line = '{"status":"499","up":"-","rt":"2.000","urt":"-"}'
    logs = {"/var/log/nginx/j.log": {"lines": [line] * 60, "error": None}}
    evidence = {"nginx": dict(section(dump(("/etc/nginx/nginx.conf", conf))), worker_count=1, logs=logs)}
    findings = run_checks("web1", evidence, {}, {"client_timeout_s": 30})
    assert "60 of the last 60 requests were 499" in by_id(findings, "AQ-NGINX-009")[0].observed
    assert by_id(findings, "AQ-NGINX-008") == []


def test_dev_null_logs_are_not_a_bad_format():
    conf = "http {\n access_log /dev/null;\n server {\n  location / { %s fastcgi_pass 127.0.0.1:9000; }\n }\n}\n"
    assert by_id(findings_of(("/etc/nginx/nginx.conf", conf % GOOD_TIMEOUTS)), "AQ-NGINX-008") == []


# 2. nginx -t failures as an ordinary host prints them


def test_nginx_t_errors_without_a_pid_prefix_are_findings():
    stderr = (
        'nginx: [emerg] cannot load certificate "/etc/ssl/missing.pem": BIO_new_file() failed '
        "in /etc/nginx/sites-enabled/tls:4\nnginx: configuration file /etc/nginx/nginx.conf test failed\n"
    )
    files = {"/etc/nginx/nginx.conf": "http { }\n"}
    evidence = {
        "nginx": {
            "binary": "/usr/sbin/nginx",
            "conf_path": "/etc/nginx/nginx.conf",
            "dump": {"returncode": 1, "stdout": "", "stderr": stderr},
            "files": files,
        }
    }
    (unreadable,) = by_id(run_checks("web1", evidence), "AQ-NGINX-010")
    assert unreadable.observed.startswith("/etc/nginx/sites-enabled/tls:4: cannot load certificate")


def test_a_failed_test_without_any_parsable_message_is_never_clean():
    evidence = {
        "nginx": {
            "binary": "/usr/sbin/nginx",
            "conf_path": "/etc/nginx/nginx.conf",
            "dump": {"returncode": 1, "stdout": "", "stderr": "Segmentation fault\n"},
            "files": {"/etc/nginx/nginx.conf": "http { }\n"},
        }
    }
    (unreadable,) = by_id(run_checks("web1", evidence), "AQ-NGINX-010")
    assert "nginx -t failed: Segmentation fault" in unreadable.observed


# 3. the main configuration: a dump's first file


def test_the_main_file_is_the_dumps_first_whatever_the_evidence_says():
    model = _nginx.load_config(
        section(
            dump(("/usr/local/openresty/nginx/conf/nginx.conf", "http { server { listen 8080; } }\n")),
            conf_path="/etc/nginx/nginx.conf",
        )
    )
    assert model["conf_path"] == "/usr/local/openresty/nginx/conf/nginx.conf"
    assert [server["listens"][0]["port"] for server in model["servers"]] == [8080]
    assert model["errors"] == []


# 4. include globs


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/app.conf", True),
        ("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/snippets/long.conf", False),
        ("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/.default.conf", False),
        ("/etc/nginx/conf.d/.*.conf", "/etc/nginx/conf.d/.default.conf", True),
        ("/etc/nginx/sites-enabled/*", "/etc/nginx/sites-enabled/a b", True),
        ("/etc/nginx/s/[!x]*.conf", "/etc/nginx/s/xa.conf", False),
        ("/etc/nginx/s/[a-c]?.conf", "/etc/nginx/s/b1.conf", True),
    ],
)
def test_globs_follow_nginx(pattern, path, expected):
    assert _nginx.glob_match(pattern, path) is expected


def test_a_location_snippet_does_not_leak_into_http():
    model = model_of(
        ("/etc/nginx/nginx.conf", "http {\n include /etc/nginx/conf.d/*.conf;\n}\n"),
        (
            "/etc/nginx/conf.d/app.conf",
            "server {\n location / {\n  include /etc/nginx/conf.d/snippets/slow.conf;\n"
            "  fastcgi_pass 127.0.0.1:9000;\n }\n location /x { fastcgi_pass 127.0.0.1:9000; }\n}\n",
        ),
        ("/etc/nginx/conf.d/snippets/slow.conf", "fastcgi_read_timeout 300s;\n"),
        ("/etc/nginx/conf.d/.default.conf", "server { listen 81; }\n"),
    )
    assert len(model["servers"]) == 1
    by_match = locations(model)
    assert by_match["/"]["settings"]["read_timeout"]["seconds"] == 300
    assert by_match["/x"]["settings"]["read_timeout"]["scope"] == "default"


# 5. pass targets with variables, if, upstream case, durations


def test_pass_targets_resolve_maps_sets_and_upstream_names_caselessly():
    model = model_of(
        (
            "/etc/nginx/nginx.conf",
            "http {\n upstream PHP_Pool { server 10.0.0.1:9000; server 10.0.0.2:9000; }\n"
            " upstream octane_http { server 127.0.0.1:8000; }\n"
            " map $http_x $backend { default php_pool; ~beta 10.0.0.9:9000; }\n"
            " server {\n"
            "  location ~ \\.php$ { fastcgi_pass $backend; }\n"
            "  location /set { set $b 127.0.0.1:9001; fastcgi_pass $b; }\n"
            "  location @octane { set $suffix _http; proxy_pass http://octane$suffix$request_uri; }\n"
            "  location /dyn { proxy_pass http://$host:8080; }\n"
            "  location /scheme { proxy_pass $scheme://octane_http; }\n"
            "  location /if { if ($request_method = POST) { proxy_pass http://php_pool; } }\n"
            " }\n}\n",
        )
    )
    by_match = locations(model)
    php = by_match["~ \\.php$"]["pass"]
    assert php["upstream"] == "PHP_Pool" and php["targets"] == ["php_pool", "10.0.0.9:9000"]
    assert _nginx.upstream_targets(model, by_match["~ \\.php$"]) == ["10.0.0.1:9000", "10.0.0.2:9000", "10.0.0.9:9000"]
    assert by_match["/set"]["pass"]["target"] == "127.0.0.1:9001"
    assert by_match["@octane"]["pass"]["upstream"] == "octane_http"
    assert by_match["/dyn"]["pass"]["unresolved"] and _nginx.upstream_targets(model, by_match["/dyn"]) == []
    assert by_match["/if"]["pass"]["upstream"] == "PHP_Pool"
    assert by_match["/scheme"]["pass"]["upstream"] == "octane_http"
    assert len(_nginx.locations_for_listen(model, "10.0.0.2:9000")) == 2
    assert _nginx.upstream_links(model, by_match["~ \\.php$"]) == [
        ("PHP_Pool", "10.0.0.1:9000"),
        ("PHP_Pool", "10.0.0.2:9000"),
        (None, "10.0.0.9:9000"),
    ]
    assert _nginx.upstream_links(model, by_match["/dyn"]) == []


def test_unresolved_targets_are_reported_not_dropped():
    conf = "http {\n server {\n  location / { %s proxy_pass http://$host:8080; }\n }\n}\n" % GOOD_TIMEOUTS.replace(
        "fastcgi", "proxy"
    )
    (unresolved,) = by_id(findings_of(("/etc/nginx/nginx.conf", conf)), "AQ-NGINX-014")
    assert "proxy_pass http://$host:8080" in unresolved.observed


@pytest.mark.parametrize(
    "text, seconds",
    [("2m 30s", 150), ("1m30", 90), ("1s 500ms", 1.5), ("1h 1m 1s", 3661), ("30s ", 30), ("1d", 86400)],
)
def test_durations_as_nginx_parses_them(text, seconds):
    assert _nginx.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30s 2m", "1y", "1M", "10 s", "m", "100ms", "99999999999s"])
def test_durations_nginx_refuses(text):
    with pytest.raises(ValueError):
        _nginx.parse_duration(text, is_sec=text == "100ms")


# 6. streaming endpoints


WEBSOCKET = (
    "http {\n map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n"
    " upstream app { server 127.0.0.1:3000; server 127.0.0.1:3001; }\n"
    " server {\n  listen 443;\n"
    "  location /socket.io/ {\n   proxy_http_version 1.1;\n   proxy_set_header Upgrade $http_upgrade;\n"
    "   proxy_set_header Connection $connection_upgrade;\n   proxy_read_timeout 1h;\n"
    "   proxy_connect_timeout 500ms;\n   proxy_pass http://app;\n  }\n"
    "  location /events { proxy_buffering off; proxy_read_timeout 24h; proxy_connect_timeout 500ms;"
    " proxy_pass http://127.0.0.1:4000; }\n"
    "  location /api/ { proxy_read_timeout 20s; proxy_send_timeout 20s; proxy_connect_timeout 500ms;"
    " proxy_pass http://app; }\n"
    " }\n}\n"
)


def test_streaming_locations_are_recognised_and_not_judged_as_requests():
    model = model_of(("/etc/nginx/nginx.conf", WEBSOCKET))
    by_match = locations(model)
    assert [item["kind"] for item in by_match["/socket.io/"]["streaming"]] == ["websocket"]
    assert by_match["/events"]["streaming"][0]["kind"].startswith("unbuffered")
    assert by_match["/api/"]["streaming"] == []
    findings = findings_of(("/etc/nginx/nginx.conf", WEBSOCKET))
    assert by_id(findings, "AQ-NGINX-001") == [] and by_id(findings, "AQ-NGINX-002") == []
    (shared,) = by_id(findings, "AQ-NGINX-011")
    assert "/socket.io/" in shared.observed and "location /api/" in shared.observed


def test_streaming_read_timeouts_are_never_shortened():
    model = model_of(("/etc/nginx/nginx.conf", WEBSOCKET))
    planned = _plan.plan(model, WORKLOAD, manage=("timeouts",))
    names = [(edit["line"], edit["name"]) for edits in planned["edits"].values() for edit in edits]
    assert not any(name in ("proxy_read_timeout", "proxy_send_timeout") and line < 13 for line, name in names)
    server = model["servers"][0]
    values = _nginx.recommended(model, server, locations(model)["/socket.io/"], WORKLOAD)
    assert values["read_timeout_s"] == 3600 and values["streaming"]


def test_websocket_headers_on_the_root_location_are_a_shared_location():
    conf = (
        "http {\n server {\n  location / {\n   proxy_set_header Upgrade $http_upgrade;\n"
        "   proxy_set_header Connection upgrade;\n   proxy_connect_timeout 500ms;\n"
        "   proxy_pass http://127.0.0.1:3000;\n  }\n }\n}\n"
    )
    (shared,) = by_id(findings_of(("/etc/nginx/nginx.conf", conf)), "AQ-NGINX-011")
    assert "also serves request/response traffic" in shared.observed


# 7. connect timeouts


def test_long_connect_timeouts_are_reported_on_tcp_only():
    conf = (
        "http {\n server {\n  fastcgi_connect_timeout 90s;\n"
        "  location ~ \\.php$ { fastcgi_read_timeout 20s; fastcgi_send_timeout 20s; fastcgi_pass 127.0.0.1:9000; }\n"
        "  location /u { fastcgi_read_timeout 20s; fastcgi_send_timeout 20s; fastcgi_pass unix:/run/php.sock; }\n"
        " }\n}\n"
    )
    (connect,) = by_id(findings_of(("/etc/nginx/nginx.conf", conf)), "AQ-NGINX-012")
    assert "fastcgi_connect_timeout 90s (/etc/nginx/nginx.conf:3) >= 1s" in connect.observed
    assert "location /u" not in connect.observed
    assert (connect.evidence["file"], connect.evidence["line"]) == ("/etc/nginx/nginx.conf", 3)


# 8. noise: merged findings, next_upstream's text, fail_timeout=0


def test_a_shared_include_gives_one_finding_naming_every_server_and_port():
    files = (
        ("/etc/nginx/nginx.conf", "http {\n include /etc/nginx/sites/*;\n}\n"),
        ("/etc/nginx/sites/a", "server { listen 80; server_name a; include /etc/nginx/php.conf; }\n"),
        ("/etc/nginx/sites/b", "server { listen 8443; server_name b; include /etc/nginx/php.conf; }\n"),
        (
            "/etc/nginx/php.conf",
            "location ~ \\.php$ {\n fastcgi_read_timeout 300s;\n fastcgi_send_timeout 20s;\n"
            " fastcgi_connect_timeout 500ms;\n fastcgi_pass 127.0.0.1:9000;\n}\n",
        ),
    )
    (leaves_first,) = by_id(findings_of(*files), "AQ-NGINX-001")
    assert "server a :80 location" in leaves_first.observed and "server b :8443 location" in leaves_first.observed
    assert leaves_first.evidence["place_count"] == 2
    assert (leaves_first.evidence["file"], leaves_first.evidence["line"]) == ("/etc/nginx/php.conf", 2)


def test_next_upstream_text_says_it_changes_retries_not_counting():
    from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import rules

    text = rules.NO_RETRY_ON_FAILURE.explanation
    assert "not retried" in text and "whatever `next_upstream` says" in text
    assert "nor counted" not in text


def test_fail_timeout_zero_on_a_multi_server_upstream():
    conf = (
        "http {\n upstream pool { server 10.0.0.1:9000 fail_timeout=0; server 10.0.0.2:9000; }\n"
        " upstream one { server 10.0.0.3:9000 fail_timeout=0; }\n"
        " server {\n  location / { %s fastcgi_pass pool; }\n  location /one { %s fastcgi_pass one; }\n }\n}\n"
    ) % (GOOD_TIMEOUTS, GOOD_TIMEOUTS)
    (zero,) = by_id(findings_of(("/etc/nginx/nginx.conf", conf)), "AQ-NGINX-013")
    assert "upstream pool server 10.0.0.1:9000" in zero.observed


# issue 18: bounded expansion, text read as nginx reads it


def test_an_include_loop_with_fan_out_stops_fast_with_a_finding():
    files = (
        ("/etc/nginx/nginx.conf", "http {\n include /etc/nginx/a.conf;\n}\n"),
        ("/etc/nginx/a.conf", "include /etc/nginx/b.conf;\ninclude /etc/nginx/b.conf;\n"),
        ("/etc/nginx/b.conf", "include /etc/nginx/a.conf;\ninclude /etc/nginx/a.conf;\n"),
    )
    started = time.perf_counter()
    findings = findings_of(*files)
    assert time.perf_counter() - started < 5  # a guard against running away, not a benchmark
    (cycle,) = by_id(findings, "AQ-NGINX-015")
    assert "include cycle /etc/nginx/a.conf -> /etc/nginx/b.conf -> /etc/nginx/a.conf" in cycle.observed
    assert cycle.observed.startswith("/etc/nginx/b.conf:1")
    assert ids(findings) == ["AQ-NGINX-015"]


def test_fan_out_without_a_cycle_hits_the_inclusion_bound():
    files = [("/etc/nginx/nginx.conf", "http {\n include /etc/nginx/l0.conf;\n}\n")]
    for level in range(30):
        files.append(("/etc/nginx/l%d.conf" % level, "include /etc/nginx/l%d.conf;\n" % (level + 1) * 2))
    files.append(("/etc/nginx/l30.conf", "server { listen 80; }\n"))
    model = _nginx.load_config(section(dump(*files)))
    assert model["truncated"] and model["limits"][0]["limit"] == "included_files"
    assert "more than 10000 file inclusions" in model["limits"][0]["message"]
    planned = _plan.plan(model, WORKLOAD)
    assert planned["edits"] == {} and "nothing planned" in planned["refused"][0]["message"]


def test_depth_statements_and_bytes_are_bounded():
    files = [("/etc/nginx/nginx.conf", "include /etc/nginx/d0.conf;\n")]
    files += [("/etc/nginx/d%d.conf" % level, "include /etc/nginx/d%d.conf;\n" % (level + 1)) for level in range(40)]
    model = _nginx.load_config(section(dump(*files)))
    assert model["limits"][0]["limit"] == "include_depth"
    big = "http {\n%s}\n" % ("map $a $b%d { default 1; }\n" * 1)
    model = _nginx.build(
        _nginx._empty_model(),
        _nginx.DumpSource({"/n.conf": big * 50}),
        "/n.conf",
        {"binary": "nginx"},
        limits={"statements": 60},
    )
    assert model["limits"][0]["limit"] == "statements"
    model = _nginx.build(
        _nginx._empty_model(),
        _nginx.DumpSource({"/n.conf": "include /m.conf;\n", "/m.conf": "# x\n" * 100}),
        "/n.conf",
        {"binary": "nginx"},
        limits={"bytes": 200},
    )
    assert model["limits"][0]["limit"] == "bytes" and "/n.conf:1" in model["limits"][0]["message"]


def test_u2028_and_form_feed_in_comments_keep_every_server():
    conf = (
        "http {\n # a comment\u2028 server { listen 1; }\n # \x0c form feed } \n"
        " server {\n  listen 80;\n  location / { fastcgi_pass 127.0.0.1:9000; }\n }\n"
        " server { listen 81; } # \x85 next line\n}\n"
    )
    model = model_of(("/etc/nginx/nginx.conf", conf))
    assert [server["listens"][0]["port"] for server in model["servers"]] == [80, 81]
    assert model["servers"][0]["locations"][0]["line"] == 6
    assert model["errors"] == []
    assert model["files"]["/etc/nginx/nginx.conf"] == conf + "\n"


def test_a_directive_split_over_two_lines_is_read():
    conf = (
        "http {\n server {\n  location / {\n   fastcgi_read_timeout\n      20s;\n"
        "   fastcgi_pass\n 127.0.0.1:9000;\n  }\n }\n}\n"
    )
    location = locations(model_of(("/etc/nginx/nginx.conf", conf)))["/"]
    assert location["settings"]["read_timeout"]["seconds"] == 20 and location["settings"]["read_timeout"]["line"] == 4
    assert location["pass"]["target"] == "127.0.0.1:9000"
    text = conf
    edited = _plan.replace_directive(text, 4, "fastcgi_read_timeout", ["2s"])
    assert "   fastcgi_read_timeout 2s;\n   fastcgi_pass" in edited


def test_a_scanned_tree_reads_includes_as_nginx_does(tmp_path):
    etc = tmp_path / "etc" / "nginx"
    (etc / "conf.d" / "snippets").mkdir(parents=True)
    (etc / "nginx.conf").write_text("events {}\nhttp {\n include conf.d/*.conf;\n}\n")
    (etc / "conf.d" / "app.conf").write_text("server { listen 80; location / { fastcgi_pass 127.0.0.1:9000; } }\n")
    (etc / "conf.d" / ".old.conf").write_text("server { listen 81; }\n")
    (etc / "conf.d" / "snippets" / "x.conf").write_text("fastcgi_read_timeout 300s;\n")
    model = _nginx.load_tree(str(etc / "nginx.conf"))
    assert [server["listens"][0]["port"] for server in model["servers"]] == [80]
    assert locations(model)["/"]["settings"]["read_timeout"]["scope"] == "default"
    model = _nginx.load_tree("/etc/nginx/nginx.conf", root=str(tmp_path))
    assert [server["file"] for server in model["servers"]] == ["/etc/nginx/conf.d/app.conf"]


def test_server_sent_events_in_a_file_read_during_a_scan(tmp_path):
    (tmp_path / "nginx.conf").write_text("http {\n include app.conf;\n}\n")
    (tmp_path / "app.conf").write_text(
        "server {\n location /feed {\n  add_header Content-Type text/event-stream;\n"
        "  proxy_connect_timeout 500ms;\n  proxy_pass http://127.0.0.1:5000;\n }\n}\n"
    )
    model = _nginx.load_tree(str(tmp_path / "nginx.conf"))
    assert [item["kind"] for item in locations(model)["/feed"]["streaming"]] == ["server-sent events"]


def test_a_dump_too_large_to_ship_is_a_bounds_finding():
    evidence = {
        "nginx": {
            "binary": "/usr/sbin/nginx",
            "conf_path": "/etc/nginx/nginx.conf",
            "dump": {"returncode": 0, "stdout": "", "stderr": "", "truncated_bytes": 50 * 1024 * 1024},
        }
    }
    findings = run_checks("web1", evidence)
    assert ids(findings) == ["AQ-NGINX-015"]
    assert "nginx -T printed 52428800 bytes, more than acceptq's limit" in findings[0].observed


def test_a_main_file_over_the_byte_bound_is_not_parsed():
    text = "http {\n%s}\n" % ("    map $a $b { default 1; }\n" * 200)
    started = time.perf_counter()
    model = _nginx.build(
        _nginx._empty_model(),
        _nginx.DumpSource({"/n.conf": text}),
        "/n.conf",
        {"binary": "nginx"},
        limits={"bytes": 1000},
    )
    assert time.perf_counter() - started < 5
    assert model["truncated"] and model["limits"][0]["file"] == "/n.conf"
    assert model["limits"][0]["limit"] == "bytes" and model["servers"] == []
