#!/usr/bin/env bash
# Fetches Debian's cloud kernel for bbox VMs and unpacks it WITHOUT installing it:
#   apt-get download <the package linux-image-cloud-amd64 depends on>, dpkg -x into a directory,
#   depmod there so the module dependency list exists.
# Directory: $1, else $BBOX_KERNEL_DIR, else ${XDG_CACHE_HOME:-~/.cache}/broodbox/kernel, one
# subdirectory per package (boot/vmlinuz-*, lib/modules/*). Idempotent; prints the kernel's directory.
# Needs only Debian's package archive (apt-get update is run when the package is unknown).
set -euo pipefail

dest=${1:-${BBOX_KERNEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/broodbox/kernel}}
meta=linux-image-cloud-amd64

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
resolve() { apt-cache depends "$meta" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'; }
newest_unpacked() { ls -d "$dest"/linux-image-*/.complete 2>/dev/null | sort -V | tail -n1 | xargs -r dirname; }

pkg=$(resolve || true)
if [[ -z $pkg ]]; then
  as_root apt-get update -qq || true
  pkg=$(resolve || true)
fi
if [[ -z $pkg ]]; then
  # Offline, or no such package in the configured archive: an earlier download still serves.
  have=$(newest_unpacked)
  if [[ -n $have ]]; then echo "$have"; exit 0; fi
  echo "fetch-kernel: cannot resolve $meta with apt-cache (is this Debian with main enabled?)" >&2
  exit 1
fi

out=$dest/$pkg
if [[ -f $out/.complete ]]; then echo "$out"; exit 0; fi

mkdir -p "$dest"
tmp=$(mktemp -d "$dest/.tmp-$pkg-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"   # apt's download sandbox user must be able to write here
sandbox=(); [[ $(id -u) -eq 0 ]] && sandbox=(-o APT::Sandbox::User=root)
(cd "$tmp" && apt-get download -qq "${sandbox[@]}" "$pkg" >&2)
dpkg -x "$tmp"/"$pkg"_*.deb "$tmp/root"
kver=${pkg#linux-image-}
if command -v depmod >/dev/null || [[ -x /usr/sbin/depmod ]]; then
  PATH=$PATH:/usr/sbin:/sbin depmod -b "$tmp/root" "$kver"
fi
touch "$tmp/root/.complete"
rm -rf "$out"
mv "$tmp/root" "$out"
echo "$out"
