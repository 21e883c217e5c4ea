"""Hostile and unusual nginx input (issue 18's corpus, nginx part): never a traceback, never
unbounded, never clean when nginx would reject it; errors name the file and, where there is one, the line."""

import os
import time

import pytest

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import scan as _scan

SITE = "server {\n listen 80;\n location / { fastcgi_pass 127.0.0.1:9000; }\n}\n"


def tree(tmp_path, files):
    for name, data in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return _nginx.load_tree(str(tmp_path / "nginx.conf"))


def errors_at(model):
    return [(os.path.basename(error["file"]), error["line"]) for error in model["errors"]]


CASES = {
    # name: (files, the (file, line) errors expected; None: no error and one server)
    "binary garbage included": (
        {"nginx.conf": "http {\n include junk.bin;\n}\n", "junk.bin": b"\x7fELF\x00\x01\x02{{{;;"},
        [("junk.bin", 1)],
    ),
    "utf-8 bom": ({"nginx.conf": "\ufeffhttp {\n" + SITE + "}\n"}, [("nginx.conf", 1)]),
    "crlf line endings": ({"nginx.conf": ("http {\n" + SITE + "}\n").replace("\n", "\r\n")}, None),
    "latin-1 comment": ({"nginx.conf": b"# caf\xe9\nhttp {\n" + SITE.encode() + b"}\n"}, None),
    "unterminated quote": ({"nginx.conf": "http {\n server { listen 80; return 200 'x;\n }\n}\n"}, [("nginx.conf", 2)]),
    "missing closing brace": ({"nginx.conf": "http {\n" + SITE}, [("nginx.conf", 5)]),
    "missing include": ({"nginx.conf": "http {\n include sites/app.conf;\n}\n"}, [("nginx.conf", 2)]),
    "glob matching nothing": ({"nginx.conf": "http {\n include sites/*.conf;\n" + SITE + "}\n"}, None),
    "include of a directory": (
        {"nginx.conf": "http {\n include sites;\n" + SITE + "}\n", "sites/x.conf": "server { listen 81; }\n"},
        [("nginx.conf", 2)],
    ),
    "third-party blocks": (
        {
            "nginx.conf": "load_module modules/ngx_http_js_module.so;\nhttp {\n js_import main from app.js;\n"
            " perl_modules perl/lib;\n server {\n  listen 80;\n  location / {\n"
            "   access_by_lua_block { local x = { a = 1 } if x then ngx.exit(403) end }\n"
            "   more_set_headers 'X-A: b';\n   fastcgi_pass 127.0.0.1:9000;\n  }\n }\n}\n"
        },
        None,
    ),
    "directive split over lines": (
        {
            "nginx.conf": "http {\n server {\n  listen\n   80;\n  location / {\n   fastcgi_pass\n"
            "    127.0.0.1:9000;\n  }\n }\n}\n"
        },
        None,
    ),
    "u2028 and form feed in comments": (
        {"nginx.conf": "http {\n # a\u2028 server { listen 9; }\x0c\n" + SITE + "}\n"},
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input(tmp_path, name):
    files, expected = CASES[name]
    started = time.perf_counter()
    model = tree(tmp_path, files)
    assert time.perf_counter() - started < 10
    if expected is None:
        assert model["errors"] == [] and len(model["servers"]) == 1, model["errors"]
    else:
        assert errors_at(model) == expected, model["errors"]
        assert all(error["message"] for error in model["errors"])


def test_deep_nesting_is_a_bound_not_a_traceback(tmp_path):
    depth = 3000
    text = "http {\n server {\n" + " location /a {\n" * depth + " }\n" * depth + " }\n}\n"
    model = tree(tmp_path, {"nginx.conf": text})
    assert model["truncated"] or model["errors"]


def test_a_huge_map_stays_within_bounds(tmp_path):
    entries = "".join("  ~^/k%d $u%d;\n" % (index, index) for index in range(50000))
    text = "http {\n map $uri $backend {\n default 127.0.0.1:9000;\n%s }\n%s}\n" % (entries, SITE)
    started = time.perf_counter()
    model = tree(tmp_path, {"nginx.conf": text})
    assert time.perf_counter() - started < 30
    assert model["limits"] == [] and len(model["servers"]) == 1


def test_an_unreadable_file_is_named(tmp_path):
    # a symbolic link to itself cannot be opened, even by root (ELOOP)
    os.symlink(str(tmp_path / "secret.conf"), str(tmp_path / "secret.conf"))
    model = tree(tmp_path, {"nginx.conf": "http {\n include secret.conf;\n}\n"})
    assert errors_at(model) == [("nginx.conf", 2)]
    assert "secret.conf" in model["errors"][0]["message"] and "symbolic links" in model["errors"][0]["message"]


def test_a_directory_symlink_loop_in_an_include_glob(tmp_path):
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "app.conf").write_text(SITE)
    os.symlink(str(tmp_path / "sites"), str(tmp_path / "sites" / "loop"))
    model = tree(tmp_path, {"nginx.conf": "http {\n include sites/*;\n}\n"})
    # nginx fails on the directory the glob returns; acceptq says so, and still reads the site
    assert errors_at(model) == [("nginx.conf", 2)] and "is a directory" in model["errors"][0]["message"]
    assert len(model["servers"]) == 1


def test_scan_of_an_unreadable_or_missing_path_is_an_error_not_a_traceback(tmp_path):
    findings, errors = _scan.scan([str(tmp_path / "nope.conf")])
    assert findings == [] and str(tmp_path / "nope.conf") in errors[0]["message"]
