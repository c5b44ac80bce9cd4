"""Worker processes sharing one cache: each asks for the same expensive
results; across all workers (and any C++ process on the host using the same
store) each result is computed once.

    PYTHONPATH=<dir with the shmkv module> python3 examples/python/workers.py [KEY]
"""

import multiprocessing
import os
import sys
import time

import shmkv

KEY = int(sys.argv[1], 0) if len(sys.argv) > 1 else 0x5F3E0077
REPORTS = 20


def expensive(n):
    time.sleep(0.05)  # stands for a query or a render
    return ("report %d, made by pid %d" % (n, os.getpid())).encode()


def worker(index):
    computed = 0
    with shmkv.Store(key=KEY) as cache:
        for n in range(REPORTS):
            def compute(n=n):
                nonlocal computed
                computed += 1
                return expensive(n)

            cache.get_or_compute(b"report:%d" % n, compute, ttl=300)
            cache.incr(b"requests")
    return computed


def main():
    with shmkv.Store(key=KEY, create=True, capacity="16MiB") as cache:
        cache.flush()
    start = time.monotonic()
    with multiprocessing.Pool(4) as pool:
        computed = pool.map(worker, range(4))
    elapsed = time.monotonic() - start
    with shmkv.Store(key=KEY) as cache:
        print("4 workers asked for %d reports each (%s requests in all) in %.2f s"
              % (REPORTS, cache[b"requests"].decode(), elapsed))
        print("computations per worker: %s (total %d: each report once)"
              % (computed, sum(computed)))
        print(cache[b"report:0"].decode())
    shmkv.destroy(key=KEY)


if __name__ == "__main__":
    main()
