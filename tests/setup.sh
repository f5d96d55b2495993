#!/usr/bin/env bash
# Installs the Debian packages the ARM64 harness needs (NativeAOT cross-compile to linux-arm64, qemu
# user mode), only those missing: `apt-get update` once, then one install. As root directly, else
# through sudo when it is there; without either it says what is missing (the harness then fails).
# Called by tests/run.sh, so the README's test command works on a fresh machine.
set -uo pipefail
[ "${EMA_SKIP_ARM64:-0}" = 1 ] && exit 0
packages=(clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then as_root=(); elif command -v sudo >/dev/null; then as_root=(sudo -n); else as_root=(false); fi
  if [ "${as_root[0]:-}" = false ]; then
    echo "warning: not root and no sudo; cannot install ${missing[*]} (the ARM64 harness will fail)" >&2
  else
    echo "installing ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
fi

