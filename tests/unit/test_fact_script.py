"""The fact as the role installs it, run as a process: valid JSON whatever the host lacks."""

import json
import subprocess

from conftest import ROOT

from acceptq.collection import render_fact


def run_fact(script):
    """Run with no PATH: no ss, no php-fpm, no nginx to be found."""
    result = subprocess.run([str(script)], env={"PATH": ""}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def test_the_fact_needs_no_tool_on_path(tmp_path):
    script = tmp_path / "acceptq.fact"
    render_fact(ROOT, script, str(tmp_path))
    first, second = run_fact(script), run_fact(script)
    assert first["schema"] == 1 and isinstance(first["listeners"], list)
    assert isinstance(first["php_fpm_pools"], list)  # php-fpm is looked for in sbin, not on PATH
    assert not [error for error in second["errors"] if error["section"] in ("sockets", "connections", "kernel")]
    assert second["rate_interval_s"] is not None  # the state file of the first run was found


def test_a_fact_whose_code_is_missing_still_prints_json(tmp_path):
    script = tmp_path / "acceptq.fact"
    render_fact(ROOT, script, str(tmp_path), lib_dir=tmp_path / "no-such-dir")
    (error,) = run_fact(script)["errors"]
    assert error["source"] == "acceptq.fact" and "ModuleNotFoundError" in error["message"]
