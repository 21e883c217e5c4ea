"""The CLI as pip installs it (a wheel, not editable), on both ends of the
ansible-core range pyproject.toml declares, driving a collection installed
with ansible-galaxy, with the user's ansible.cfg in force."""

import json
import os
import subprocess
import sys
import venv

import pytest
from conftest import ROOT

BIN = os.path.dirname(sys.executable)
# Both ends of "ansible-core>=2.18,<2.20" (pyproject.toml).
CORE_VERSIONS = ["ansible-core==2.18.*", "ansible-core==2.19.*"]


def _clean_env(**extra):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "ACCEPTQ_"))}
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def _run(argv, cwd, env=None, timeout=600):
    completed = subprocess.run(argv, cwd=cwd, env=env or _clean_env(), capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, (
        " ".join(map(str, argv)) + "\n" + completed.stdout[-2000:] + completed.stderr[-2000:]
    )
    return completed


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """The wheel and the collection tarball, built once."""
    work = tmp_path_factory.mktemp("artifacts")
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), str(ROOT)], work)
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(work), str(ROOT)], work)
    (wheel,) = work.glob("acceptq-*.whl")
    (tarball,) = work.glob("acceptq-remediation-*.tar.gz")
    return wheel, tarball


def _acceptq(prefix, *args, cwd, env):
    command = [str(prefix / "bin" / "acceptq"), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _site_files(prefix):
    files = set()
    for directory, dirnames, filenames in os.walk(prefix):
        dirnames[:] = [name for name in dirnames if name != "__pycache__"]
        files.update(os.path.join(directory, name) for name in filenames)
    return files


@pytest.fixture(scope="module", params=CORE_VERSIONS)
def installed(request, artifacts, tmp_path_factory):
    wheel, tarball = artifacts
    work = tmp_path_factory.mktemp("wheel")
    prefix = work / "venv"
    venv.create(prefix, with_pip=True)
    python = str(prefix / "bin" / "python")
    _run([python, "-m", "pip", "install", "-q", str(wheel), request.param], work)
    collections = work / "collections"
    galaxy = str(prefix / "bin" / "ansible-galaxy")
    _run([galaxy, "collection", "install", "--offline", "--no-deps", "-p", str(collections), str(tarball)], work)
    project = work / "project"
    project.mkdir()
    # The user's own ansible.cfg is the only thing that says where the collection is.
    (project / "ansible.cfg").write_text("[defaults]\ncollections_path = %s\n" % collections)
    return prefix, project, collections


def test_wheel_install_audits_with_the_installed_collection(installed):
    prefix, project, collections = installed
    before = _site_files(prefix)
    env = _clean_env(PATH="/usr/bin:/bin")
    args = ("audit", "--format", "json", "-o", "report.json", "--fail-on", "none")
    result = _acceptq(prefix, *args, cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    assert str(collections) in result.stderr  # the default inventory of the installed collection
    assert "Traceback" not in result.stderr
    report = json.loads((project / "report.json").read_text())
    assert report["complete"] is True and report["hosts"]["localhost"]["status"] == "ok"
    # nginx is judged on the controller: its parser came with the wheel.
    assert "is not installed on the controller" not in json.dumps(report)
    assert _site_files(prefix) == before, "the CLI wrote into its own install"
    installed_core = _run([str(prefix / "bin" / "python"), "-m", "pip", "show", "ansible-core"], project).stdout
    assert "Version: 2.1" in installed_core


def test_wheel_install_without_the_collection_says_how_to_get_it(installed, tmp_path):
    prefix, _project, _collections = installed
    env = _clean_env(PATH="/usr/bin:/bin", HOME=str(tmp_path))
    result = _acceptq(prefix, "audit", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "cannot find the acceptq.remediation collection" in result.stderr
    assert "ansible-galaxy collection install acceptq.remediation" in result.stderr
    assert "Traceback" not in result.stderr


def test_collection_root_for_development_overrides(installed, tmp_path):
    prefix, project, _collections = installed
    env = _clean_env(PATH="/usr/bin:/bin", ACCEPTQ_COLLECTION_ROOT=str(tmp_path))
    result = _acceptq(prefix, "rules", "--format", "json", cwd=project, env=env)
    assert result.returncode == 2 and "ACCEPTQ_COLLECTION_ROOT=%s is not" % tmp_path in result.stderr
    env["ACCEPTQ_COLLECTION_ROOT"] = str(ROOT)
    env["HOME"] = str(tmp_path)  # the checkout is linked from the user's cache, not written into
    result = _acceptq(prefix, "rules", "--format", "json", cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    assert any(rule["id"].startswith("AQ-") for rule in json.loads(result.stdout))
