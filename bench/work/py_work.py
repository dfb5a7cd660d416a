# CPython dicts, JSON and bytes (bench/suite.sh "python"): deterministic, about a second bare.
import json
rows = []
for i in range(120000):
    rows.append({"id": i, "name": "user-%d" % i, "tags": [i % 7, i % 11, i % 13],
                 "score": i * 0.25})
blob = json.dumps(rows)
back = json.loads(blob)
index = {r["name"]: r for r in back}
chunks = [bytes([i % 256]) * (64 + i % 512) for i in range(60000)]
joined = b"".join(chunks)
words = {}
for r in back:
    for t in r["tags"]:
        words.setdefault(t, []).append(r["id"])
print(len(blob), len(index), len(joined), sum(len(v) for v in words.values()))
