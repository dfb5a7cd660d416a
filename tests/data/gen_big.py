#!/usr/bin/env python3
# gen_big.py OUT [NSITES] [NSNAPS]: a large synthetic log for measuring the analyzer's
# time and memory (issue 9): NSITES stacks of 4 frames in a symbol-less module, each live
# in every snapshot with a changing size (so every snapshot lists every stack), plus two
# crafted 2^63-byte sites whose sum wraps a u64.  Default 1e6 sites, 3 snapshots (~130 MB).
import random, sys
out = open(sys.argv[1], "w")
ns = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
nsnap = int(sys.argv[3]) if len(sys.argv) > 3 else 3
random.seed(1)
w = out.write
w("AGLOG 1\nP 4242 1 1700000000000000000 /opt/an_fixture/big\nA ./big\nO sample 0\n"
  "O interval_ms 100\nM 400000 400000 4000000 - /opt/an_fixture/big\n")
for s in range(ns):
    a = 0x400000 + (s * 7919) % 0x3000000
    w(f"S {s + 1} h {a:x} {a + 0x10:x} {0x400000 + s % 4096:x} 401000\n")
w("S 9000001 h 402000 401000\nS 9000002 h 402000 401000\n")
for k in range(nsnap + 1):
    reason = "start" if k == 0 else "exit" if k == nsnap else "interval"
    w(f"B {k} {k * 100000000 + 1000} {reason}\n")
    tot = 0
    for s in range(ns):
        b = 64 * (1 + (s + k) % 50)
        tot += b
        w(f"L {s + 1} {b} 1 {b * (k + 1)} {k + 1}\n")
    nrec = ns
    if k == 0:
        w(f"L 9000001 {1 << 63} 1 {1 << 63} 1\nL 9000002 {1 << 63} 1 {1 << 63} 1\n")
        nrec += 2
    w(f"E {k} {tot} {tot} 0 0 {tot} {tot} 0 {nrec}\n")
