-- sqlite3 in-memory inserts and queries (bench/suite.sh "sqlite").
PRAGMA cache_size = -65536;
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB, n REAL);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 150000)
INSERT INTO t SELECT i, printf('key-%08d-%s', i * 7919 % 150000, hex(randomblob(6))),
       randomblob(40 + i % 200), i * 0.5 FROM c;
CREATE INDEX t_k ON t(k);
SELECT count(*), sum(length(v)) FROM t WHERE k > 'key-00075000';
SELECT substr(k, 1, 9) AS p, count(*), avg(n) FROM t GROUP BY p ORDER BY 2 DESC LIMIT 3;
UPDATE t SET v = randomblob(100) WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*) FROM t a JOIN t b ON a.id = b.id + 1 WHERE a.n < 50000;
