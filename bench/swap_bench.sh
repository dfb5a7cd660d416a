#!/bin/sh
# swap_bench.sh: load time and peak RSS of a 1 GiB model file mapped plain (bare mmap) vs
# swapped eagerly vs swapped lazily, touching every page (examples/swap_loader --touch-only).
# Not a timed test: numbers for the README.  The page cache is dropped before each run when
# we may (root), so every variant reads the file from disk; otherwise runs are warm.
#   sh bench/swap_bench.sh [BUILD] [SIZE_MIB]      (defaults: build, 1024)
set -eu
build=${1:-build}
mib=${2:-1024}
loader=$build/examples/swap_loader
lib=$(cd "$build" && pwd)/liballocguard.so
[ -x "$loader" ] && [ -f "$lib" ] || { echo "build first: make all examples" >&2; exit 2; }
tmp=$(mktemp -d /tmp/agbench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
model=$tmp/bench.gguf
printf 'GGUF' > "$model"
head -c $((mib * 1024 * 1024 - 4)) /dev/urandom >> "$model"

drop() {
	sync
	if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; echo cold; else echo warm; fi
}

run() {   # name, then env assignments for the loader (empty: no preload)
	name=$1
	shift
	cache=$(drop)
	out=$(env "$@" "$loader" "$model" --touch-only)
	kv() { echo "$out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	printf '%-8s %-5s map %6s ms  touch %6s ms  total %6s ms  peak RSS %6s MiB\n' "$name" "$cache" \
		"$(kv map_ms)" "$(kv touch_ms)" "$(kv total_ms)" "$(( $(kv maxrss_kb) / 1024 ))"
}

echo "model: $mib MiB, chunk 64 KiB"
run plain
run eager LD_PRELOAD="$lib" ALLOCGUARD_LOG="$tmp/ag.%p.log" ALLOCGUARD_SWAP_MODE=eager
run lazy LD_PRELOAD="$lib" ALLOCGUARD_LOG="$tmp/ag.%p.log" ALLOCGUARD_SWAP_MODE=lazy
