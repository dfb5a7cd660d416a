# bench/common.sh: what bench/suite.sh and bench/instr.sh share, sourced by both (after
# setting NAME, the prefix of their messages, and BUILD, the build directory): the build's
# files, a scratch directory removed at exit, the Python interpreter, and the guard's
# settings as environment variables.

B=$(cd "${BUILD:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$B/liballocguard.so
AG=$B/allocguard
for f in "$LIB" "$AG" "$B/examples/mtbench" "$B/examples/live_blocks"; do
	[ -e "$f" ] || { echo "$NAME: $f missing (make all examples)" >&2; exit 1; }
done

TMP=$(mktemp -d "/tmp/ag$NAME.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

# python3 may be a shim (pyenv's is a bash script that execs the interpreter): run the
# interpreter itself, or heaptrack traces the shim and nothing of Python.
PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)

# guard_env SETTING DIR: the environment of a guard setting, its logs in DIR; nothing for
# a setting that is not the guard's.
guard_env() {
	case $1 in
	guard)      echo "LD_PRELOAD=$LIB ALLOCGUARD_LOG=$2/ag.%p.log" ;;
	nojs)       echo "LD_PRELOAD=$LIB ALLOCGUARD_NODE=0 ALLOCGUARD_LOG=$2/ag.%p.log" ;;
	sampled)    echo "LD_PRELOAD=$LIB ALLOCGUARD_SAMPLE=512K ALLOCGUARD_LOG=$2/ag.%p.log" ;;
	production) echo "LD_PRELOAD=$LIB ALLOCGUARD_CAP=90% ALLOCGUARD_SAMPLE=512K" \
			 "ALLOCGUARD_LEAK_CHECK=no ALLOCGUARD_LOG=$2/ag.%p.log" ;;
	esac
}
