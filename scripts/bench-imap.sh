#!/usr/bin/env bash
# npm run bench:imap — ../shared/bench/imap-bench.mjs against quarantined on a 10,000-message
# corpus (and against Dovecot in the same run when ../shared/bench/dovecot/setup-dovecot.sh
# has been run: its master pid file exists). Prints one JSON line per workload.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-10000}
BENCH=../shared/bench
CORPUS=/tmp/quarantined-corpus-$COUNT
DATA=$(mktemp -d /tmp/quarantined-bench-imap-XXXX)
B=node_modules/.bin/bun
[ -f "$CORPUS/manifest.json" ] || node $BENCH/corpus.mjs --count "$COUNT" --seed 1 --out "$CORPUS" >/dev/null
$B src/main.ts import "$CORPUS/eml" --data-dir "$DATA" --quiet
QUARANTINED_ADMIN_PASSWORD=benchpass $B src/main.ts serve --data-dir "$DATA" --host 127.0.0.1 --imaps-port 22993 --imap-port 22143 --http-port 22080 >"$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for i in $(seq 50); do curl -sf http://127.0.0.1:22080/readyz >/dev/null 2>&1 && break; sleep 0.2; done
Q="--host 127.0.0.1 --port 22993 --tls implicit --insecure --user admin --pass benchpass --folder Caught --server-pid $PID"
QUERIES='["FROM example","SUBJECT offer","TO alice@example.com","SINCE 20-Nov-2026","LARGER 50000","TEXT zanzibar"]'
for run in 1 2; do
  node $BENCH/imap-bench.mjs sync $Q --label quarantined-sync-r$run
  node $BENCH/imap-bench.mjs bodies $Q --batch 500 --label quarantined-bodies-r$run
  node $BENCH/imap-bench.mjs search $Q --repeat 5 --queries "$QUERIES" --label quarantined-search-r$run
  node $BENCH/imap-bench.mjs login $Q --concurrency 32 --seconds 10 --label quarantined-login-r$run
done
if [ -f /tmp/bench-dovecot/run/master.pid ]; then
  M=$(cat /tmp/bench-dovecot/run/master.pid)
  D="--host 127.0.0.1 --port 21993 --tls implicit --insecure --user global --pass benchpass --folder Caught --server-tree $M"
  for run in 1 2; do
    node $BENCH/imap-bench.mjs sync $D --label dovecot-sync-r$run
    node $BENCH/imap-bench.mjs bodies $D --batch 500 --label dovecot-bodies-r$run
    node $BENCH/imap-bench.mjs search $D --repeat 5 --queries "$QUERIES" --label dovecot-search-r$run
    node $BENCH/imap-bench.mjs login $D --concurrency 32 --seconds 10 --label dovecot-login-r$run
  done
else
  echo "Dovecot reference not running: run ../shared/bench/dovecot/setup-dovecot.sh for the side-by-side figures" >&2
fi
