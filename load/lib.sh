# Shell functions load/load.sh and load/ratio.sh share; source it.

# wait_addr PID LOG prints the gRPC address the server PID logs first in LOG
# (kasuhara's grpc_addr=, or the floor's "floor: serving on"), waiting up to
# 20 s; it fails, showing LOG, if the server exits or never says.
wait_addr() {
	local a
	for _ in $(seq 400); do
		a=$(sed -n '1{s/.*grpc_addr=\([^ ]*\).*/\1/p;s/^floor: serving on //p}' "$2")
		[ -n "$a" ] && { echo "$a"; return; }
		kill -0 "$1" 2>/dev/null || { cat "$2" >&2; return 1; }
		sleep 0.05
	done
	echo "load: the server did not log its address" >&2; cat "$2" >&2; return 1
}
