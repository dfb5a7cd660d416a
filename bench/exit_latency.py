#!/usr/bin/env python3
"""exit_latency.py: how long a program's exit takes as its parent sees it, bare, with the
exit scan in the process and in a copy-on-write child (docs/performance.md, "The exit scan
and bookkeeping").  The program runs with its stdout on a pty; the time is from its last
line read to waitpid returning; `run`'s own wall and CPU time (its reaped children
included) are measured beside it.  Rounds are interleaved; medians and ranges are printed.

Usage: python3 bench/exit_latency.py BUILD_DIR [ROUNDS] [PROGRAM ARGS...]
(default: 8 rounds of BUILD_DIR/examples/live_blocks 1000000)."""
import os
import pty
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def timed_exit(argv):
    """Fork argv on a pty; seconds from its last output line to its end."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    buf, last = b"", None
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        buf += data
        if buf.endswith(b"\n"):
            last = time.monotonic()
    os.waitpid(pid, 0)
    return time.monotonic() - last if last else float("nan")


def child_mode(argv):
    """Under run: time the program's exit and print it."""
    sys.stderr.write("EXIT %.4f\n" % timed_exit(argv))


def under_run(ag, mode, argv, with_timer):
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, ALLOCGUARD_LOG=d + "/ag.%p.log", ALLOCGUARD_SCAN_CHILD=mode)
        cmd = [ag, "run", "-q", "--"]
        cmd += [sys.executable, __file__, "--child"] if with_timer else []
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        p = subprocess.run(cmd + argv, env=env, cwd=d, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if with_timer:
            line = [l for l in p.stderr.splitlines() if l.startswith("EXIT ")]
            return float(line[-1].split()[1]) if line else float("nan")
        return wall, cpu


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child_mode(sys.argv[2:])
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    argv = sys.argv[3:] or [build + "/examples/live_blocks", "1000000"]
    argv[0] = os.path.abspath(argv[0])
    ag = build + "/allocguard"
    res = {}
    for _ in range(rounds):
        res.setdefault("exit, bare", []).append(timed_exit(argv))
        for mode in ("no", "yes"):
            res.setdefault("exit, scan child " + mode, []).append(
                under_run(ag, mode, argv, True))
            wall, cpu = under_run(ag, mode, argv, False)
            res.setdefault("run wall, scan child " + mode, []).append(wall)
            res.setdefault("run cpu, scan child " + mode, []).append(cpu)
    for name, v in res.items():
        v.sort()
        print("%-24s median %.3f s  range %.3f-%.3f s" % (name, statistics.median(v), v[0],
                                                         v[-1]))


if __name__ == "__main__":
    main()
