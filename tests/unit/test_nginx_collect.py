"""nginx's host-side evidence: where the running configuration is, and whether the files are live."""

import os
import time

from ansible_collections.acceptq.remediation.plugins.module_utils.nginx import collect as _collect

DEBIAN_V = (
    "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.9\nconfigure arguments: --with-cc-opt='-g -O2' "
    "--prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --http-log-path=/var/log/nginx/access.log\n"
)
OPENRESTY_V = (
    "nginx version: openresty/1.21.4.1\nconfigure arguments: --prefix=/usr/local/openresty/nginx --with-cc-opt=-O2\n"
)


def test_conf_path_as_nginx_derives_it():
    assert _collect.conf_path_from_version(DEBIAN_V) == "/etc/nginx/nginx.conf"
    # OpenResty and source builds: --prefix, no --conf-path -> prefix + conf/nginx.conf
    assert _collect.conf_path_from_version(OPENRESTY_V) == "/usr/local/openresty/nginx/conf/nginx.conf"
    assert _collect.conf_path_from_version("configure arguments:") == "/usr/local/nginx/conf/nginx.conf"
    assert _collect.prefix_from_version(DEBIAN_V) == "/usr/share/nginx/"


def test_master_command_line_options():
    assert _collect.master_options("nginx: master process /usr/sbin/nginx -c /etc/nginx/alt/nginx.conf") == {
        "c": "/etc/nginx/alt/nginx.conf",
        "p": None,
        "g": None,
    }
    options = _collect.master_options("nginx: master process nginx -p/srv/ng -c conf/x.conf -g daemon on;")
    assert (options["p"], options["c"]) == ("/srv/ng", "conf/x.conf")


def test_the_running_master_decides_the_configuration():
    masters = {812: "nginx: master process /usr/sbin/nginx -c /etc/nginx/alt/nginx.conf"}
    conf, prefix, source = _collect._locate(DEBIAN_V, masters)
    assert (conf, prefix) == ("/etc/nginx/alt/nginx.conf", "/usr/share/nginx/")
    assert "pid 812" in source
    conf, prefix, _source = _collect._locate(DEBIAN_V, {9: "nginx: master process nginx -p /srv/ng/ -c site.conf"})
    assert (conf, prefix) == ("/srv/ng/site.conf", "/srv/ng/")
    conf, _prefix, source = _collect._locate(OPENRESTY_V, {})
    assert conf == "/usr/local/openresty/nginx/conf/nginx.conf" and "no nginx master runs" in source


def test_a_directory_symlink_loop_is_read_once_and_reported(tmp_path):
    sites = tmp_path / "sites-enabled"
    sites.mkdir()
    (sites / "app").write_text("server { listen 80; }\n")
    os.symlink(str(sites), str(sites / "loop"))
    (tmp_path / "nginx.conf").write_text("http { include sites-enabled/*; }\n")
    errors = []
    files = _collect.read_config_tree(str(tmp_path / "nginx.conf"), errors)
    assert sorted(files) == [str(tmp_path / "nginx.conf"), str(sites / "app")]
    assert any("symlink loop" in error["message"] for error in errors)


def _fake_proc(root, pid, cmdline, start_ticks, btime):
    directory = root / str(pid)
    directory.mkdir(parents=True)
    (directory / "cmdline").write_bytes(cmdline.encode().replace(b" ", b"\0"))
    fields = ["S"] + ["0"] * 18 + [str(start_ticks)] + ["0"] * 10
    (directory / "stat").write_text("%d (nginx) %s\n" % (pid, " ".join(fields)))
    (root / "stat").write_text("cpu 1 2 3\nbtime %d\n" % btime)


def test_files_changed_after_the_last_reload_are_not_live(tmp_path):
    proc = tmp_path / "proc"
    hz = os.sysconf("SC_CLK_TCK")
    btime = int(time.time()) - 1000
    _fake_proc(proc, 10, "nginx: master process /usr/sbin/nginx", 0, btime)
    _fake_proc(proc, 11, "nginx: worker process", 500 * hz, btime)  # reloaded 500 s after boot
    masters, workers = _collect.nginx_processes(str(proc))
    assert list(masters) == [10] and workers == [11]
    old, new = tmp_path / "old.conf", tmp_path / "new.conf"
    old.write_text("a;\n")
    new.write_text("b;\n")
    os.utime(str(old), (btime + 100, btime + 100))
    live = _collect.liveness(str(proc), masters, workers, [str(old), str(new)], "test")
    assert live["running"] and live["master_pid"] == 10
    assert [item["file"] for item in live["changed"]] == [str(new)]
    assert _collect.liveness(str(proc), {}, [], [str(new)], "default")["running"] is False


def test_dumped_paths_split_on_newlines_only():
    dump = "# configuration file /etc/nginx/nginx.conf:\n# a\u2028b\x0c\nhttp {}\n# configuration file /etc/x:\n"
    assert _collect.dumped_paths(dump) == ["/etc/nginx/nginx.conf", "/etc/x"]


def test_a_dump_over_the_limit_is_not_shipped(monkeypatch, tmp_path):
    big = "# configuration file /etc/nginx/nginx.conf:\n" + "# x\n" * (_collect.MAX_CONFIG_BYTES // 4 + 10)

    def fake_run(argv, timeout):
        return (0, big, "") if "-T" in argv else (0, "", DEBIAN_V)

    monkeypatch.setattr(_collect, "_run", fake_run)
    section = _collect.collect_nginx({"errors": [], "proc_root": str(tmp_path)}, binary="/usr/sbin/nginx")
    assert section["dump"]["stdout"] == "" and section["dump"]["truncated_bytes"] == len(big)


def test_log_tails_share_one_budget(monkeypatch, tmp_path):
    logs = []
    for index in range(8):
        log = tmp_path / ("access%d.log" % index)
        log.write_text(("GET /x 200 %s\n" % ("y" * 200)) * 3000)
        logs.append(str(log))
    monkeypatch.setattr(_collect, "_run", lambda argv, timeout: (0, "", DEBIAN_V))
    monkeypatch.setattr(_collect, "nginx_processes", lambda proc_root: ({1: "nginx: master process nginx"}, []))
    monkeypatch.setattr(_collect, "open_log_paths", lambda proc_root, pids: logs)
    section = _collect.collect_nginx({"errors": [], "proc_root": str(tmp_path)}, binary="/usr/sbin/nginx")
    shipped = sum(len(line) + 1 for entry in section["logs"].values() for line in entry["lines"])
    assert shipped <= _collect.LOG_TAIL_BYTES_TOTAL
    assert [entry["error"] is None for entry in section["logs"].values()][:4] == [True] * 4
    assert section["logs"][logs[-1]]["error"].startswith("not read")
