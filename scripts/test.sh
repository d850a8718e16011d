#!/usr/bin/env bash
# The whole test suite: type-check, every test file under Bun, then the same files under Deno.
# Neither runner prints "N passed, N failed"; this builds one line from both (STACK-NOTES §8).
# SKIP_DENO=1 runs Bun only.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
BIN=node_modules/.bin
passed=0; failed=0; rc=0

echo "== tsc --noEmit"
if ! "$BIN/tsc" --noEmit -p tsconfig.json; then failed=$((failed + 1)); rc=1; echo "tsc failed"; fi

echo "== build the single binary (test/runtime runs it from an empty directory)"
"$BIN/bun" scripts/build.ts || { failed=$((failed + 1)); rc=1; echo "build failed"; }

echo "== bun test"
out=$("$BIN/bun" test "$@" 2>&1); brc=$?
printf '%s\n' "$out"
p=$(sed -nE 's/^ *([0-9]+) pass$/\1/p' <<<"$out" | tail -1)
f=$(sed -nE 's/^ *([0-9]+) fail$/\1/p' <<<"$out" | tail -1)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
[ "$brc" -ne 0 ] && rc=1 && [ "${f:-0}" -eq 0 ] && failed=$((failed + 1))

if [ "${SKIP_DENO:-0}" != 1 ]; then
  echo "== deno test"
  out=$("$BIN/deno" test -A --no-check "${@:-test/}" 2>&1); drc=$?
  printf '%s\n' "$out"
  summary=$(sed 's/\x1b\[[0-9;]*m//g' <<<"$out" | grep -E '^(ok|FAILED) \| ' | tail -1)
  p=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
  f=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  [ "$drc" -ne 0 ] && rc=1 && [ "${f:-0}" -eq 0 ] && failed=$((failed + 1))
fi

echo "${passed} passed, ${failed} failed"
exit $rc
