# CPython dicts, JSON, bytes and strings (bench/suite.sh "python"): deterministic, about a
# second bare.
import json
rows = []
for i in range(120000):
    rows.append({"id": i, "name": "user-%d" % i, "tags": [i % 7, i % 11, i % 13],
                 "score": i * 0.25})
blob = json.dumps(rows)
back = json.loads(blob)
index = {r["name"]: r for r in back}
# bytes and strings above pymalloc's 512 B: each one a malloc of its own
chunks = [bytes([i % 256]) * (520 + i % 4000) for i in range(40000)]
names = ["n" * (520 + i % 1500) + str(i) for i in range(20000)]
joined = b"".join(chunks)
words = {}
for r in back:
    for t in r["tags"]:
        words.setdefault(t, []).append(r["id"])
print(len(blob), len(index), len(joined), sum(len(n) for n in names),
      sum(len(v) for v in words.values()))
