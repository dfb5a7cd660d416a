#!/usr/bin/env python3
# gen_growth.py: writes tests/data/growth_three.log, a log of a steady grower (10 KiB/s),
# a warm-up pool (rises to 1 MiB in its first second, then level) and churn (oscillates
# around 64 KiB), snapshots every 100 ms for 5 s, then an exit snapshot that frees the pool.
import random
random.seed(4)
out = ["AGLOG 1", "P 777 1 1700000000000000000 /opt/an_fixture/growthy", "A ./growthy",
       "O sample 0", "O interval_ms 100",
       "M 400000 400000 405000 - /opt/an_fixture/growthy",
       "S 10 h 401100 401500", "S 11 h 401200 401500", "S 12 h 401300 401500"]
prev = {}
grow_total = pool_total = churn_total = 0
n = 51
for k in range(n):
    t = k * 0.1
    grow = int(10240 * t) // 64 * 64
    pool = min(1 << 20, int((1 << 20) * t / 1.0)) // 4096 * 4096
    churn = 65536 + random.randint(-40000, 40000)
    churn_total += max(churn, 0) + 1000
    vals = {10: (grow, grow // 64, grow, grow // 64),
            11: (pool, pool // 4096, pool, pool // 4096),
            12: (churn, churn // 100 + 1, churn_total, churn_total // 100 + 1)}
    reason = "start" if k == 0 else "interval"
    out.append(f"B {k} {int(t * 1e9) + 1000} {reason}")
    nrec = 0
    for sid, v in vals.items():
        if prev.get(sid) != v and v[0] <= v[2]:
            out.append(f"L {sid} {v[0]} {v[1]} {v[2]} {v[3]}")
            prev[sid] = v
            nrec += 1
    heap = grow + pool + churn
    out.append(f"E {k} {heap} {heap} 0 0 {heap + 100000} {heap + 100000} 0 {nrec}")
# exit: the pool is released at teardown, the grower is lost
g = prev[10]
out.append(f"B {n} {int(n * 0.1 * 1e9)} exit")
out.append(f"L 11 0 0 {1 << 20} 256")
out.append(f"L 12 0 0 {churn_total} {churn_total // 100 + 1}")
out.append(f"R 10 {g[0]} {g[1]}")
out.append(f"E {n} {g[0]} {g[0]} 0 0 {2000000} {2000000} 0 3")
open("tests/data/growth_three.log", "w").write("\n".join(out) + "\n")
