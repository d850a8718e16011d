#!/usr/bin/env bash
# The whole test suite: type-check, then every test file under Bun.
# bun test prints no "N passed, N failed" line, so this builds one (STACK-NOTES §8).
set -uo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
BIN=node_modules/.bin
echo "== tsc --noEmit"
"$BIN/tsc" --noEmit -p tsconfig.json; tsc_rc=$?
echo "== bun test"
out=$("$BIN/bun" test "$@" 2>&1); rc=$?
printf '%s\n' "$out"
p=$(sed -nE 's/^ *([0-9]+) pass$/\1/p' <<<"$out" | tail -1)
f=$(sed -nE 's/^ *([0-9]+) fail$/\1/p' <<<"$out" | tail -1)
[ "$tsc_rc" -ne 0 ] && { f=$(( ${f:-0} + 1 )); echo "tsc failed"; }
echo "${p:-0} passed, ${f:-0} failed"
[ "$tsc_rc" -ne 0 ] && exit 1
exit $rc
