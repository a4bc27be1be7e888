#!/usr/bin/env bash
# Sets up the machine, then runs the lint, the type check and every test.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.local/bin:$PATH"
echo "== lint" && pnpm run -s lint
echo "== typecheck" && pnpm exec tsc -p tsconfig.tests.json
echo "== tests" && node scripts/run-tests.mjs "$@"
