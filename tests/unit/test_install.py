"""The collection as users install it: the built tarball installed with
ansible-galaxy into a collections path of its own, its playbooks run by FQCN
from another directory (no repository ansible.cfg), and the AWX wrappers."""

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

BIN = os.path.dirname(sys.executable)
POSIX = ROOT / ".ansible" / "collections" / "ansible_collections" / "ansible" / "posix"


def _run(argv, cwd, collections, check=True):
    # Nothing from this checkout's configuration: no ANSIBLE_* variables and a
    # working directory without ansible.cfg.
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(PATH=BIN + os.pathsep + env.get("PATH", ""), ANSIBLE_COLLECTIONS_PATH=str(collections))
    completed = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not POSIX.is_dir():
        pytest.skip("ansible.posix is not in .ansible/collections (tools/bootstrap.sh puts it there)")
    work = tmp_path_factory.mktemp("install")
    collections = work / "collections"
    shutil.copytree(POSIX, collections / "ansible_collections" / "ansible" / "posix")
    _run(["ansible-galaxy", "collection", "build", "--output-path", str(work), str(ROOT)], work, collections)
    (tarball,) = work.glob("acceptq-remediation-*.tar.gz")
    install = ["ansible-galaxy", "collection", "install", "--offline", "-p", str(collections), str(tarball)]
    _run(install, work, collections)
    assert (collections / "ansible_collections" / "acceptq" / "remediation" / "MANIFEST.json").is_file()
    return work, collections


LOCAL = ["-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter={{ ansible_playbook_python }}"]
LOCAL += ["-e", "acceptq_become=false"]


def _audited(completed):
    assert "Judge the fleet's evidence together on the controller" in completed.stdout
    assert "failed=0" in completed.stdout, completed.stdout[-3000:]
    assert "[ERROR]" not in completed.stderr, completed.stderr[-3000:]


def test_audit_playbook_by_fqcn_from_any_directory(installed):
    work, collections = installed
    _audited(_run(["ansible-playbook", *LOCAL, "acceptq.remediation.audit"], work, collections))


def test_awx_wrappers_run_the_installed_collection(installed):
    work, collections = installed
    project = work / "project"
    shutil.copytree(ROOT / "awx", project)
    _audited(_run(["ansible-playbook", *LOCAL, "audit.yml"], project, collections))
    for playbook in ("remediate.yml", "facts.yml"):
        _run(["ansible-playbook", *LOCAL, "--syntax-check", playbook], project, collections)


def test_installed_collection_carries_no_development_files(installed):
    _work, collections = installed
    root = collections / "ansible_collections" / "acceptq" / "remediation"
    for path in ("src", "tests", "tools", "molecule", "awx", "execution-environment.yml", "changelogs/fragments"):
        assert not (root / path).exists(), path
    assert (root / "LICENSE").is_file() and (root / "meta" / "execution-environment.yml").is_file()
