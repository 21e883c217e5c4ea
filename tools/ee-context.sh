#!/usr/bin/env bash
# The execution environment's build context (ansible-builder create), checked:
# the collection tarball is in it, and ansible-builder's own introspection,
# run over the collection as installed in the image, yields the controller's
# Python requirements. `ansible-builder build` needs a base image from a
# registry this network cannot reach, so CI stops here.
# Usage: tools/ee-context.sh [CONTEXT_DIR]   (after make build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$root/.venv/bin:$PATH
context=${1:-$root/dist/ee-context}
cd "$root"
tarballs=(dist/acceptq-remediation-*.tar.gz)
[[ -f ${tarballs[0]} ]] || { echo "ee: no collection tarball in dist/; run make build" >&2; exit 2; }

rm -rf "$context"
ansible-builder create -f execution-environment.yml -c "$context" >/dev/null
ls "$context"/_build/collections/acceptq-remediation-*.tar.gz >/dev/null

installed=$(mktemp -d)
trap 'rm -rf "$installed"' EXIT
if ! ansible-galaxy collection install --force --no-deps --offline -p "$installed" "${tarballs[0]}" \
  >"$installed/install.log" 2>&1; then
  cat "$installed/install.log" >&2
  exit 1
fi
python "$context/_build/scripts/introspect.py" introspect "$installed" --write-pip "$installed/pip.txt" >/dev/null
missing=()
while read -r requirement; do
  name=${requirement%%[<>=!~ ;]*}
  grep -qi "^$name" "$installed/pip.txt" || missing+=("$name")
done < <(grep -vE '^\s*(#|$)' meta/ee-requirements.txt)
if ((${#missing[@]})); then
  echo "ee: ansible-builder's introspection misses ${missing[*]} from meta/ee-requirements.txt" >&2
  exit 1
fi
echo "ee: build context in ${context#"$root"/}; controller Python from the collection:"
sed 's/^/  /' "$installed/pip.txt"
