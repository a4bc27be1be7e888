#!/usr/bin/env bash
# The main job end to end: sets up the machine, starts a loopback registry holding a small
# busybox-based image, and drives `bbox` through a cold pull, a warm pull with no network, an
# `always` pull of an unchanged tag, a new top layer, `cache list`, `cache gc`, and a command in a
# microVM.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.local/bin:$PATH"
bash scripts/fetch-kernel.sh >/dev/null
exec node scripts/demo.mjs "$@"
