#!/usr/bin/env bash
# Installs what bbox's build, tests and demo need on a Debian machine with Node >= 20:
# Debian packages (registry, skopeo, umoci, QEMU, mkfs, busybox), pnpm, the workspace, a build.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
APT_PACKAGES=(docker-registry skopeo umoci qemu-system-x86 busybox-static e2fsprogs zstd cpio kmod attr tinyproxy openssl python3 util-linux uidmap)

sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v pnpm >/dev/null || [[ $(pnpm --version) != "$PNPM_VERSION" ]]; then
  echo "setup: installing pnpm $PNPM_VERSION" >&2
  if [[ $(id -u) -eq 0 ]]; then npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null
  else npm install -g --silent --prefix "$HOME/.local" "pnpm@$PNPM_VERSION" >/dev/null; export PATH="$HOME/.local/bin:$PATH"; fi
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm run -s build
