#!/usr/bin/env bash
# Build the Molecule images locally (no registry is reachable):
#   debootstrap -> podman import (base) -> podman build (lab).
# Each image carries a label with the hash of its inputs and is rebuilt only
# when that hash changes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm
mirror=${ACCEPTQ_DEBIAN_MIRROR:-http://deb.debian.org/debian}
base_image=localhost/acceptq-base:$suite
lab_image=localhost/acceptq-lab:$suite
debootstrap_args=(--variant=minbase --include=python3 "$suite")

image_label() {  # image label -> value, empty when the image is missing
  podman image inspect --format "{{ index .Labels \"$2\" }}" "$1" 2>/dev/null || true
}

base_hash=$(printf '%s\n' "${debootstrap_args[*]}" "$mirror" | cat - "$0" | sha256sum | cut -c1-16)
if [[ $(image_label "$base_image" acceptq.inputs) == "$base_hash" ]]; then
  echo "build-images: $base_image is current ($base_hash)"
else
  echo "build-images: building $base_image ($base_hash) with debootstrap"
  rootfs=$(mktemp -d /var/tmp/acceptq-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap "${debootstrap_args[@]}" "$rootfs" "$mirror" >/dev/null
  cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://security.debian.org/debian-security $suite-security main
SOURCES
  chroot "$rootfs" apt-get clean
  : >"$rootfs/etc/resolv.conf"
  tar --numeric-owner -C "$rootfs" -c . |
    podman import --change 'CMD ["/bin/bash"]' \
      --change "LABEL acceptq.inputs=$base_hash" - "$base_image" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

lab_hash=$(cat "$here/images/Containerfile" <(echo "$base_hash") | sha256sum | cut -c1-16)
if [[ $(image_label "$lab_image" acceptq.inputs) == "$lab_hash" ]]; then
  echo "build-images: $lab_image is current ($lab_hash)"
else
  echo "build-images: building $lab_image ($lab_hash)"
  podman build --quiet --label "acceptq.inputs=$lab_hash" -t "$lab_image" \
    -f "$here/images/Containerfile" "$here/images" >/dev/null
fi
