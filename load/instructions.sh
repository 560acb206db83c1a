#!/usr/bin/env bash
# Instructions per pass of BenchmarkClassify and BenchmarkTokenizeOnly (the
# 224 dev corpus texts), counted by valgrind's cachegrind: a measure of the
# classifier's cost that other tenants of a shared machine cannot move, as
# they move the clock by 1.5x from run to run.
#
# Each benchmark runs twice under cachegrind, for 1 and for 21 passes,
# with the garbage collector off (a cycle over the dictionary's heap
# would land in one count or the other); the difference over 20 is one
# pass, with the start (loading the dictionary, compiling the lexicon)
# taken out. Prints the two counts and their ratio; the same tree gives
# the same counts to 0.1%.
# Needs valgrind (apt-get install valgrind); takes about half a minute.
# Usage: load/instructions.sh   (from the repository root, ../shared beside it)
set -euo pipefail
command -v valgrind >/dev/null || { echo "instructions: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/classifier.test" ./classifier
count() { # name bench passes: total instructions of one run
	(cd classifier && GOGC=off valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$dir/$1.$3.out" \
		"$dir/classifier.test" -test.run '^$' -test.bench "$2" -test.benchtime "$3x" -test.cpu 1 >"$dir/$1.$3.log" 2>&1)
	grep -o 'I *refs: *[0-9,]*' "$dir/$1.$3.log" | tr -dc 0-9 >"$dir/$1.$3"
}
count tokenize 'TokenizeOnly$' 1 & count tokenize 'TokenizeOnly$' 21 & wait
count classify 'Classify$' 1 & count classify 'Classify$' 21 & wait
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
def per_pass(name):
    return (int(open(f"{d}/{name}.21").read()) - int(open(f"{d}/{name}.1").read())) / 20
tok, cls = per_pass("tokenize"), per_pass("classify")
print(f"instructions a pass: TokenizeOnly {tok/1e6:.1f} M, Classify {cls/1e6:.1f} M; Classify/TokenizeOnly {cls/tok:.2f}")
PY
