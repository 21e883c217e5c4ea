#!/usr/bin/env bash
# Prepare this machine: the virtualenv and the Ansible collections, and with
# --containers also podman, runc, debootstrap and podman's config (the
# Molecule suite needs them; an audit does not). Safe to run again; each step
# is skipped when already done.
set -euo pipefail
with_containers=false
[[ ${1:-} == --containers ]] && with_containers=true

root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/.venv
collections=$root/.ansible/collections/ansible_collections
# The collections Molecule and the roles need, taken from the PyPI "ansible"
# bundle because Galaxy is unreachable here.
ansible_bundle=ansible==12.3.0
bundle_collections=(containers/podman ansible/posix)

tools=(python3:python3 ss:iproute2)
# shellcheck: ansible-test sanity runs it on the collection (make sanity).
$with_containers && tools+=(podman:podman runc:runc debootstrap:debootstrap ip:iproute2 shellcheck:shellcheck)
need_packages=()
for tool in "${tools[@]}"; do
  command -v "${tool%%:*}" >/dev/null || need_packages+=("${tool#*:}")
done
# Debian's python3 needs python3-venv for `python3 -m venv`.
python3 -c 'import ensurepip' 2>/dev/null || need_packages+=(python3-venv)
if ((${#need_packages[@]})); then
  echo "bootstrap: installing ${need_packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

if $with_containers && [[ ! -f /etc/containers/containers.conf ]]; then
  echo "bootstrap: writing /etc/containers/containers.conf"
  mkdir -p /etc/containers
  # Without CAP_SYS_RESOURCE crun cannot raise RLIMIT_NOFILE, and this kernel
  # has no unified cgroup hierarchy for the systemd manager.
  cat >/etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi

stamp=$(sha256sum "$root/pyproject.toml" | cut -c1-16)
if [[ ! -x $venv/bin/python || $(cat "$venv/.acceptq-stamp" 2>/dev/null) != "$stamp" ]]; then
  echo "bootstrap: creating $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip 2>/dev/null
  "$venv/bin/pip" install -q -e "$root[test]" 2>&1 | grep -v '^WARNING: Location' || true
  "$venv/bin/python" -c 'import acceptq, molecule, testinfra' # fail loudly if the install did not take
  echo "$stamp" >"$venv/.acceptq-stamp"
fi

missing=()
for name in "${bundle_collections[@]}"; do
  [[ -f $collections/$name/MANIFEST.json ]] || missing+=("$name")
done
if ((${#missing[@]})); then
  echo "bootstrap: extracting ${missing[*]} from $ansible_bundle"
  wheel_dir=$(mktemp -d)
  "$venv/bin/pip" download -q --no-deps -d "$wheel_dir" "$ansible_bundle" 2>&1 | grep -v '^WARNING: Location' || true
  mkdir -p "$collections"
  patterns=()
  for name in "${missing[@]}"; do patterns+=("ansible_collections/$name/*"); done
  (cd "$collections/.." && "$venv/bin/python" -m zipfile -e "$wheel_dir"/ansible-*.whl . >/dev/null)
  # Keep only what is needed from the bundle, not its hundred collections.
  find "$collections" -mindepth 1 -maxdepth 1 -type d \
    ! -name containers ! -name ansible ! -name acceptq -exec rm -rf {} +
  find "$collections/containers" -mindepth 1 -maxdepth 1 ! -name podman -exec rm -rf {} +
  find "$collections/ansible" -mindepth 1 -maxdepth 1 ! -name posix -exec rm -rf {} +
  rm -rf "$wheel_dir" "$collections/../ansible-"*.dist-info
fi
# This repository is the collection acceptq.remediation.
mkdir -p "$collections/acceptq"
ln -sfn ../../../.. "$collections/acceptq/remediation"
