#!/usr/bin/env bash
# The gRPC load test behind `make load`: starts `kasuhara serve` on loopback,
# runs ghz against Classifier/Classify with the dev corpus texts round-robin,
# then against ClassifyBatch, samples the server's resident memory
# throughout, and stops the server with SIGTERM. Knobs (environment):
#
#   KASUHARA, GHZ       the binaries (make load builds and installs them into bin/)
#   DEV_CORPUS          JSON Lines with "id" and "text" (../shared/eval/dev.jsonl)
#   OUT                 where data, results and the server log go (bin/load)
#   LOAD_CONCURRENCY    ghz workers (50)
#   LOAD_REQUESTS       Classify calls (50000)
#   LOAD_BATCH_CALLS    ClassifyBatch calls (1000)
#   LOAD_BATCH_SIZE     messages per batch (32)
#   LOAD_DURATION       if set (e.g. 2m), run each phase this long instead of by count
#   SERVE_FLAGS         extra flags for kasuhara serve
set -euo pipefail

: "${KASUHARA:?path to the kasuhara binary}" "${GHZ:?path to the ghz binary}"
DEV_CORPUS=${DEV_CORPUS:-../shared/eval/dev.jsonl}
OUT=${OUT:-bin/load}
LOAD_CONCURRENCY=${LOAD_CONCURRENCY:-50}
LOAD_REQUESTS=${LOAD_REQUESTS:-50000}
LOAD_BATCH_CALLS=${LOAD_BATCH_CALLS:-1000}
LOAD_BATCH_SIZE=${LOAD_BATCH_SIZE:-32}
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
print(f"load: {len(msgs)} dev corpus messages; batches of {size}")
PY

started=$(date +%s%N)
"$KASUHARA" serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --admin-addr '' ${SERVE_FLAGS:-} 2>"$OUT/serve.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
addr=
for _ in $(seq 200); do
	addr=$(sed -n '1s/.*grpc_addr=\([^ ]*\).*/\1/p' "$OUT/serve.log")
	[ -n "$addr" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$OUT/serve.log"; exit 1; }
	sleep 0.05
done
[ -n "$addr" ] || { echo "load: server did not log its address"; cat "$OUT/serve.log"; exit 1; }
echo "load: serving on $addr, $(( ($(date +%s%N) - started) / 1000000 )) ms after start; pid $pid"

# Resident memory, sampled every half second; the kernel also keeps the peak (VmHWM).
( while kill -0 "$pid" 2>/dev/null; do
	awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true
	sleep 0.5
done ) >"$OUT/rss.kb" &
sampler=$!

run() { # name method data-file count messages-per-call
	local amount=(-n "$4")
	[ -n "$LOAD_DURATION" ] && amount=(-z "$LOAD_DURATION")
	"$GHZ" --insecure --call "kasuhara.v1.Classifier/$2" --data-file "$3" \
		-c "$LOAD_CONCURRENCY" "${amount[@]}" -O json -o "$OUT/$1.json" "$addr"
	python3 - "$OUT/$1.json" "$1" "$5" <<'PY'
import json, sys
r, name, per_call = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
lat = {int(p["percentage"]): p["latency"] / 1e6 for p in r.get("latencyDistribution") or []}
codes = r.get("statusCodeDistribution") or {}
errors = sum(n for c, n in codes.items() if c != "OK")
print(f"{name}: {r['count']} calls in {r['total'] / 1e9:.1f}s, {r['rps']:.0f} calls/s "
      f"({r['rps'] * per_call:.0f} messages/s), p50 {lat.get(50, 0):.2f} ms, p99 {lat.get(99, 0):.2f} ms, "
      f"errors {errors} {json.dumps(r.get('errorDistribution') or {}, ensure_ascii=False)}")
PY
}
run unary Classify "$OUT/unary.json" "$LOAD_REQUESTS" 1
run batch ClassifyBatch "$OUT/batch.json" "$LOAD_BATCH_CALLS" "$LOAD_BATCH_SIZE"

hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
http=$(sed -n '1s/.*http_addr=\([^ ]*\).*/\1/p' "$OUT/serve.log")
python3 - "http://$http/metrics" <<'PY'
import sys, urllib.request
for line in urllib.request.urlopen(sys.argv[1]).read().decode().splitlines():
    if line.startswith(("kasuhara_grpc_overload_rejected_total", "kasuhara_grpc_panics_recovered_total")):
        print("server:", line)
PY
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
wait "$sampler" || true
trap - EXIT
awk -v hwm="$hwm" '$1 > 0 { n++; if (n == 1) first = $1; last = $1; if ($1 > max) max = $1 }
	END { printf "server RSS: peak %.0f MB (VmHWM); sampled every 0.5s: first %.0f MB, max %.0f MB, last %.0f MB (%d samples)\n",
		hwm / 1024, first / 1024, max / 1024, last / 1024, n }' "$OUT/rss.kb"
[ "$status" -eq 0 ] || { echo "load: server exited $status after SIGTERM"; exit 1; }
echo "load: server stopped cleanly; results in $OUT"
