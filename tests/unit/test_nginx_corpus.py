"""The nginx model and rules over 30 real public configurations (tests/fixtures/nginx-corpus).

Each configuration is laid out where its project deploys it, enabled in a
Debian-shaped main file when it is a sites file, and audited as a `nginx -T`
dump would be. corpus.yml holds the hand-checked expectations.
"""

import os

import pytest
import yaml

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import model as _nginx
from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import rules as _rules
from ansible_collections.acceptq.remediation.plugins.module_utils.registry import (
    effective_policy,
    effective_workload,
)

CORPUS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "nginx-corpus")
with open(os.path.join(CORPUS, "corpus.yml")) as _handle:
    ENTRIES = yaml.safe_load(_handle)["corpus"]
DEBIAN_MAIN = "/etc/nginx/nginx.conf"
# Included files that are not part of the corpus; they hold no directive acceptq judges.
STUBBED = (
    "/etc/nginx/mime.types",
    "/etc/nginx/fastcgi_params",
    "/etc/nginx/fastcgi.conf",
    "/etc/nginx/snippets/fastcgi-php.conf",
    "/etc/nginx/ssl.conf",
    "/usr/local/nginx/conf/mime.types",
    "/usr/local/openresty/nginx/conf/mime.types",
    "/opt/openresty.org/conf/mime.types",
)


class _Source(_nginx.DumpSource):
    """The corpus files at their deployed paths; a stubbed include reads as empty."""

    def __init__(self, files):
        _nginx.DumpSource.__init__(self, files)
        self.stubbed = []

    def read(self, path):
        if path not in self.files and path in STUBBED:
            self.stubbed.append(path)
            self.files[path] = ""
        return _nginx.DumpSource.read(self, path)


def _read(relative):
    with open(os.path.join(CORPUS, relative), newline="") as handle:
        return handle.read()


def layout(entry):
    files = {}
    main = entry.get("main")
    if main is None:
        main = DEBIAN_MAIN
        files[DEBIAN_MAIN] = _read("_harness/debian-nginx.conf")
    for fixture, deployed in entry["files"]:
        files[deployed] = _read(fixture)
    return main, files


def audit(entry, workload=None):
    main, files = layout(entry)
    # nginx -T dumps the main file first
    ordered = dict([(main, files.pop(main))] + sorted(files.items()))
    source = _Source(ordered)
    section = {"binary": "/usr/sbin/nginx", "prefix": os.path.dirname(os.path.dirname(main)) + "/", "cpu_count": 2}
    model = _nginx.build(_nginx._empty_model(), source, main, section)
    policy = effective_policy(None)
    policy["workload"] = effective_workload(workload)
    policy["fleet"] = None
    findings = _rules.judge("corpus", {"nginx": {"binary": "nginx", "worker_count": 2}}, policy, model)
    model["stubbed"] = source.stubbed
    return model, findings


def passing(model):
    """Every location that passes upstream, as the manifest states it."""
    found = []
    for server in model["servers"]:
        for location in server["locations"]:
            passed = location.get("pass")
            if not passed:
                continue
            settings = location["settings"]
            found.append(
                {
                    "server": "%s %s" % ((server["names"] or ["_"])[0], _rules._ports(server)),
                    "match": location["match"],
                    "line": location["line"],
                    "timeouts": [
                        settings[name]["seconds"] for name in ("connect_timeout", "read_timeout", "send_timeout")
                    ],
                    "upstream": passed.get("upstream"),
                    "targets": _nginx.upstream_targets(model, location),
                    "streaming": sorted(set(item["kind"].split(" ")[0] for item in location["streaming"])),
                }
            )
    return found


def test_the_corpus_holds_thirty_configurations_with_sources():
    assert len(ENTRIES) >= 30
    assert len(set(entry["name"] for entry in ENTRIES)) == len(ENTRIES)
    for entry in ENTRIES:
        assert set(entry["source"]) >= {"repo", "path", "commit", "licence"}, entry["name"]
        assert entry.get("expect"), "%s has no hand-checked expectations" % entry["name"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["name"] for entry in ENTRIES])
def test_corpus_configuration(entry):
    model, findings = audit(entry)
    expect = entry["expect"]
    assert [error["message"] for error in model["errors"]] == expect.get("errors", [])
    assert model["limits"] == []
    assert sorted(set(finding.id for finding in findings)) == sorted(expect["findings"])
    by_place = dict(((item["server"], item["match"], item["line"]), item) for item in passing(model))
    assert len(by_place) == expect.get("passing", len(expect.get("locations", [])))
    for wanted in expect.get("locations", []):
        got = by_place[(wanted["server"], wanted["match"], wanted["line"])]
        assert got["timeouts"] == wanted["timeouts"], wanted["match"]
        assert got["upstream"] == wanted.get("upstream"), wanted["match"]
        assert got["targets"] == wanted["targets"], wanted["match"]
        assert got["streaming"] == wanted.get("streaming", []), wanted["match"]
