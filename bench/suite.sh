#!/bin/sh
# bench/suite.sh BUILD_DIR: the overhead suite behind the README's table (make bench).
# Five real workloads (C churn on 2 threads, sqlite3 in memory, CPython, node, 1M live
# blocks), each bare, under the guard recording every allocation, sampling every 512K, as a
# production guard (a cap, sampling every 512K, no leak check), under heaptrack and under
# glibc's memusage (where it works), interleaved run by run so the machine's noise falls on
# every setting alike.  Per cell: median wall time over the runs as a ratio to bare (and the
# range over the runs), median CPU time (user + system, every thread and child) as a ratio
# to bare, median peak RSS, the log or trace size; then the analysis time of every
# allocguard command against heaptrack_print on the same workload.  Writes the markdown
# table to stdout and to BUILD_DIR/bench.md.  Not a test: nothing here passes or fails.
#   RUNS=5 WORKLOADS="churn sqlite python node live" sh bench/suite.sh build
set -eu

NAME=suite BUILD=${1:-build}
. "$(dirname "$0")/common.sh"
RUNS=${RUNS:-5}
WORKLOADS=${WORKLOADS:-churn sqlite python node live}
MEMUSAGE=$(ls /usr/lib/*/libmemusage.so 2>/dev/null | head -n 1 || true)

workload_cmd() {
	case $1 in
	churn)  echo "$B/examples/mtbench 2 1000000" ;;
	sqlite) echo "sqlite3 :memory: -init /dev/null < $HERE/work/sqlite.sql" ;;
	python) echo "$PYTHON $HERE/work/py_work.py" ;;
	node)   echo "node $HERE/work/node_work.js" ;;
	live)   echo "$B/examples/live_blocks 1000000" ;;
	esac
}

# Settings a workload runs under; memusage crashes node, so node goes without it.  node
# also runs under the guard without its JS heap (nojs: ALLOCGUARD_NODE=0), so the JS heap's
# own cost is the difference between its guard and nojs rows.
settings_for() {
	s="bare guard sampled production"
	[ "$1" = node ] && s="bare nojs guard sampled production"
	command -v heaptrack >/dev/null 2>&1 && s="$s heaptrack"
	[ -n "$MEMUSAGE" ] && [ "$1" != node ] && s="$s memusage"
	echo "$s"
}

# run_one WORKLOAD SETTING REP: one timed run; appends "wall rss_kib" to its results file
# and keeps the log or trace of the first repetition.
run_one() {
	w=$1 s=$2 rep=$3
	cmd=$(workload_cmd "$w")
	d=$TMP/$w.$s.$rep
	mkdir -p "$d"
	case $s in
	bare)      pre="" ;;
	guard|nojs|sampled|production) pre="env $(guard_env "$s" "$d")" ;;
	heaptrack) pre="heaptrack -o $d/ht" ;;
	memusage)  pre="env LD_PRELOAD=$MEMUSAGE MEMUSAGE_OUTPUT=/dev/null" ;;
	esac
	# heaptrack runs the program as its child: time measures both, as a user waits for both.
	if ! /usr/bin/time -f "%e %M %U %S" -o "$d/time" sh -c "$pre $cmd" >/dev/null 2>"$d/err"; then
		echo "bench: $w under $s failed: $(tail -n 2 "$d/err" | tr '\n' ' ')" >&2
		echo "fail" >> "$TMP/$w.$s.res"
		return 0
	fi
	tail -n 1 "$d/time" | awk '{ print $1, $2, $3 + $4 }' >> "$TMP/$w.$s.res"
	[ "$rep" = 1 ] || rm -rf "$d"
}

median() {   # median of column $1 of stdin
	sort -n -k "$1" | awk -v c="$1" '{ v[NR] = $c } END {
		if (!NR) { print "-"; exit }
		print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

human() {    # bytes -> short size
	awk -v b="$1" 'BEGIN { split("B KiB MiB GiB", u); i = 1
		while (b >= 1024 && i < 4) { b /= 1024; i++ }
		printf (i == 1 ? "%d %s" : "%.1f %s"), b, u[i] }'
}

echo "bench: $RUNS interleaved runs of: $WORKLOADS" >&2
rep=1
while [ "$rep" -le "$RUNS" ]; do
	for w in $WORKLOADS; do
		for s in $(settings_for "$w"); do
			run_one "$w" "$s" "$rep"
		done
	done
	echo "bench: run $rep of $RUNS done" >&2
	rep=$((rep + 1))
done

# One node run with a snapshot every 100 ms: a log of many snapshots to analyse.
ANALYSED=$WORKLOADS
case " $WORKLOADS " in
*" node "*)
	mkdir -p "$TMP/node.interval"
	env LD_PRELOAD="$LIB" ALLOCGUARD_INTERVAL=100ms ALLOCGUARD_LOG="$TMP/node.interval/ag.%p.log" \
		$(workload_cmd node) >/dev/null 2>&1 || echo "bench: node at 100ms failed" >&2
	ANALYSED="$WORKLOADS node@100ms" ;;
esac

# Analysis time of each allocguard command on the guard's log of a workload, against
# heaptrack_print on heaptrack's trace of the same workload (median of 3).
time_cmd() {
	i=0
	: > "$TMP/at"
	while [ $i -lt 3 ]; do
		/usr/bin/time -f "%e %M" -o "$TMP/one" sh -c "$1" >/dev/null 2>&1 || true
		tail -n 1 "$TMP/one" >> "$TMP/at"
		i=$((i + 1))
	done
	median 1 < "$TMP/at"
	median 2 < "$TMP/at" >> "$TMP/rss"
}

out=$B/bench.md
{
	echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr); $RUNS interleaved runs, medians."
	echo
	echo "| workload | setting | wall (s) | x bare | x bare, range | CPU (s) | CPU x bare | peak RSS | log / trace |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for w in $WORKLOADS; do
		bare=$(grep -v fail "$TMP/$w.bare.res" | median 1)
		barecpu=$(grep -v fail "$TMP/$w.bare.res" | median 3)
		for s in $(settings_for "$w"); do
			f=$TMP/$w.$s.res
			if grep -q fail "$f"; then
				echo "| $w | $s | failed | | | | | | |"
				continue
			fi
			wall=$(median 1 < "$f")
			rss=$(median 2 < "$f")
			cpu=$(median 3 < "$f")
			# each run against the bare run of the same round: the spread the noise leaves
			range=$(paste -d' ' "$f" "$TMP/$w.bare.res" | awk '$4 > 0 { r = $1 / $4
				if (!n++ || r < lo) lo = r; if (r > hi) hi = r }
				END { if (n) printf "%.2f-%.2f", lo, hi; else print "-" }')
			cratio=$(awk -v a="$cpu" -v b="$barecpu" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
			size=$(du -cb "$TMP/$w.$s.1"/ag.*.log "$TMP/$w.$s.1"/ht.* 2>/dev/null | tail -n 1 | cut -f1)
			[ "$s" = bare ] || [ "$s" = memusage ] && size=0
			ratio=$(awk -v a="$wall" -v b="$bare" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
			sz=$([ "$size" -gt 0 ] && human "$size" || echo "-")
			echo "| $w | $s | $wall | $ratio | $range | $cpu | $cratio | $(human $((rss * 1024))) | $sz |"
		done
	done
	echo
	echo "Analysis of the logs above (seconds, median of 3; the guard's log of each workload's"
	echo "first run, every allocation recorded, against heaptrack_print on heaptrack's trace;"
	echo "\"node@100ms\" is one more node run with a snapshot every 100 ms, the case of many"
	echo "snapshots; max RSS is the largest of the allocguard commands):"
	echo
	echo "| workload | report | leaks | growth | diff | export pprof | export json | max RSS | heaptrack_print | log | trace |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for w in $ANALYSED; do
		case $w in
		node@100ms) dir=$TMP/node.interval; htdir=$TMP/node.heaptrack.1 ;;
		*) dir=$TMP/$w.guard.1; htdir=$TMP/$w.heaptrack.1 ;;
		esac
		log=$(ls -S "$dir"/ag.*.log 2>/dev/null | head -n 1 || true)
		[ -n "$log" ] || continue
		: > "$TMP/rss"
		r=$(time_cmd "$AG report $log")
		l=$(time_cmd "$AG leaks $log")
		g=$(time_cmd "$AG growth $log")
		d=$(time_cmd "$AG diff $log@0 $log")
		pp=$(time_cmd "$AG export --format pprof -o $TMP/p.pb.gz $log")
		js=$(time_cmd "$AG export --format json -o $TMP/p.json $log")
		rss=$(sort -n "$TMP/rss" | tail -n 1)
		ht=$(ls "$htdir"/ht.* 2>/dev/null | head -n 1 || true)
		h=$([ -n "$ht" ] && time_cmd "heaptrack_print $ht" || echo "-")
		lsz=$(human "$(du -cb "$dir"/ag.*.log | tail -n 1 | cut -f1)")
		tsz=$([ -n "$ht" ] && human "$(du -b "$ht" | cut -f1)" || echo "-")
		echo "| $w | $r | $l | $g | $d | $pp | $js | $(human $((rss * 1024))) | $h | $lsz | $tsz |"
	done
} > "$out"
cat "$out"
