#!/usr/bin/env bash
# The gRPC load test behind `make load`: starts `kasuhara serve` on loopback,
# runs ghz against the health Check (the ceiling: what ghz itself manages on
# this machine against a call that does nothing), then Classifier/Classify
# with the dev corpus texts round-robin, then ClassifyBatch, then
# ClassifyStream; then the hostile phase (Classify again while 130 idle
# streams are held open, whose p99 must stay within 2x of the first run's,
# with no error); samples the server's resident memory throughout, and stops
# the server with SIGTERM. Then load/overload.sh floods a fresh server with
# 500 concurrent 7.5 KB calls and wants health and /metrics answered within
# 50 ms at p99. Last, load/ratio.sh sets kasuhara's unary calls/s
# against a floor server's (kagome tokenising only), each pinned to its own
# core. Knobs (environment):
#
#   KASUHARA, GHZ       the binaries (make load builds and installs them into bin/)
#   DEV_CORPUS          JSON Lines with "id" and "text" (../shared/eval/dev.jsonl)
#   OUT                 where data, results and the server log go (bin/load)
#   LOAD_CONCURRENCY    ghz workers (50)
#   LOAD_REQUESTS       Classify calls (50000)
#   LOAD_BATCH_CALLS    ClassifyBatch calls (1000)
#   LOAD_BATCH_SIZE     messages per batch (32)
#   LOAD_STREAMS        ClassifyStream calls, each sending the whole corpus (200)
#   LOAD_DURATION       if set (e.g. 2m), run each phase this long instead of by count
#   SERVE_FLAGS         extra flags for kasuhara serve
#   IDLESTREAMS, FLOOR  the hostile client and the floor server (make load builds them)
#   PROBE               the overload phase's prober (make load builds it)
#   LOAD_OVERLOAD_CONCURRENCY, LOAD_OVERLOAD_DURATION   the overload phase (500, 15s)
#   LOAD_IDLE_STREAMS   idle streams in the hostile phase (130)
#   LOAD_RATIO_ROUNDS   alternated floor/kasuhara runs in load/ratio.sh (3; 0 skips it)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${KASUHARA:?path to the kasuhara binary}" "${GHZ:?path to the ghz binary}"
DEV_CORPUS=${DEV_CORPUS:-../shared/eval/dev.jsonl}
OUT=${OUT:-bin/load}
LOAD_CONCURRENCY=${LOAD_CONCURRENCY:-50}
LOAD_REQUESTS=${LOAD_REQUESTS:-50000}
LOAD_BATCH_CALLS=${LOAD_BATCH_CALLS:-1000}
LOAD_BATCH_SIZE=${LOAD_BATCH_SIZE:-32}
LOAD_STREAMS=${LOAD_STREAMS:-200}
LOAD_DURATION=${LOAD_DURATION:-}
mkdir -p "$OUT"

# ghz's --data-file: a JSON array is sent one element per call, round-robin.
python3 - "$DEV_CORPUS" "$OUT" "$LOAD_BATCH_SIZE" <<'PY'
import json, sys
corpus, out, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
msgs = [{"id": m["id"], "text": m["text"]} for m in map(json.loads, open(corpus, encoding="utf-8")) if m.get("text", "").strip()]
json.dump(msgs, open(f"{out}/unary.json", "w", encoding="utf-8"), ensure_ascii=False)
# Batches of `size` consecutive messages, wrapping round, one starting at each message.
batches = [{"requests": [msgs[(i + j) % len(msgs)] for j in range(size)]} for i in range(len(msgs))]
json.dump(batches, open(f"{out}/batch.json", "w", encoding="utf-8"), ensure_ascii=False)
json.dump({}, open(f"{out}/health.json", "w"))
# The overload phase's calls: corpus messages run together to about 7.5 KB each.
big, i = [], 0
for k in range(64):
    t = ""
    while len(t.encode()) < 7500:
        t, i = t + msgs[i % len(msgs)]["text"], i + 1
    big.append({"id": f"big{k}", "text": t})
json.dump(big, open(f"{out}/big.json", "w", encoding="utf-8"), ensure_ascii=False)
open(f"{out}/count", "w").write(str(len(msgs)))
print(f"load: {len(msgs)} dev corpus messages; batches of {size}")
PY
nmsgs=$(cat "$OUT/count")

started=$(date +%s%N)
"$KASUHARA" serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --admin-addr '' ${SERVE_FLAGS:-} 2>"$OUT/serve.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
addr=$(wait_addr "$pid" "$OUT/serve.log")
echo "load: serving on $addr, $(( ($(date +%s%N) - started) / 1000000 )) ms after start; pid $pid"

# Resident memory, sampled every half second with the phase running; the
# kernel also keeps the peak (VmHWM).
echo start >"$OUT/phase"
( while kill -0 "$pid" 2>/dev/null; do
	awk -v phase="$(cat "$OUT/phase")" '/^VmRSS/ {print phase, $2}' "/proc/$pid/status" 2>/dev/null || true
	sleep 0.5
done ) >"$OUT/rss.kb" &
sampler=$!

run() { # name full-method data-file count messages-per-call
	echo "$1" >"$OUT/phase"
	local amount=(-n "$4")
	[ -n "$LOAD_DURATION" ] && amount=(-z "$LOAD_DURATION")
	${GHZ_PREFIX:-} "$GHZ" --insecure --call "$2" --data-file "$3" \
		-c "$LOAD_CONCURRENCY" "${amount[@]}" -O json -o "$OUT/$1.result.json" "$addr"
	python3 - "$OUT/$1.result.json" "$1" "$5" "$LOAD_DURATION" <<'PY'
import json, sys
r, name, per_call = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
lat = {int(p["percentage"]): p["latency"] / 1e6 for p in r.get("latencyDistribution") or []}
codes = r.get("statusCodeDistribution") or {}
errors = sum(n for c, n in codes.items() if c != "OK")
# A timed run (LOAD_DURATION) ends with ghz closing its own connection under
# the calls still in flight: they fail on ghz's side with one of these
# messages, which only a client closing its own connection produces, and are
# no server error. Count them apart (ghz keeps at most 10^6 call details, so
# this goes by the error counts, not by time).
own = ("client connection is closing", "use of closed network connection")
timed = len(sys.argv) > 4 and sys.argv[4] != ""
cut = sum(n for e, n in (r.get("errorDistribution") or {}).items() if any(m in e for m in own)) if timed else 0
print(f"{name}: {r['count']} calls in {r['total'] / 1e9:.1f}s, {r['rps']:.0f} calls/s "
      f"({r['rps'] * per_call:.0f} messages/s), p50 {lat.get(50, 0):.2f} ms, p99 {lat.get(99, 0):.2f} ms, "
      f"errors {errors - cut}" + (f" (and {cut} in flight cut off by ghz as the timed run ended)" if cut else "") +
      f" {json.dumps(r.get('errorDistribution') or {}, ensure_ascii=False)}")
PY
}
run ceiling grpc.health.v1.Health/Check "$OUT/health.json" "$LOAD_REQUESTS" 1
run unary kasuhara.v1.Classifier/Classify "$OUT/unary.json" "$LOAD_REQUESTS" 1
run batch kasuhara.v1.Classifier/ClassifyBatch "$OUT/batch.json" "$LOAD_BATCH_CALLS" "$LOAD_BATCH_SIZE"
# A stream sends every corpus message, one after another, and reads the answers.
run stream kasuhara.v1.Classifier/ClassifyStream "$OUT/unary.json" "$LOAD_STREAMS" "$nmsgs"

# The hostile phase: 130 ClassifyStream calls held open and idle over two
# connections (the attack of issue 14), and the unary phase again beside them.
"${IDLESTREAMS:?path to load/idlestreams}" -addr "$addr" -streams "${LOAD_IDLE_STREAMS:-130}" -conns 2 >"$OUT/idle.log" 2>&1 &
idle=$!
for _ in $(seq 200); do grep -q open "$OUT/idle.log" && break; sleep 0.05; done
cat "$OUT/idle.log"
run hostile kasuhara.v1.Classifier/Classify "$OUT/unary.json" "$LOAD_REQUESTS" 1
kill -TERM "$idle"; wait "$idle" || true
tail -n 1 "$OUT/idle.log"
if python3 - "$OUT/unary.result.json" "$OUT/hostile.result.json" <<'PY'
import json, sys
def p99(r): return {int(p["percentage"]): p["latency"] / 1e6 for p in r.get("latencyDistribution") or []}.get(99, 0)
base, hostile = (json.load(open(f)) for f in sys.argv[1:3])
errors = sum(n for c, n in (hostile.get("statusCodeDistribution") or {}).items() if c != "OK")
ratio = p99(hostile) / p99(base) if p99(base) else float("inf")
ok = errors == 0 and ratio <= 2
print(f"hostile: p99 {p99(hostile):.2f} ms with the idle streams against {p99(base):.2f} ms without: {ratio:.2f}x "
      f"(want <= 2x), errors {errors} (want 0): {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
then hostile=PASS; else hostile=FAIL; fi

hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
http=$(sed -n '1s/.*http_addr=\([^ ]*\).*/\1/p' "$OUT/serve.log")
python3 - "http://$http/metrics" <<'PY'
import sys, urllib.request
for line in urllib.request.urlopen(sys.argv[1]).read().decode().splitlines():
    if line.startswith(("kasuhara_grpc_overload_rejected_total", "kasuhara_grpc_panics_recovered_total", "kasuhara_request_bytes_rejected_total")):
        print("server:", line)
PY
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
wait "$sampler" || true
trap - EXIT
awk -v hwm="$hwm" '$2 > 0 {
		n++; if (n == 1) first = $2; last = $2; if ($2 > max) max = $2
		if (!($1 in count)) order[++phases] = $1
		v[$1, ++count[$1]] = $2
	}
	END {
		printf "server RSS: peak %.0f MB (VmHWM); sampled every 0.5s: first %.0f MB, max %.0f MB, last %.0f MB (%d samples)\n",
			hwm / 1024, first / 1024, max / 1024, last / 1024, n
		# Within each phase, the mean of the second half of its samples against
		# the first: growth under a steady load shows here.
		for (p = 1; p <= phases; p++) {
			name = order[p]; c = count[name]; h = int(c / 2)
			if (name == "start" || h == 0) continue
			a = 0; b = 0
			for (i = 1; i <= h; i++) a += v[name, i]
			for (i = c - h + 1; i <= c; i++) b += v[name, i]
			printf "server RSS, %s: first half %.0f MB, second half %.0f MB (%+.1f%%, %d samples)\n",
				name, a / h / 1024, b / h / 1024, (b - a) / a * 100, c
		}
	}' "$OUT/rss.kb"
[ "$status" -eq 0 ] || { echo "load: server exited $status after SIGTERM"; exit 1; }
echo "load: server stopped cleanly; results in $OUT"
overload=PASS
"$(dirname "$0")/overload.sh" || overload=FAIL
ratio=PASS
if [ "${LOAD_RATIO_ROUNDS:-3}" -gt 0 ]; then "$(dirname "$0")/ratio.sh" || ratio=FAIL; fi
[ "$hostile" = PASS ] && [ "$overload" = PASS ] && [ "$ratio" = PASS ] ||
	{ echo "load: hostile phase $hostile, overload $overload, ratio $ratio"; exit 1; }
