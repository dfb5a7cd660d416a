#!/bin/sh
# demo.sh BUILD: the README's main-job demo (`make demo`): runs a program with planted
# leaks under `allocguard run`, shows its leak report with function and file:line, then
# runs a program with a steady grower, a warm-up pool and churn, and shows its growth report.
set -eu
B=${1:-build}
AG="$B/allocguard"
for f in "$AG" "$B/liballocguard.so" "$B/examples/leaks" "$B/examples/grower"; do
	if [ ! -e "$f" ]; then
		echo "demo: $f is missing; run 'make all examples' first" >&2
		exit 1
	fi
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/allocguard-demo.XXXXXX")

step() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@"
}

echo "allocguard demo: logs go to $dir"
step "$AG" run --out "$dir/leaks.%p.log" -- "$B/examples/leaks"
leaks_log=$(ls "$dir"/leaks.*.log | head -n 1)
step "$AG" leaks --top 8 "$leaks_log"

step "$AG" run --interval 100ms --out "$dir/grower.%p.log" -- "$B/examples/grower"
grower_log=$(ls "$dir"/grower.*.log | head -n 1)
step "$AG" growth --top 5 "$grower_log"
step "$AG" report --top 3 "$grower_log"

printf '\nThe logs stay in %s (allocguard leaks|growth|report|diff LOG --json for scripts).\n' "$dir"
