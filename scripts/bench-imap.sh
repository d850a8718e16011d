#!/usr/bin/env bash
# npm run bench:imap — ../shared/bench/imap-bench.mjs against quarantined and, in the same run, against the
# reference Dovecot (../shared/bench/dovecot/setup-dovecot.sh must have been run: its master pid file exists),
# on the same seeded corpus. Workloads alternate between the two servers, RUNS times each:
#   sync (one first/cold run, then RUNS warm runs), bodies, search (same --queries), login (TLS implicit,
#   32 clients, 10 s) and idle (2,000 sessions in IDLE; server memory per session).
# Every JSON line goes to $OUT; at the end a table of medians and ratios (docs/benchmarks.md) is printed
# and written to $OUT.summary.md, followed by ../shared/bench/summarize.mjs's per-run tables.
# Env: COUNT (10000) RUNS (3) IDLE_CONNS (2000) LOGIN_SECONDS (10) OUT (/tmp/quarantined-bench-imap.jsonl)
#      BENCH (../shared/bench) DOVECOT=0 to skip Dovecot, ONLY="sync bodies search login idle" for a subset,
#      QUERIES (a JSON array of SEARCH keys) to replace the search workload's queries.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-10000}
RUNS=${RUNS:-3}
IDLE_CONNS=${IDLE_CONNS:-2000}
LOGIN_SECONDS=${LOGIN_SECONDS:-10}
ONLY=${ONLY:-sync bodies search login idle}
BENCH=$(cd "${BENCH:-../shared/bench}" && pwd)
OUT=${OUT:-/tmp/quarantined-bench-imap.jsonl}
DOVE=/tmp/bench-dovecot
B=node_modules/.bin/bun
# the idle workload holds IDLE_CONNS sockets in the client and in the server (both inherit this limit)
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---- Dovecot reference (optional) and the corpus: reuse Dovecot's own corpus when it holds the same seed and count,
#      so both servers serve byte-identical messages.
M=
if [ "${DOVECOT:-1}" != 0 ] && [ -f $DOVE/run/master.pid ] && kill -0 "$(cat $DOVE/run/master.pid)" 2>/dev/null; then
  M=$(cat $DOVE/run/master.pid)
  grep -q "\"seed\":\"1\",\"count\":$COUNT," $DOVE/corpus/manifest.json || {
    echo "the running Dovecot holds another corpus: stop-dovecot.sh, then COUNT=$COUNT SEED=1 setup-dovecot.sh" >&2; exit 1; }
  CORPUS=$DOVE/corpus
else
  echo "Dovecot reference not running: quarantined only (run ../shared/bench/dovecot/setup-dovecot.sh for the side-by-side figures)" >&2
  CORPUS=/tmp/quarantined-corpus-$COUNT
  [ -f "$CORPUS/manifest.json" ] || node $BENCH/corpus.mjs --count "$COUNT" --seed 1 --out "$CORPUS" >/dev/null
fi

# ---- quarantined: fresh data dir, import, serve. The bench opens 2,000 sessions from 127.0.0.1, so the per-IP
#      connection limit (default 500) is raised in a bench-only config file.
DATA=$(mktemp -d /tmp/quarantined-bench-imap-XXXX)
echo '{"limits":{"maxConnectionsPerIp":5000}}' >"$DATA/bench-config.json"
t0=$(date +%s.%N)
$B src/main.ts import "$CORPUS/eml" --data-dir "$DATA" --quiet
echo "imported $COUNT messages from $CORPUS in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
QUARANTINED_ADMIN_PASSWORD=benchpass $B src/main.ts serve --config "$DATA/bench-config.json" --data-dir "$DATA" --host 127.0.0.1 \
  --imaps-port 22993 --imap-port 22143 --http-port 22080 >"$DATA/server.log" 2>&1 &
PID=$!
cleanup() {
  kill $PID 2>/dev/null || true
  if [ -s "$DATA/server.log" ] && grep -qiE 'error|panic|uncaught|segfault' "$DATA/server.log"; then
    cp "$DATA/server.log" "$OUT.server.log"; echo "server log had errors: kept as $OUT.server.log" >&2
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT
for i in $(seq 100); do curl -sf http://127.0.0.1:22080/readyz >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf http://127.0.0.1:22080/readyz >/dev/null || { echo "quarantined did not become ready" >&2; cat "$DATA/server.log" >&2; exit 1; }

COMMON="--host 127.0.0.1 --insecure --pass benchpass --folder Caught --tls implicit"
Q="$COMMON --port 22993 --user admin --server-pid $PID"   # one Bun process: read server_kb_per_conn_rss
D="$COMMON --port 21993 --user global --server-tree ${M:-0}" # forking: read server_kb_per_conn_pss
# SINCE compares INTERNALDATE: .eml import takes the file mtime, Dovecot's Maildir the corpus date, so the hit
# counts differ by design; SENTSINCE (Date header) is the comparable date query.
QUERIES=${QUERIES:-'["FROM \"lucky-winner.test\"","SUBJECT \"oportunidad\"","SUBJECT \"lottery\"","SINCE 20-Nov-2026","SENTSINCE 20-Nov-2026","LARGER 102400","TEXT \"zanzibar\"","BODY \"kumquat\"","HEADER Message-ID \"<05462015870690ff.5000.2afc38@lucky-winner.test>\""]'}

COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
: >"$OUT"
: >"$OUT.cmds"
echo "# $(date -u +%FT%TZ) quarantined $COMMIT, corpus $CORPUS ($COUNT, seed 1), $(nproc) cores, Dovecot master ${M:-none}" >>"$OUT.cmds"
run() { # server(q|d) label workload args...
  local srv=$1 label=$2 wl=$3; shift 3
  [ "$srv" = d ] && [ -z "$M" ] && return 0
  local S; [ "$srv" = q ] && S="$Q" || S="$D"
  echo "$(date -u +%FT%TZ) node imap-bench.mjs $wl $S $* --label $label" >>"$OUT.cmds"
  node $BENCH/imap-bench.mjs "$wl" $S "$@" --label "$label" | tee -a "$OUT" || true
  kill -0 $PID 2>/dev/null || { echo "quarantined (pid $PID) died during $label" >&2; cat "$DATA/server.log" >&2; exit 1; }
  sleep 2
}
want() { [[ " $ONLY " == *" $1 "* ]]; }

if want sync; then
  # first sync: quarantined straight after import and start; Dovecot with its header cache file removed (cold)
  run q quarantined-sync-first-r1 sync
  [ -n "$M" ] && rm -f $DOVE/mail/global/Maildir/.Caught/dovecot.index.cache
  run d dovecot-sync-first-r1 sync
  for r in $(seq "$RUNS"); do run q quarantined-sync-warm-r$r sync; run d dovecot-sync-warm-r$r sync; done
fi
if want bodies; then
  for r in $(seq "$RUNS"); do run q quarantined-bodies-r$r bodies --batch 500; run d dovecot-bodies-r$r bodies --batch 500; done
fi
if want search; then
  for r in $(seq "$RUNS"); do
    run q quarantined-search-r$r search --repeat 5 --queries "$QUERIES"
    run d dovecot-search-r$r search --repeat 5 --queries "$QUERIES"
  done
fi
if want login; then
  for r in $(seq "$RUNS"); do
    run q quarantined-login-r$r login --concurrency 32 --seconds "$LOGIN_SECONDS" --warmup 1
    run d dovecot-login-r$r login --concurrency 32 --seconds "$LOGIN_SECONDS" --warmup 1
  done
fi
if want idle; then
  for r in $(seq "$RUNS"); do
    run q quarantined-idle-r$r idle --connections "$IDLE_CONNS" --concurrency 32 --settle 5
    run d dovecot-idle-r$r idle --connections "$IDLE_CONNS" --concurrency 32 --settle 5
  done
fi

# ---- medians and ratios
node - "$OUT" <<'EOF' | tee "$OUT.summary.md"
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const med = (a) => { const s = a.filter((x) => x != null).sort((x, y) => x - y); if (!s.length) return null; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const f = (x, d = 2) => (x == null ? '–' : Math.abs(x) >= 100 ? String(Math.round(x)) : String(+x.toFixed(d)));
const runs = (label) => rows.filter((r) => r.label && r.label.replace(/-r\d+$/, '') === label);
const pick = (label, get) => { const rs = runs(label); return { v: med(rs.map(get)), all: rs.map(get), bad: rs.filter((r) => !r.ok).length }; };
const out = [];
out.push('| figure | quarantined | Dovecot | ratio | target | met |', '|---|---|---|---|---|---|');
const line = (name, q, d, ratio, target, ok, unit = '') => {
  const cell = (p) => (p.v == null ? '–' : `**${f(p.v)}**${unit}${p.all.length > 1 ? ` (${p.all.map((x) => f(x)).join(' / ')})` : ''}${p.bad ? ` ⚠ ${p.bad} not ok` : ''}`);
  out.push(`| ${name} | ${cell(q)} | ${cell(d)} | ${ratio == null ? '–' : f(ratio) + '×'} | ${target} | ${ok == null ? '–' : ok ? 'yes' : 'no'} |`);
};
const sQ1 = pick('quarantined-sync-first', (r) => r.wall_s), sQw = pick('quarantined-sync-warm', (r) => r.wall_s);
const sD1 = pick('dovecot-sync-first', (r) => r.wall_s), sDw = pick('dovecot-sync-warm', (r) => r.wall_s);
const ratio = (a, b) => (a != null && b != null && b !== 0 ? a / b : null);
let x;
x = ratio(sDw.v, sQ1.v); line('sync, first run (s; Dovecot column: its warm runs)', sQ1, sDw, x, '≥ 1.0× Dovecot warm speed', x == null ? null : x >= 1.0, ' s');
x = ratio(sDw.v, sQw.v); line('sync, warm runs (s)', sQw, sDw, x, '–', null, ' s');
x = ratio(sD1.v, sQ1.v); line('sync, first run each (s; Dovecot cold cache)', sQ1, sD1, x, '–', null, ' s');
const bQ = pick('quarantined-bodies', (r) => r.mb_per_s), bD = pick('dovecot-bodies', (r) => r.mb_per_s);
x = ratio(bQ.v, bD.v); line('bodies (MB/s)', bQ, bD, x, '≥ 0.8×', x == null ? null : x >= 0.8);
const lQ = pick('quarantined-login', (r) => r.logins_per_s), lD = pick('dovecot-login', (r) => r.logins_per_s);
x = ratio(lQ.v, lD.v); line('login storm, 32 TLS clients (logins/s)', lQ, lD, x, '≥ 2×', x == null ? null : x >= 2);
const lQp = pick('quarantined-login', (r) => r.p50_ms), lDp = pick('dovecot-login', (r) => r.p50_ms);
x = ratio(lDp.v, lQp.v); line('login p50 latency (ms)', lQp, lDp, x, '–', null);
const iQ = pick('quarantined-idle', (r) => r.server_kb_per_conn_rss), iD = pick('dovecot-idle', (r) => r.server_kb_per_conn_pss);
x = ratio(iQ.v, iD.v); line(`memory per IDLE session (KB; ours RSS, Dovecot PSS)`, iQ, iD, x, '≤ 0.1× (quarantined/Dovecot)', x == null ? null : x <= 0.1);
const sq = runs('quarantined-search'), sd = runs('dovecot-search');
const worstQ = [];
if (sq.length) {
  sq[0].queries.forEach((qq, i) => {
    const q = pick('quarantined-search', (r) => r.queries[i].median_ms), d = pick('dovecot-search', (r) => r.queries[i].median_ms);
    const worst = Math.max(...sq.map((r) => Math.max(r.queries[i].median_ms, r.queries[i].first_ms)));
    worstQ.push(worst);
    const mQ = sq[0].queries[i].matches, mD = sd[0]?.queries[i]?.matches;
    const same = mD == null || mQ === mD ? `${mQ} hits` : `hits differ: ${mQ} vs ${mD}`;
    x = ratio(d.v, q.v); line(`SEARCH \`${qq.query.replace(/\|/g, '\\|')}\` (median ms; ${same}; ours worst first/median ${f(worst)})`, q, d, x, '< 100 ms', worst < 100);
  });
}
out.push('', 'Ratios are quarantined/Dovecot where higher is better (bodies, logins), Dovecot/quarantined for times (sync, latency, SEARCH: >1 means quarantined is faster), and quarantined/Dovecot for memory (lower is better).');
out.push('Medians over the runs in brackets. SEARCH "met" uses the worst of the first execution and the median of 5 over every run.');
const bad = rows.filter((r) => !r.ok);
out.push(`${rows.length} runs, ${bad.length} not ok${bad.length ? ': ' + bad.map((r) => `${r.label}: ${r.error || JSON.stringify({ open_errors: r.open_errors, error_kinds: r.error_kinds, errors: r.errors })}`).join('; ') : ''}`);
console.log(out.join('\n'));
EOF
echo
node $BENCH/summarize.mjs "$OUT"
