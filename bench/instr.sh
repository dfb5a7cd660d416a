#!/bin/sh
# bench/instr.sh BUILD_DIR: the instruction counts behind docs/performance.md's
# "Instructions" table.  Each workload of bench/suite.sh, made small enough for valgrind
# (churn at 200000 operations, sqlite, CPython and node at a tenth of their rows, objects
# and buffers, live at a million blocks), under valgrind --tool=callgrind: bare, recording
# every allocation, sampled at 512K and as a production guard (a cap, sampling at 512K, no
# leak check).  Whole process: start, the program, the exit snapshot and, where it runs,
# the exit scan.  "per call" is the extra instructions over bare divided by the program's
# calls to the malloc family (realloc and the aligned ones included), as the guard's log
# of the run recording every allocation counts them.  Instruction counts barely move from
# run to run on a busy machine, unlike wall time; node's move by a few percent (its JIT
# and garbage collector).  Not a test: nothing here passes or fails.
#   WORKLOADS="churn live" SETTINGS="bare production" sh bench/instr.sh build
set -eu

NAME=instr BUILD=${1:-build}
command -v valgrind >/dev/null 2>&1 || { echo "instr: valgrind is not installed" >&2; exit 1; }
. "$(dirname "$0")/common.sh"
WORKLOADS=${WORKLOADS:-churn sqlite python node live}
SETTINGS=${SETTINGS:-bare guard sampled production}

# The suite's scripts at a tenth: every loop bound of theirs divided by ten.
sed -e 's/150000/15000/g' "$HERE/work/sqlite.sql" > "$TMP/sqlite.sql"
sed -e 's/120000/12000/; s/40000/4000/; s/20000/2000/' "$HERE/work/py_work.py" > "$TMP/py_work.py"
sed -e 's/150000/15000/; s/40000/4000/' "$HERE/work/node_work.js" > "$TMP/node_work.js"

workload_cmd() {
	case $1 in
	churn)  echo "$B/examples/mtbench 2 200000" ;;
	sqlite) echo "sqlite3 :memory: -init /dev/null" ;;
	python) echo "$PYTHON $TMP/py_work.py" ;;
	node)   echo "node $TMP/node_work.js" ;;
	live)   echo "$B/examples/live_blocks 1000000" ;;
	esac
}

workload_stdin() {
	[ "$1" = sqlite ] && echo "$TMP/sqlite.sql" || echo /dev/null
}

# instr WORKLOAD SETTING: the whole process's instructions.
instr() {
	w=$1 s=$2
	d=$TMP/$w.$s
	mkdir -p "$d"
	env=$(guard_env "$s" "$d")
	# shellcheck disable=SC2086
	if ! env $env valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=/dev/null \
		$(workload_cmd "$w") < "$(workload_stdin "$w")" >/dev/null 2>"$d/err"; then
		echo "instr: $w under $s failed: $(tail -n 2 "$d/err" | tr '\n' ' ')" >&2
		echo 0
		return 0
	fi
	sed -n 's/.*I *refs: *//p' "$d/err" | tail -n 1 | tr -d ','
}

# The malloc-family calls of the run recording every allocation (its log's report).
calls() {
	log=$(ls -S "$TMP/$1.guard"/ag.*.log 2>/dev/null | head -n 1)
	[ -n "$log" ] || { echo 0; return 0; }
	"$AG" report --json "$log" 2>/dev/null | python3 -c \
		'import json, sys; print(json.load(sys.stdin)["allocations"]["calls"] or 0)' 2>/dev/null ||
		echo 0
}

echo "instr: callgrind of $WORKLOADS under $SETTINGS" >&2
out=$B/instr.md
{
	printf '| workload (calls) |'
	for s in $SETTINGS; do printf ' %s |' "$s"; done
	printf '\n|---|'
	for s in $SETTINGS; do printf -- '---|'; done
	printf '\n'
	for w in $WORKLOADS; do
		for s in $SETTINGS; do
			instr "$w" "$s" > "$TMP/$w.$s.ir"
			echo "instr: $w $s $(cat "$TMP/$w.$s.ir")" >&2
		done
		n=$(calls "$w")
		bare=$(cat "$TMP/$w.bare.ir" 2>/dev/null || echo 0)
		printf '| %s (%s) |' "$w" "${n:-0}"
		for s in $SETTINGS; do
			awk -v ir="$(cat "$TMP/$w.$s.ir")" -v bare="$bare" -v n="${n:-0}" -v s="$s" 'BEGIN {
				if (ir == 0) { printf " failed |"; exit }
				printf " %.1f M", ir / 1e6
				if (s != "bare" && bare > 0) {
					printf " (%.2fx", ir / bare
					if (n > 0) printf ", %+d per call", (ir - bare) / n
					printf ")"
				}
				printf " |"
			}'
		done
		printf '\n'
	done
} | tee "$out"
echo "instr: table in $out" >&2
