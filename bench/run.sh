#!/bin/sh
# bench/run.sh BUILD_DIR: the allocation-heavy multi-threaded benchmark (examples/mtbench) bare,
# under the guard recording every allocation, under the guard sampling every 512K, and under
# heaptrack when installed; hyperfine when installed, else a /usr/bin/time loop.  Prints a
# table of wall times and ratios to the bare run.  Not a test: nothing here passes or fails.
set -eu

B=${1:-build}
THREADS=${THREADS:-4}
OPS=${OPS:-1000000}
RUNS=${RUNS:-5}
B=$(cd "$B" && pwd)
PROG="$B/examples/mtbench $THREADS $OPS"
LIB=$B/liballocguard.so
[ -x "$B/examples/mtbench" ] || { echo "bench: $B/examples/mtbench missing (make examples)" >&2; exit 1; }
[ -f "$LIB" ] || { echo "bench: $LIB missing (make)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/agbench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM

# name|command, one per line
{
	echo "bare|$PROG"
	echo "guard|env LD_PRELOAD=$LIB ALLOCGUARD_LOG=$TMP/ag.%p.log $PROG"
	echo "guard-sample-512K|env LD_PRELOAD=$LIB ALLOCGUARD_SAMPLE=512K ALLOCGUARD_LOG=$TMP/ags.%p.log $PROG"
	if command -v heaptrack >/dev/null 2>&1; then
		echo "heaptrack|heaptrack -o $TMP/ht $PROG"
	fi
} > "$TMP/configs"
command -v heaptrack >/dev/null 2>&1 || echo "bench: heaptrack not installed: skipping it" >&2

echo "mtbench: $THREADS threads x $OPS operations, $RUNS runs each, $(nproc) cpus"
# One run of each, to show the program's own figures and check it works in every setting.
while IFS='|' read -r name cmd; do
	out=$(sh -c "$cmd" 2>/dev/null | grep '^threads=') || { echo "bench: $name failed" >&2; exit 1; }
	printf '  %-18s %s\n' "$name" "$out"
done < "$TMP/configs"
echo

if command -v hyperfine >/dev/null 2>&1; then
	set --
	while IFS='|' read -r name cmd; do
		set -- "$@" -n "$name" "$cmd"
	done < "$TMP/configs"
	hyperfine -N --warmup 1 --runs "$RUNS" --style none --export-csv "$TMP/times.csv" "$@" \
		>/dev/null 2>&1 || hyperfine --warmup 1 --runs "$RUNS" --style none \
		--export-csv "$TMP/times.csv" "$@" >/dev/null
	# command,mean,stddev,median,user,system,min,max
	tail -n +2 "$TMP/times.csv" | awk -F, '{ printf "%s|%s|%s\n", $1, $2, $3 }' > "$TMP/results"
	tool="hyperfine, mean of $RUNS runs after 1 warm-up"
else
	: > "$TMP/results"
	while IFS='|' read -r name cmd; do
		i=0
		: > "$TMP/t"
		while [ $i -lt "$RUNS" ]; do
			/usr/bin/time -f %e -o "$TMP/one" sh -c "$cmd" >/dev/null 2>&1
			cat "$TMP/one" >> "$TMP/t"
			i=$((i + 1))
		done
		awk -v n="$name" '{ s += $1; q += $1 * $1; k++ }
			END { m = s / k; v = q / k - m * m; if (v < 0) v = 0; printf "%s|%f|%f\n", n, m, sqrt(v) }' \
			"$TMP/t" >> "$TMP/results"
	done < "$TMP/configs"
	tool="/usr/bin/time, mean of $RUNS runs"
fi

echo "wall time ($tool):"
printf '  %-18s %10s %10s %8s\n' setting "mean (s)" "stddev" "x bare"
awk -F'|' 'NR == 1 { bare = $2 } { printf "  %-18s %10.3f %10.3f %7.2fx\n", $1, $2, $3, $2 / bare }' \
	"$TMP/results"
