#!/usr/bin/env bash
# Sets up the machine, then runs the lint, the type check and the tests tier by tier (unit,
# integration, system). Lint and type check count as one test each in the closing line
# "N passed, N failed", which sums every tier; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
export PATH="$HOME/.local/bin:$PATH"

passed=0
failed=0
check() { # name, command...
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "== $name FAILED"; fi
}
check lint pnpm run -s lint
check typecheck pnpm exec tsc -p tsconfig.tests.json

# Tests, cheapest first: the unit tier (no root, network or QEMU), then integration, then system.
# Each tier's "N passed, N failed" line is added to the total; given file arguments, only those run.
tests() { # label, run-tests arguments...
  local label=$1; shift
  echo "== $label"
  local out status line
  out=$(mktemp)
  node scripts/run-tests.mjs "$@" | tee "$out"
  status=${PIPESTATUS[0]}
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)
  rm -f "$out"
  if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
    ((status == 0)) || ((BASH_REMATCH[2] > 0)) || failed=$((failed + 1))
  else
    failed=$((failed + 1)); echo "== $label: no result line"
  fi
}
if (($# > 0)); then
  tests "tests: $*" "$@"
else
  for tier in unit integration system; do tests "$tier tests" --tier "$tier"; done
fi
echo "$passed passed, $failed failed"
((failed == 0))
