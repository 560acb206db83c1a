#!/usr/bin/env bash
# kasuhara's unary Classify throughput as a ratio of a floor's: load/floor,
# a server of the same proto that only tokenises with kagome. ghz runs
# pinned to CPU 0 and each server to CPU 1 (taskset), so neither takes the
# other's core; the two servers are run alternately, LOAD_RATIO_ROUNDS
# times each, with the same calls (the dev corpus round-robin, concurrency
# LOAD_CONCURRENCY). It prints each run, then each round's ratio, and
# passes when every ratio is at least 0.9 and kasuhara's p99 at most 20 ms.
# Called by load/load.sh, with its environment.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${KASUHARA:?}" "${GHZ:?}" "${FLOOR:?path to load/floor}" "${OUT:?}"
ROUNDS=${LOAD_RATIO_ROUNDS:-2}
N=${LOAD_REQUESTS:-50000}
C=${LOAD_CONCURRENCY:-50}
if [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; then
	echo "ratio: needs two CPUs and taskset; skipped"
	exit 0
fi

spid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null || true' EXIT
serve() { # name: start that server on CPU 1, set spid and saddr
	local log="$OUT/ratio-$1.log"
	case $1 in
	floor) taskset -c 1 "$FLOOR" -addr 127.0.0.1:0 2>"$log" & ;;
	kasuhara) taskset -c 1 "$KASUHARA" serve --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --admin-addr '' 2>"$log" & ;;
	esac
	spid=$!
	saddr=$(wait_addr "$spid" "$log")
}

for r in $(seq "$ROUNDS"); do
	for which in floor kasuhara; do
		serve "$which"
		taskset -c 0 "$GHZ" --insecure --call kasuhara.v1.Classifier/Classify --data-file "$OUT/unary.json" \
			-c "$C" -n "$N" -O json -o "$OUT/ratio-$which-$r.result.json" "$saddr" >/dev/null
		kill -TERM "$spid"; wait "$spid" || true; spid=
	done
done

python3 - "$OUT" "$ROUNDS" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(which, r):
    d = json.load(open(f"{out}/ratio-{which}-{r}.result.json"))
    lat = {int(p["percentage"]): p["latency"] / 1e6 for p in d.get("latencyDistribution") or []}
    errors = sum(n for c, n in (d.get("statusCodeDistribution") or {}).items() if c != "OK")
    return d["rps"], lat.get(50, 0), lat.get(99, 0), errors
ok = True
for r in range(1, rounds + 1):
    f, k = load("floor", r), load("kasuhara", r)
    for name, (rps, p50, p99, errors) in (("floor", f), ("kasuhara", k)):
        print(f"ratio round {r}, {name}: {rps:.0f} calls/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, errors {errors}")
    ratio = k[0] / f[0]
    good = ratio >= 0.9 and k[2] <= 20 and k[3] == 0
    ok = ok and good
    print(f"ratio round {r}: kasuhara {ratio:.2f}x the floor's calls/s (want >= 0.9), p99 {k[2]:.2f} ms (want <= 20): {'PASS' if good else 'FAIL'}")
print("ratio:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
