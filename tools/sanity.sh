#!/usr/bin/env bash
# ansible-test sanity on the collection as it ships (the built tarball), in
# ansible-test's own virtualenvs, as Galaxy and Automation Hub check it.
# Usage: tools/sanity.sh [dist/acceptq-remediation-X.tar.gz]
# (ACCEPTQ_SANITY_ARGS adds arguments, e.g. "--test validate-modules").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$root/.venv/bin:$PATH
tarball=${1:-}
if [[ -z $tarball ]]; then
  tarballs=("$root"/dist/acceptq-remediation-*.tar.gz)
  tarball=${tarballs[0]}
fi
[[ -f $tarball ]] || { echo "sanity: no collection tarball ($tarball); run make build" >&2; exit 2; }
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")

# ansible-test wants the collection at ansible_collections/<ns>/<name>.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
collection=$work/ansible_collections/acceptq/remediation
mkdir -p "$collection/tests"
tar -xzf "$tarball" -C "$collection"
# The ignore files (each entry justified there) are not shipped.
cp -r "$root/tests/sanity" "$collection/tests/sanity"

# --venv downloads pip's get-pip script from a host this network cannot
# reach; ansible-test looks in its cache first. This stand-in bootstraps pip
# from the interpreter's own wheel, then installs what ansible-test asked for
# through the machine's pip configuration (ensurepip points PIP_CONFIG_FILE at
# /dev/null, which would hide the local index).
pip_version=$(python - <<'PY'
import re
import ansible_test._internal.python_requirements as requirements
print(re.search(r"pip='([0-9.]+)'", open(requirements.__file__).read()).group(1))
PY
)
get_pip=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [[ ! -f $get_pip ]]; then
  mkdir -p "$(dirname "$get_pip")"
  cat >"$get_pip" <<'PY'
# Written by acceptq's tools/sanity.sh: an offline stand-in for get-pip.py.
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
os.environ.pop("PIP_CONFIG_FILE", None)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade"] + args))
PY
fi

read -ra extra <<<"${ACCEPTQ_SANITY_ARGS:-}"
echo "== ansible-test sanity ($(ansible --version | head -1))"
# pip's own chatter from the venv installs is dropped; every test's result stays.
(cd "$collection" && ansible-test sanity --venv --python 3.11 --color no "${extra[@]}") 2>&1 |
  grep -vE "^(WARNING: Location 'file:|Looking in |Collecting |  Downloading |     |Installing collected|Successfully installed|Processing /tmp|  Attempting uninstall|    Found existing|    Uninstalling|      Successfully uninstalled)"

