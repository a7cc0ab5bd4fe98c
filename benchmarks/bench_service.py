"""Load benchmark of the HTTP service: a real load generator against ``jobbridge serve``
on loopback.

Steps, all in one run:

1. a database of ``--workers`` workers and ``--jobs`` jobs is built with ``jobbridge load-demo``
   (skipped with ``--reuse`` when the folder already holds one), and an admin key is created;
2. ``jobbridge serve`` starts gunicorn (``--server-workers`` processes × ``--threads`` threads);
   every process is warmed up (its engine is fitted on the database on first use);
3. the in-process baseline: the same engine, built the way the service builds it, answers
   ``recommend_jobs(worker_id, k=10)`` for random workers in this process (one thread and one
   BLAS thread, i.e. one core; timed once the server is warm and idle) — the service's
   throughput on two cores is printed as a ratio to it;
4. ``--seconds`` of ``GET /api/v1/workers/{id}/matches?limit=10`` from ``--concurrency`` client
   threads (``http.client``, one keep-alive connection each), random worker ids;
5. ``--seconds`` of mixed load: 80 % matches, 15 % reads (a job or a worker), 5 % writes
   (``PATCH /jobs/{id}`` with the ``If-Match`` of a preceding read).

It prints requests/s, p50/p95/p99 latency and error counts per phase and checks the target of
issue 4 (≥ 200 req/s, p99 ≤ 100 ms, zero errors). The issue's scale is the default
(1,000,000 workers, 125,000 jobs posted of which about 100,000 are open: the demo world fills or
closes a fifth); ``--workers/--jobs/--seconds`` run it smaller.

Run: ``.venv/bin/python benchmarks/bench_service.py --workers 20000 --jobs 3000 --seconds 20``.

Last full run (2026-11-26, this 2-core machine otherwise quiet; trained model; SQLite;
1,000,000 workers and 99,837 open jobs; gunicorn 2×4, 8 client threads on the same cores;
each process fitted its engine in about 2 minutes)::

    in-process recommend_jobs(k=10), one core: 5.50 ms/call = 181.8 calls/s
    matches only   265.8 req/s, p50 27.8 ms, p99 65.4 ms, 0 errors  (ratio 1.46)
    mixed 80/15/5  240.6 req/s, p50 31.4 ms, p99 80.7 ms, 0 errors  (ratio 1.32)
                   matches p99 78.1 ms, reads p99 37.3 ms, writes p99 98.4 ms

Two more runs of the final code on the same database measured matches 239.7 and 224.4 req/s
(p99 73.9 and 80.1 ms) and mixed 230.7 and 206.7 req/s (p99 94.1 and 98.1 ms), no errors; the
in-process baseline moved between 5.29 and 5.70 ms/call over the same runs, so the machine's
speed varies too. The margin on the mixed p99 is thin. Each gunicorn process peaked at about
5.5 GB RSS (its own engine fitted on the full database).

Run of 2026-12-02 after the snapshot-backed index's regression was found and fixed (scipy
copying the whole TF-IDF table on each query, text columns decoded row by row through
np.memmap: see ``bench_snapshot.py``'s match latency), at 200,000 workers and 99,837 open jobs,
``--seconds 30``, untrained char n-gram engine, on a 2-core machine shared with five other
helpers (load average 9-13 during the runs, i.e. the two cores five times oversubscribed)::

    SQLite      in-process 18.24 ms/call = 54.8 calls/s
                matches 48.1 req/s, p50 77.8 ms, p99 547 ms, 0 errors
                mixed   61.9 req/s, p50 87.4 ms, p99 505 ms, 0 errors
    PostgreSQL  in-process 34.94 ms/call = 28.6 calls/s
                matches 39.5 req/s, p50 149 ms, p99 850 ms, 0 errors
                mixed   53.4 req/s, p50 120 ms, p99 459 ms, 0 errors

The target is not met on that machine: the in-process engine alone, on one core, answered
29-55 calls/s, and the service on both cores kept its ratio to it (0.9-1.9). The session before
measured 25.9 req/s (p99 851 ms) at only 50,000 workers, with the in-process call at ~70 ms.

Runs of 2026-12-02 evening at the issue's scale (1,000,000 workers, 99,837 open jobs; base model
with no ranker, the snapshot-backed index with crowding prices, 60 s phases, gunicorn 2×4, the
machine otherwise idle; ``--reuse`` of databases built by ``load-demo`` and ``index build``)::

    SQLite      serve → first match answered 2.4 s
                in-process 6.61 ms/call = 151.3 calls/s
                matches 211.5 req/s, p50 44.1 ms, p99 92.1 ms, 0 errors   MET
                mixed   221.6 req/s, p50 36.3 ms, p99 83.0 ms, 0 errors   MET
    PostgreSQL  serve → first match answered 2.2 s
                in-process 6.02 ms/call = 166.1 calls/s
                matches 195.7 req/s, p50 40.0 ms, p99 65.4 ms, 0 errors   not met
                mixed   178.5 req/s, p50 40.2 ms, p99 117.4 ms, 0 errors  not met

Later PostgreSQL runs on the same database, one after another, gave less each time: matches
184.2, 174.6, 149.1, 170.0 req/s, mixed 185.6, 95.3, 161.1, 165.2 req/s (p99 117-140 ms), while
the in-process figure stayed at 5.8-6.6 ms/call; each run leaves ~550 more job writes in the
change table and the overlay, and the cause was not found. PostgreSQL's own server shares the
two cores: each match costs two round trips of its own (the caller's scope and the change
feed's newest id), each with a pool checkout (ping, BEGIN, ROLLBACK).

Runs of 2026-12-03 00:07-00:33 on new databases of the same scale, after the engine's CPU per
call fell by about a fifth (masked rows excluded without branches, certificate rules as bits,
single-row gathers) and a match's feed check moved onto the request's own connection
(in-process 4.6-5.0 ms/call on PostgreSQL, p50 4.4-4.9 ms, p99 7.8-12.7 ms over 1,000 calls;
SQLite 5.5-5.8 ms, p99 11.6-16.3 ms), machine otherwise idle, gunicorn 2×4::

    SQLite      run 1   matches 229.3 req/s, p99 70.4 ms   mixed 227.3 req/s, p99 83.5 ms   MET
                run 2   matches 209.2 req/s, p99 84.4 ms   mixed 213.8 req/s, p99 94.4 ms   MET
    PostgreSQL  run 1   matches 208.1 req/s, p99 72.3 ms   mixed 201.2 req/s, p99 108.6 ms
                run 2   matches 195.1 req/s, p99 80.7 ms   mixed 184.8 req/s, p99 120.8 ms
                run 3   matches 181.5 req/s, p99 94.3 ms   mixed 161.3 req/s, p99 125.7 ms
                run 4   matches 191.8 req/s, p99 88.2 ms   mixed 195.5 req/s, p99 114.4 ms
                run 5   matches 227.0 req/s, p99 67.0 ms   mixed 204.7 req/s, p99 107.8 ms

PostgreSQL: matches met in 2 of 5 runs, mixed in none (median 195.1 and 195.5 req/s). Run 3
followed a ``VACUUM ANALYZE`` (autovacuum is off on this machine's server) and run 4 a new
index snapshot (no overlay to replay): neither brought the figure back, and run 5, minutes
later with nothing changed, was the best, so the run-to-run spread is the machine's, not
state left by earlier runs. Sampled during run 5's matches phase, the gunicorn processes used
1.72 of the 2 cores (7.6 ms of CPU per request, of which the engine's call is ~4.8 ms),
PostgreSQL 0.14 and the load generator 0.06. In the mixed phase each job write costs its
process ~9 ms and every other process ~5 ms to apply (pandas preparation of one row, its
re-read, encoding), under the engine lock; that is where the mixed p99 goes. Also tried:
gunicorn 4×2 (192.2 / 172.7 req/s, each write applied by four processes) and 2×2 (222.7 /
199.0 req/s, p99 66.2 / 98.6 ms).

Runs of 2026-12-03 06:25-06:44 on new databases of the same scale, A/B against the commit
before a match's reads went autocommit on PostgreSQL (no BEGIN/ROLLBACK round trips: the
database part of a match 1.26 -> 0.70 ms in a loop of 1,000), alternating, 4 rounds each,
gunicorn 2×4. "After" also held a split of the feed sync (a batch's rows read outside the
engine lock), reverted since. The machine was about a third slower than in the runs above
(in-process call 6.3-9.9 ms against 4.6-5.0 ms), so no run reached the target and only the
comparison says anything::

    PostgreSQL  before   matches 151.4 142.7 147.2 164.9 req/s (median 149.3)
                         mixed   141.2 137.0 146.0 127.8 req/s (median 139.1)
                after    matches 155.9 155.0 145.9 143.5 req/s (median 150.5)
                         mixed   134.1 131.5 136.2 127.4 req/s (median 132.8)

Within the machine's noise: matches no faster, mixed perhaps lower, so the split was
reverted; the autocommit reads were kept (fewer round trips, and PostgreSQL's own CPU shares
the two cores). 0 errors in every run.

Runs of 2026-12-03 09:50-09:57 on a database of the same scale (base model with the name
coder, built before the trained coder shipped; machine otherwise idle), one run each: the
machine was twice as slow as at 00:07 (in-process call 10.2 and 8.4 ms against 4.6-5.0)::

    PostgreSQL  2×4   matches 127.4 req/s, p99 143.6 ms   mixed 114.7 req/s, p99 185.7 ms
                2×2   matches 123.7 req/s, p99 166.8 ms   mixed 121.9 req/s, p99 153.8 ms

Where a request's CPU goes on that machine (in-process, Flask test client, 1,000 random
workers): 12.7-14.2 ms per request, of which the engine's call is 8.6-9.7 ms; with the
engine's answer stubbed out, everything else (routing, key cache, the two statements, JSON)
is 1.3 ms. Inside the engine: retrieval 4.5-6.5 ms (the 64-dimension coarse scan 2.0, the
lexical posting lists 0.75, the two top-k cuts 0.7, the exact scores of the shortlist 0.55,
the rule mask 0.35-0.5), pair features and reasons 2.4, the main-trade clause encoded 1.4,
the first stage 0.7. A FAISS index in place of the coarse scan (``bench_faiss.py``) took
0.87 of its time with the 8-bit scan and 0.62 with HNSW, at lower recall; skipping
scikit-learn's parameter validation saved 2 % (8.82 -> 8.62 ms, median of 4). So the figure
follows the machine's speed: 200 req/s needs an engine call near 5 ms, which the faster
machine gave and this one did not.

Runs of 2026-12-03 11:53-12:35 on new databases of the same scale (base model with the
shipped trained coder; 60 s phases unless said; gunicorn 2×4; in-process call 7.4-9.4 ms, so
again a slow machine)::

    PostgreSQL  before        matches 162.3 req/s, p99 105.7 ms   mixed 160.8 req/s, p99 138.8 ms
                A/B, 30 s     before matches 141.1 129.1   mixed 134.5 107.0 req/s
                              after  matches 144.8 149.4   mixed 153.0 116.1 req/s
                after         matches 137.5 req/s, p99 167.5 ms   mixed 132.2 req/s, p99 183.4 ms
                after         matches 161.3 req/s, p99  81.2 ms   mixed 149.8 req/s, p99 153.4 ms
                after         matches 139.6 req/s, p99 107.6 ms   mixed 129.9 req/s, p99 158.4 ms

"After" is the main-trade clause's vectors memoised per process and pooled connections pinged
only after sitting idle a second (one round trip less per request); in one process the call
fell from 8.69 to 7.89 ms (A/B, medians of five blocks of 400 calls) while the memo filled (on
the demo world the 4,096 commonest clauses are 93 % of the workers who wrote one; a real
register repeats less). The runs move with the machine by ±15 %, more than the change. Where
today's in-process call goes (400 random workers, medians): the coarse 64-dimension scan 1.35
ms, the lexical posting lists 0.61, the top-k cuts 0.43, the shortlist's exact scores 0.34,
the rule mask 0.22, the first stage 0.38, the clause 0.56 (its mean 1.43 ms while the memo
fills), features, ranker and reasons of the 100 candidates 1.25. A coarse copy of 32 or 48
dimensions instead of 64 took 6.46 / 7.31 ms against 8.17 ms, with recall@10 against exact
search 0.903 / 0.942 against 0.958: not taken. A job write costs each process 3.0 ms to re-read
and 6.9 ms to apply (pandas preparation of one row, encoding), under the engine lock: the mixed
p99 is there.

Runs of 2026-12-03 13:50-14:50 on a new database of the same scale (PostgreSQL, gunicorn
2×4; in-process call 7.9-10.0 ms). Each phase now also prints the CPU one request costs the
server processes, read from ``/proc``: req/s moved from 77 to 149 within the hour for the same
commit (the first run, on a cold database and page cache, gave 76.7 / 82.2), while the CPU per
request stayed within 12-14 ms. A/B, 30 s phases, alternating, against the session's first
commit (24a60a5; "new" has the coder's cached transposes, numpy-column prepared tables, the
repeated-row read of object columns and the Core-connection checks)::

    PostgreSQL  old  matches 142.6 130.4 req/s, CPU 12.42 13.58 ms/request
                     mixed   120.1 132.3 req/s, CPU 14.00 12.85 ms/request
                new  matches 144.7 136.4 req/s, CPU 12.43 13.02 ms/request
                     mixed   122.2 129.5 req/s, CPU 13.66 13.13 ms/request

Within the noise: the changes cut the in-process call by about 4 % (8.28 -> 7.93 ms, A/B in
one process) and a worker write's apply by 5× (26 -> 4-5 ms, in every process), but a match
request's CPU is 12-13 ms on this machine, and 200 req/s on two cores needs about 9.5. The
server processes use 1.77 of the 2 cores (PostgreSQL 0.56 ms a request, the machine 2-3 %
idle). Where a server process holds the GIL (py-spy ``--gil``, 25 s of the matches phase): the
engine's call 55 % (pair features and reasons 24 %, object-column reads 12 % before the fix,
retrieval outside BLAS 9 %, the main-trade clause 8 %), the two statements 19 %, Flask,
routing and gunicorn the rest; the coarse scan runs in BLAS without the GIL.

Runs of 2026-12-03 18:20-18:30 on a new database of the same scale (PostgreSQL, gunicorn 2×4,
30 s phases), after a worker's matches read the caller's scope in the feed check's own
statement (one round trip instead of two; in one process, Flask test client, 1,500 requests:
9.32 / 9.06 / 9.13 -> 8.87 / 8.73 / 8.37 ms of CPU a request, alternating). The machine was
fast again (in-process call 6.4-6.9 ms); one run each, new first::

    PostgreSQL  new  matches 178.4 req/s, p99 103.7 ms, CPU  9.90 ms/request
                     mixed   178.1 req/s, p99 110.6 ms, CPU  9.70 ms/request
                old  matches 186.9 req/s, p99  58.3 ms, CPU  9.78 ms/request
                     mixed   187.6 req/s, p99 111.6 ms, CPU  9.27 ms/request

The service-level difference is inside one run's noise; the target is not met.

Threads per process (2026-12-03 evening on a slow machine, in-process call 6.5-8.6 ms, and
2026-12-04 18:10-19:20 on a fast one, 4.4-7.2 ms; PostgreSQL, a new database of the same scale,
base model, 30 s phases, two processes; matches-only then mixed, req/s / p99 ms)::

    12-03  2×4  139.8 / 128.1   127.3 / 158.7     162.1 /  93.9   156.6 / 137.6
           2×2  182.0 /  84.7   164.1 /  95.6
           2×1  186.0 /  56.8   170.8 /  75.0     160.3 /  72.5   147.6 /  95.3
           3×1  145.5 /  85.1   123.9 / 124.9     (4×1: 137.4 / 96.9   123.7 / 130.3)
    12-04  2×4  217.3 /  68.9   148.7 / 152.8     200.1 /  87.9   168.8 / 122.6
                184.1 /  70.4   157.0 / 134.1
           2×2  202.8 /  83.8   100.9 / 122.8     179.7 /  70.2   164.2 / 101.8
           2×1  221.6 /  59.3   202.3 /  68.1     167.2 /  68.0   147.9 /  87.5
                176.6 /  72.4   166.8 /  77.3
    12-04  SQLite (a new database, load-demo 34 s; in-process call 7.2-7.3 ms, stolen 3-6 %)
           2×4  159.2 / 127.9   148.1 / 139.2
           2×1  177.9 /  65.2   207.5 /  62.2

Throughput differs within noise; the p99 of the mixed load is lower with one thread per process
in every pair (68-95 ms against 123-159 ms with four), and one 2×1 run met the whole target
(221.6 and 202.3 req/s, p99 59.3 and 68.1 ms). The likely cause of the tail with four threads,
not measured directly, is the threads of a process taking turns on the GIL between the database
round trips and the engine; a shorter GIL switch interval (``sys.setswitchinterval`` 1 ms / 0.5
ms in each process, 2×4) did not help: mixed p99 116.9 / 145.2 / 147.4 ms. More processes are
worse (every write is applied by each one). ``jobbridge serve`` keeps four threads by default
all the same: with one thread a process is gunicorn's ``sync`` worker, which one slow client (an
upload from a phone in a village, ``/workers/import`` runs in the request) holds for as long as
it sends; ``--threads 1`` suits a deployment behind a buffering proxy (nginx), see the README.

A first-come engine lock (2026-12-04 21:54-22:23, PostgreSQL, same scale, 2×4, slow machine:
in-process call 7.1-12.8 ms): the engine's ``threading.RLock`` against a reentrant lock handed
to its waiters in arrival order, six rounds alternating (order swapped after three), matches-only
then mixed, req/s / p99 ms (max ms of matches-only)::

    RLock      145.8 /  95.6 (196)  154.5 / 143.3     116.3 / 127.7 (220)  132.6 / 152.0
               117.9 / 135.2 (263)  101.8 / 186.2     154.0 / 106.3 (233)  153.3 / 136.7
               127.0 / 115.9 (257)  120.4 / 153.5      99.6 / 164.3 (355)   88.9 / 214.6
    first-come 145.2 / 116.8 (213)  144.4 / 123.2     165.1 /  79.1 (108)  143.8 / 120.9
               124.0 /  96.2 (136)  122.1 / 185.3     113.4 / 165.5 (263)  119.5 / 166.1
               146.5 /  91.9 (125)  127.0 / 133.5     116.4 / 120.1 (154)   98.7 / 209.6

Medians: matches 122.5 -> 134.6 req/s, p99 121.8 -> 106.5 ms, worst request 245 -> 145 ms;
mixed 126.5 -> 124.6 req/s, p99 152.8 -> 149.8 ms. The worst waits shrink, the mixed tail (the
target) does not move, so the plain ``RLock`` stays: a hand-made lock is not worth keeping for
a change inside the machine's noise.

Runs of 2026-12-06 01:10-01:20 on new databases of the issue's scale (1,000,000 workers,
99,837 open jobs, base model, crowding prices; built by ``load-demo``, ``init-db`` and
``index build``), the code of main at 04597f9, gunicorn 2×4 (the default), 30 s phases,
SQLite and PostgreSQL alternating, the machine otherwise idle and fast (in-process call
4.43-5.07 ms), req/s / p99 ms::

    SQLite      matches 281.7 / 44.8  282.2 / 59.0  295.2 / 49.4                median 282.2 / 49.4
                mixed   268.6 / 71.9  274.7 / 76.1  280.5 / 68.4                median 274.7 / 71.9
    PostgreSQL  matches 276.3 / 58.9  242.0 / 66.3  256.4 / 56.1  260.1 / 53.3  median 258.3 / 57.5
                mixed   229.0 / 92.6  218.3 / 83.8  229.5 / 82.9  222.6 / 84.1  median 225.8 / 84.0

Every run met the target, with 0 errors (the worst single request 331 ms, in a mixed phase on
PostgreSQL). The server processes spent 6.4-7.9 ms of CPU a request (PostgreSQL 0.3-0.7 ms
more), against 9.5-14 ms on the slow machines above: the same code misses the target there.
On this machine a job write cost a process 1.3 ms to re-read and 2.7 ms to apply (in one
process, 100 writes). One more PostgreSQL run right after, with the default 60 s phases
(in-process call 5.52 ms): matches 249.9 req/s, p99 63.1 ms; mixed 209.6 req/s, p99 91.8 ms,
0 errors: met.

Earlier runs: 67 req/s (p99 270 ms) at only 50,000 workers while every process let BLAS spin
two threads; at full scale, before the firm names came from the engine and the top-k used a
sampled threshold, 203 and 201 req/s (p99 72 and 95 ms). Each step is in the git log.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
JOBBRIDGE = str(Path(sys.executable).with_name("jobbridge"))
TARGET_RPS, TARGET_P99_MS = 200.0, 100.0


def run(cmd: list[str], env: dict[str, str], **kwargs) -> str:
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, **kwargs)
    print(f"  $ {' '.join(cmd[1:])}  ({time.perf_counter() - started:.1f} s)", flush=True)
    return out.stdout


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class Client:
    """One keep-alive connection; ``request`` returns (status, body bytes, headers)."""

    def __init__(self, port: int, token: str, timeout: float = 60) -> None:
        self.port = port
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ):
        h = dict(self.headers, **(headers or {}))
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=h)
            resp = self.conn.getresponse()
            return resp.status, resp.read(), resp.headers
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            raise


def wait_ready(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the service on port {port} did not answer /healthz within {timeout:.0f} s")


def first_answer(port: int, token: str, worker_id: int, timeout: float) -> float:
    """When (``perf_counter``) the service first answers a worker's matches with 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client = Client(port, token, timeout=timeout)
        try:
            status, body, _ = client.request("GET", f"/api/v1/workers/{worker_id}/matches?limit=10")
        except (http.client.HTTPException, OSError):
            time.sleep(0.05)
            continue
        finally:
            client.conn.close()
        if status == 200:
            return time.perf_counter()
        raise SystemExit(f"first match request failed: {status} {body[:200]!r}")
    raise SystemExit(f"no match answered within {timeout:.0f} s")


def warm_up(port: int, token: str, worker_ids: list[int], n_clients: int, timeout: float) -> float:
    """Send match requests until every client has seen 10 quick answers in a row: each gunicorn
    process fits its engine on its first match request. Every request opens a new connection,
    so that the kernel spreads them over all processes (a kept-alive connection would stay with
    one and leave another to fit during the measurement)."""
    started = time.perf_counter()
    errors: list[str] = []

    def one() -> None:
        fast = 0
        deadline = time.monotonic() + timeout
        while fast < 10 and time.monotonic() < deadline:
            # The first answer of a process waits for its fit: as long as the warm-up may take.
            client = Client(port, token, timeout=timeout)
            t = time.perf_counter()
            try:
                status, body, _ = client.request(
                    "GET", f"/api/v1/workers/{random.choice(worker_ids)}/matches?limit=10"
                )
            except (http.client.HTTPException, OSError):
                fast = 0
                continue
            finally:
                client.conn.close()
            if status != 200:
                errors.append(f"{status} {body[:200]!r}")
                return
            fast = fast + 1 if time.perf_counter() - t < 0.5 else 0

    threads = [threading.Thread(target=one) for _ in range(n_clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise SystemExit(f"warm-up failed: {errors[0]}")
    return time.perf_counter() - started


def load(
    port: int,
    token: str,
    seconds: float,
    concurrency: int,
    worker_ids: list[int],
    job_ids: list[int],
    mix: tuple[float, float, float],
) -> dict:
    """Run the load for ``seconds``; ``mix`` = shares of (matches, reads, writes)."""
    stop = time.monotonic() + seconds
    results: dict[str, list[float]] = {"matches": [], "reads": [], "writes": []}
    errors: dict[str, int] = {}
    conflicts = [0]
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        client = Client(port, token)
        local: dict[str, list[float]] = {"matches": [], "reads": [], "writes": []}
        local_err: dict[str, int] = {}
        while time.monotonic() < stop:
            x = rng.random()
            try:
                if x < mix[0]:
                    kind = "matches"
                    t = time.perf_counter()
                    status, _, _ = client.request(
                        "GET", f"/api/v1/workers/{rng.choice(worker_ids)}/matches?limit=10"
                    )
                    ok = status == 200
                elif x < mix[0] + mix[1]:
                    kind = "reads"
                    path = (
                        f"/api/v1/jobs/{rng.choice(job_ids)}"
                        if rng.random() < 0.5
                        else f"/api/v1/workers/{rng.choice(worker_ids)}"
                    )
                    t = time.perf_counter()
                    status, _, _ = client.request("GET", path)
                    ok = status == 200
                else:
                    kind = "writes"
                    job = rng.choice(job_ids)
                    status, body, headers = client.request("GET", f"/api/v1/jobs/{job}")
                    if status != 200:
                        local_err[f"writes-read {status}"] = (
                            local_err.get(f"writes-read {status}", 0) + 1
                        )
                        continue
                    headcount = json.loads(body)["headcount"]
                    t = time.perf_counter()
                    status, _, _ = client.request(
                        "PATCH",
                        f"/api/v1/jobs/{job}",
                        {"headcount": headcount + (1 if headcount < 500 else -1)},
                        {"If-Match": headers["ETag"]},
                    )
                    if status == 412:  # another client wrote first: the lost update was refused
                        conflicts[0] += 1
                        continue
                    ok = status == 200
            except (http.client.HTTPException, OSError) as exc:
                local_err[type(exc).__name__] = local_err.get(type(exc).__name__, 0) + 1
                continue
            elapsed = time.perf_counter() - t
            if ok:
                local[kind].append(elapsed)
            else:
                local_err[f"{kind} {status}"] = local_err.get(f"{kind} {status}", 0) + 1
        with lock:
            for k, v in local.items():
                results[k].extend(v)
            for k, v in local_err.items():
                errors[k] = errors.get(k, 0) + v

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - started
    every = [x for v in results.values() for x in v]
    return {
        "seconds": wall,
        "requests": len(every),
        "rps": len(every) / wall,
        "p50_ms": percentile(every, 50) * 1000,
        "p95_ms": percentile(every, 95) * 1000,
        "p99_ms": percentile(every, 99) * 1000,
        "max_ms": max(every, default=float("nan")) * 1000,
        "errors": errors,
        "conflicts_412": conflicts[0],
        "by_kind": {
            k: {"n": len(v), "p99_ms": percentile(v, 99) * 1000} for k, v in results.items() if v
        },
    }


def fit_in_process(env: dict[str, str]):
    """The engine the service serves, built the same way (``create_app`` + the service's
    load), in this process: (engine, model version, seconds to fit)."""
    for key, value in env.items():
        if key.startswith("JOBBRIDGE_"):
            os.environ[key] = value
    from api import create_app
    from api.service import get_matching

    app = create_app()
    with app.app_context():
        matching = get_matching()
        t = time.perf_counter()
        matching.load()
        return matching.engine, matching.model_version, time.perf_counter() - t


def time_in_process(engine, worker_ids: list[int], calls: int) -> dict:
    """``recommend_jobs(worker_id, k=10)`` called directly on one core (one thread, BLAS held
    to one thread as ``jobbridge serve`` holds it), random workers."""
    from threadpoolctl import threadpool_limits

    rng = random.Random(1)
    sample = [rng.choice(worker_ids) for _ in range(calls)]
    with threadpool_limits(limits=1):
        engine.recommend_jobs(sample[0], k=10)
        times = []
        for wid in sample:
            t = time.perf_counter()
            engine.recommend_jobs(wid, k=10)
            times.append(time.perf_counter() - t)
    per_call = sum(times) / calls
    return {
        "calls_per_s": 1 / per_call,
        "ms_per_call": per_call * 1000,
        "p50_ms": percentile(times, 50) * 1000,
        "p99_ms": percentile(times, 99) * 1000,
    }


def cpu_snapshot(server_group: int) -> dict[str, float] | None:
    """CPU seconds (user + system) used so far by the server's processes (its process group),
    by PostgreSQL's processes, and the machine's busy, idle and stolen time (``/proc``; None
    where there is no ``/proc``)."""
    if not os.path.exists("/proc/stat"):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    out = {"server": 0.0, "postgres": 0.0}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                raw = fh.read()
        except OSError:  # gone meanwhile
            continue
        name, fields = raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if int(fields[2]) == server_group:
            out["server"] += used
        elif name.startswith("postgres"):
            out["postgres"] += used
    with open("/proc/stat") as fh:
        cpu = [int(x) / tick for x in fh.readline().split()[1:9]]
    out["idle"] = cpu[3] + cpu[4]
    out["steal"] = cpu[7]
    out["all"] = sum(cpu)
    return out


def cpu_used(before: dict[str, float] | None, server_group: int) -> dict[str, float] | None:
    """What :func:`cpu_snapshot` counted since ``before``."""
    after = cpu_snapshot(server_group)
    if before is None or after is None:
        return None
    return {k: after[k] - before[k] for k in after}


def report(name: str, r: dict, baseline: dict) -> bool:
    ok = r["rps"] >= TARGET_RPS and r["p99_ms"] <= TARGET_P99_MS and not r["errors"]
    print(
        f"\n[{name}] {r['requests']} requests in {r['seconds']:.1f} s = {r['rps']:.1f} req/s; "
        f"latency p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
        f"p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.0f} ms; "
        f"errors {r['errors'] or 0}; 412 refused lost updates {r['conflicts_412']}"
    )
    for kind, v in r["by_kind"].items():
        print(f"    {kind:8s} n={v['n']:6d}  p99 {v['p99_ms']:.1f} ms")
    cpu = r.get("cpu")
    if cpu and r["requests"]:
        # The figure that moves least with a noisy machine: what one request costs.
        per = 1000 / r["requests"]
        print(
            f"    CPU per request: server processes {cpu['server'] * per:.2f} ms "
            f"({cpu['server'] / r['seconds']:.2f} cores), "
            f"PostgreSQL {cpu['postgres'] * per:.2f} ms; "
            f"machine idle {cpu['idle'] / cpu['all']:.0%}, stolen {cpu['steal'] / cpu['all']:.0%}"
        )
    print(
        f"    service / in-process engine throughput = {r['rps']:.1f} / "
        f"{baseline['calls_per_s']:.1f} "
        f"= {r['rps'] / baseline['calls_per_s']:.2f}"
    )
    print(
        f"    target ≥ {TARGET_RPS:.0f} req/s, p99 ≤ {TARGET_P99_MS:.0f} ms, 0 errors: "
        f"{'MET' if ok else 'NOT MET'}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=1_000_000, help="workers in the database")
    p.add_argument(
        "--jobs",
        type=int,
        default=125_000,
        help="jobs posted; the demo world keeps 80 %% of them open, so the default gives the "
        "issue's 100,000 open jobs",
    )
    p.add_argument("--seconds", type=float, default=60.0, help="length of each load phase")
    p.add_argument("--concurrency", type=int, default=8, help="client threads")
    p.add_argument("--server-workers", type=int, default=2, help="gunicorn processes")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn process")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--dir", type=Path, default=None, help="folder of the database (kept; temporary if omitted)"
    )
    p.add_argument("--reuse", action="store_true", help="reuse the database already in --dir")
    p.add_argument(
        "--database-url",
        default=None,
        help="an empty database to load the demo world into (default: SQLite in --dir); "
        "with --reuse, one loaded by an earlier run",
    )
    p.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="serve the trained models of this folder (default: an empty one, i.e. the "
        "untrained char n-gram engine without ranker)",
    )
    p.add_argument("--baseline-calls", type=int, default=200)
    p.add_argument("--warmup-timeout", type=float, default=1800.0)
    args = p.parse_args(argv)

    folder = args.dir or Path(tempfile.mkdtemp(prefix="jobbridge-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.db"
    env = dict(os.environ)
    env.update(
        {
            "JOBBRIDGE_DATABASE_URL": args.database_url or f"sqlite:///{db}",
            "JOBBRIDGE_INSTANCE_DIR": str(folder / "instance"),
            "JOBBRIDGE_MODELS_DIR": str(args.models_dir or folder / "models"),
        }
    )
    print(
        f"jobbridge service benchmark: {args.workers} workers, {args.jobs} jobs, "
        f"{args.seconds:.0f} s per "
        f"phase, {args.concurrency} client threads, "
        f"gunicorn {args.server_workers}×{args.threads}; data in {folder}"
    )
    load_demo = [
        JOBBRIDGE,
        "load-demo",
        "--workers",
        str(args.workers),
        "--jobs",
        str(args.jobs),
        "--quiet",
    ]
    if args.database_url and not args.reuse:
        run(load_demo, env)
    elif not args.database_url and not (args.reuse and db.exists()):
        if db.exists():
            db.unlink()
        run(load_demo, env)
    # The base model (built once, when the models folder holds no version): the in-process
    # engine below loads it, as `jobbridge serve` would after building it itself.
    run([JOBBRIDGE, "init-db"], env)
    token = (
        run(
            [JOBBRIDGE, "keys", "create", "--role", "admin", "--name", f"bench-{time.time():.0f}"],
            env,
        )
        .strip()
        .split()[-1]
    )

    from sqlalchemy import create_engine, text

    engine = create_engine(env["JOBBRIDGE_DATABASE_URL"])
    with engine.connect() as c:
        worker_ids = [r[0] for r in c.execute(text("SELECT id FROM workers"))]
        job_ids = [r[0] for r in c.execute(text("SELECT id FROM jobs WHERE status = 'open'"))]
    engine.dispose()
    print(f"  {len(worker_ids)} workers, {len(job_ids)} open jobs in the database")

    print("in-process engine (fitted the way the service fits it):", flush=True)
    engine, model_version, fit_s = fit_in_process(env)
    print(f"  model {model_version}: fit {fit_s:.1f} s", flush=True)

    started = time.perf_counter()
    server = subprocess.Popen(
        [
            JOBBRIDGE,
            "serve",
            "--port",
            str(args.port),
            "--workers",
            str(args.server_workers),
            "--threads",
            str(args.threads),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "serve.log", "w"),
        start_new_session=True,
    )
    try:
        wait_ready(args.port, args.warmup_timeout)  # preloading processes answer after their fit
        healthy = time.perf_counter()
        first = first_answer(args.port, token, worker_ids[0], args.warmup_timeout)
        print(
            f"  serve started → /healthz after {healthy - started:.1f} s, first match answered "
            f"after {first - started:.1f} s",
            flush=True,
        )
        warm = warm_up(
            args.port,
            token,
            worker_ids,
            args.server_workers * args.threads * 2,
            args.warmup_timeout,
        )
        print(f"  server warm (every process fitted its engine) after {warm:.1f} s", flush=True)
        # Timed now, with the server idle, so that both figures see the same machine.
        baseline = time_in_process(engine, worker_ids, args.baseline_calls)
        print(
            f"  in-process recommend_jobs(k=10): {baseline['ms_per_call']:.2f} ms/call = "
            f"{baseline['calls_per_s']:.1f} calls/s (one thread); "
            f"p50 {baseline['p50_ms']:.2f} ms, p99 {baseline['p99_ms']:.2f} ms",
            flush=True,
        )
        before = cpu_snapshot(server.pid)
        matches = load(
            args.port, token, args.seconds, args.concurrency, worker_ids, job_ids, (1.0, 0.0, 0.0)
        )
        matches["cpu"] = cpu_used(before, server.pid)
        ok1 = report("matches only", matches, baseline)
        before = cpu_snapshot(server.pid)
        mixed = load(
            args.port,
            token,
            args.seconds,
            args.concurrency,
            worker_ids,
            job_ids,
            (0.80, 0.15, 0.05),
        )
        mixed["cpu"] = cpu_used(before, server.pid)
        ok2 = report("mixed 80/15/5", mixed, baseline)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    if args.dir is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
