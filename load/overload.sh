#!/usr/bin/env bash
# The overload phase of make load: 500 concurrent Classify calls of about
# 7.5 KB each over 10 connections (LOAD_OVERLOAD_CONCURRENCY,
# LOAD_OVERLOAD_DURATION) against a fresh `kasuhara serve` pinned to CPU 1,
# ghz pinned to CPU 0 (taskset), while load/probe asks gRPC health Check
# and GET /metrics one at a time on connections of their own and sends
# Classify calls to time the refusals. Passes when both probes' p99 are
# within 50 ms with no error. Called by load/load.sh, with its environment;
# reads $OUT/big.json, which load.sh writes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${KASUHARA:?}" "${GHZ:?}" "${PROBE:?path to load/probe}" "${OUT:?}"
C=${LOAD_OVERLOAD_CONCURRENCY:-500}
D=${LOAD_OVERLOAD_DURATION:-15s}
if [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; then
	echo "overload: needs two CPUs and taskset; skipped"
	exit 0
fi
log="$OUT/overload-serve.log"
taskset -c 1 "$KASUHARA" serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --admin-addr '' ${SERVE_FLAGS:-} 2>"$log" &
spid=$!
gpid=
trap 'kill "$spid" $gpid 2>/dev/null || true' EXIT
addr=$(wait_addr "$spid" "$log")
http=$(sed -n '1s/.*http_addr=\([^ ]*\).*/\1/p' "$log")
taskset -c 0 "$GHZ" --insecure --call kasuhara.v1.Classifier/Classify --data-file "$OUT/big.json" \
	-c "$C" --connections 10 -z "$D" -O json -o "$OUT/overload.result.json" "$addr" >/dev/null &
gpid=$!
# The probes start once ghz's calls are under way and stop before it does.
secs=${D%s}
sleep 2
status=0
"$PROBE" -grpc "$addr" -http "$http" -for "$((secs - 4))s" -want-p99 50ms \
	-classify "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["text"])' "$OUT/big.json")" || status=$?
wait "$gpid" || true
gpid=
python3 - "$OUT/overload.result.json" "$C" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
codes = r.get("statusCodeDistribution") or {}
print(f"overload: ghz at concurrency {sys.argv[2]} over 10 connections: {r['count']} calls, {r['rps']:.0f} calls/s, "
      f"by code {json.dumps(codes)}")
PY
kill -TERM "$spid"; wait "$spid" || true
trap - EXIT
exit "$status"
