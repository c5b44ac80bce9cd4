"""Python get/put per second: shmkv against the stores a Python program on
one host would otherwise share data through, each driven by the same loop.

    bash bench/peers/python_bench.sh  (starts memcached and redis-server on
                                      unix sockets, builds the module)

Systems: shmkv (this module); multiprocessing (a Manager().dict(), the
standard library's cross-process dict); pymemcache and redis-py over unix
sockets (if installed); dict, a plain in-process dict (the ceiling: nothing
is shared). Prints one line per system and a JSON line at the end."""

import json
import multiprocessing
import os
import random
import sys
import time

KEYS = int(os.environ.get("PYBENCH_KEYS", "100000"))
OPS = int(os.environ.get("PYBENCH_OPS", "300000"))
VALUE = b"v" * 100


def keys():
    return [b"key:%011d" % i for i in range(KEYS)]  # 16 bytes


def run(name, get, put):
    ks = keys()
    for k in ks:
        put(k, VALUE)
    order = [ks[i] for i in random.Random(1).choices(range(KEYS), k=OPS)]
    start = time.perf_counter()
    for k in order:
        get(k)
    gets = OPS / (time.perf_counter() - start)
    start = time.perf_counter()
    for k in order:
        put(k, VALUE)
    puts = OPS / (time.perf_counter() - start)
    print("%-16s %12.0f get/s %12.0f put/s" % (name, gets, puts), flush=True)
    return {"system": name, "get_per_s": round(gets), "put_per_s": round(puts)}


def main():
    results = []
    import shmkv
    key = int(os.environ.get("PYBENCH_STORE_KEY", "0x6b700001"), 0)
    with shmkv.Store(key=key, create=True, capacity="64MiB", items=KEYS * 2) as s:
        results.append(run("shmkv", s.get, s.put))
    shmkv.destroy(key=key)

    with multiprocessing.Manager() as manager:
        d = manager.dict()
        results.append(run("multiprocessing", d.get, d.__setitem__))

    memcached_socket = os.environ.get("PYBENCH_MEMCACHED")
    if memcached_socket:
        try:
            from pymemcache.client.base import Client
            c = Client(memcached_socket, default_noreply=False)  # a path: a unix socket
            results.append(run("pymemcache", c.get, c.set))
        except ImportError:
            print("pymemcache: not installed (python3-pymemcache)", file=sys.stderr)
    redis_socket = os.environ.get("PYBENCH_REDIS")
    if redis_socket:
        try:
            import redis
            r = redis.Redis(unix_socket_path=redis_socket)
            results.append(run("redis-py", r.get, r.set))
        except ImportError:
            print("redis-py: not installed (python3-redis)", file=sys.stderr)

    d = {}
    results.append(run("dict", d.get, d.__setitem__))
    print(json.dumps({"bench": "python", "keys": KEYS, "ops": OPS, "value_bytes": len(VALUE),
                      "results": results}))


if __name__ == "__main__":
    main()
