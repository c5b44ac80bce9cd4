"""shmkv.NearCache against a real redis-server (on a unix socket in a
temporary directory) and a real kvsync, both started by each test and
stopped however it ends; stores are shared with kvcli's C++ near cache.

Run by run_python_tests.sh under the IPC guard, which exports the paths of
the helper programs; each test takes its System V key from the guard."""

import base64
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import shmkv
from testenv import HELPER, KVCLI, KVSYNC, new_key, ticks_during


def wait_until(what, condition, timeout=10.0):
    """Polls condition() until it is true; fails naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting until " + what)
        time.sleep(0.002)


def short_tmp():
    # A unix socket path must fit in 108 bytes: Bazel's TEST_TMPDIR may not.
    for base in (os.environ.get("TEST_TMPDIR"), os.environ.get("TMPDIR"), "/tmp"):
        if base and len(base) < 60:
            return base
    return "/tmp"


class NearCacheTest(unittest.TestCase):
    """A store at a guard key, a redis-server and a kvsync tracking p:."""

    def setUp(self):
        self.key = new_key(self.id())
        self.hex = "0x%08x" % self.key
        self.store = shmkv.Store(key=self.key, create=True, capacity="4MiB", max_value=65536)
        self.addCleanup(self.remove_store)
        self.dir = tempfile.mkdtemp(prefix="nearpy.", dir=short_tmp())
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.socket = os.path.join(self.dir, "redis.sock")
        self.redis = "unix:" + self.socket
        self.start_redis()
        self.kvsync = None
        self.start_kvsync()
        self.nc = shmkv.NearCache(self.store, redis=self.redis)
        self.addCleanup(self.nc.close)
        wait_until("kvsync is synced", self.synced)

    def remove_store(self):
        self.store.close()
        try:
            shmkv.destroy(key=self.key)
        except shmkv.Error:
            pass
        subprocess.run([HELPER, "remove", self.hex], capture_output=True)

    def start_redis(self):
        with open(os.path.join(self.dir, "redis.log"), "w") as log:
            server = subprocess.Popen(
                ["redis-server", "--port", "0", "--unixsocket", self.socket, "--save", "",
                 "--appendonly", "no", "--dir", self.dir],
                stdout=subprocess.DEVNULL, stderr=log)
        self.addCleanup(self.stop, server)
        self.redis_server = server

        def answers():
            if server.poll() is not None:
                raise AssertionError("redis-server exited: " + self.log("redis.log"))
            return self.cli_run("ping").stdout.strip() == "PONG"

        wait_until("redis-server answers PING", answers)

    def start_kvsync(self):
        log = open(os.path.join(self.dir, "kvsync.log"), "a")
        self.addCleanup(log.close)
        self.kvsync = subprocess.Popen(
            [KVSYNC, "--key=" + self.hex, "--redis=" + self.redis, "--prefix=p:"],
            stdout=subprocess.DEVNULL, stderr=log)
        self.addCleanup(self.stop, self.kvsync)

    @staticmethod
    def stop(process):
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # in case a test stopped it
            process.kill()
        process.wait()

    def log(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    def synced(self):
        state = self.nc.sync_state()
        return state is not None and state["phase"] == "synced" and state["serving"]

    def cli_run(self, *args):
        return subprocess.run(["redis-cli", "-s", self.socket, *args], capture_output=True,
                              text=True)

    def cli(self, *args):
        r = self.cli_run(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def redis_set(self, key, value):
        """SET through redis-cli, then waits until kvsync has applied the
        invalidation it causes, which would otherwise cancel or drop a fill
        that follows."""
        before = self.nc.sync_state()["invalidations"]
        self.cli("set", key, value)
        wait_until("kvsync applies the invalidation of " + key,
                   lambda: self.nc.sync_state()["invalidations"] > before)

    def redis_gets(self):
        """How many GETs Redis has served (INFO commandstats)."""
        for line in self.cli("info", "commandstats").splitlines():
            if line.startswith("cmdstat_get:"):
                return int(line.split("calls=")[1].split(",")[0])
        return 0

    def kvcli_get(self, key):
        r = subprocess.run([KVCLI, "get", "--key=" + self.hex, "--through=" + self.redis, key,
                            "--json"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        d = json.loads(r.stdout)
        return base64.b64decode(d["value_b64"]), d["path"]


class Reads(NearCacheTest):
    def test_fill_then_hit(self):
        self.redis_set("p:a", "one")
        gets = self.redis_gets()
        self.assertEqual(self.nc.get_info(b"p:a"), shmkv.ReadInfo(b"one", "filled", None))
        self.assertEqual(self.store.get(b"p:a"), b"one")  # the fill is in the store
        info = self.nc.get_info("p:a")  # str keys are UTF-8
        self.assertEqual((info.value, info.path, info.reason), (b"one", "hit", None))
        self.assertEqual(self.nc.get(b"p:a"), b"one")
        self.assertEqual(self.redis_gets() - gets, 1)
        self.assertEqual(self.nc.stats(), {"hits": 2, "fills": 1, "shared": 0, "direct": 0,
                                           "redis_reads": 1, "redis_errors": 0,
                                           "wrong_server": 0, "redirects": 0})
        self.redis_set("p:clé", "välue")
        self.assertEqual(self.nc.get("p:clé"), "välue".encode())

    def test_absent_key_is_none_and_not_cached(self):
        self.assertIsNone(self.nc.get(b"p:none"))
        info = self.nc.get_info(b"p:none")
        self.assertIsNone(info.value)
        self.assertEqual(info.path, "direct")
        self.assertIn("absent in Redis", info.reason)
        self.assertIsNone(self.store.get(b"p:none"))
        self.assertEqual(self.nc.stats()["redis_reads"], 2)
        self.assertFalse(self.nc.delete(b"p:none"))

    def test_key_outside_the_prefixes_is_read_directly(self):
        self.cli("set", "q:outside", "x")
        info = self.nc.get_info(b"q:outside")
        self.assertEqual((info.value, info.path), (b"x", "direct"))
        self.assertIn("prefixes", info.reason)
        self.assertIsNone(self.store.get(b"q:outside"))
        health = self.nc.health(b"q:outside")
        self.assertFalse(health["serving"])
        self.assertIn("prefixes", health["reason"])
        self.assertEqual(self.nc.health(b"p:x")["serving"], True)

    def test_sync_state(self):
        state = self.nc.sync_state()
        self.assertEqual(state["phase"], "synced")
        self.assertEqual(state["pid"], self.kvsync.pid)
        self.assertEqual(state["prefixes"], [b"p:"])
        self.assertEqual(state["redis"], self.redis)
        self.assertIsNone(state["reason"])
        self.assertLess(state["heartbeat_age"], 1.0)
        self.assertGreater(state["heartbeat_interval"], 0)
        health = self.nc.health(b"p:k")
        self.assertTrue(health["serving"])
        self.assertLess(health["heartbeat_age"], 1.0)


class AcrossProcesses(NearCacheTest):
    def test_cxx_and_python_share_one_redis_read_per_key(self):
        self.redis_set("p:x", "from redis x")
        self.redis_set("p:y", "from redis y")
        gets = self.redis_gets()
        self.assertEqual(self.nc.get_info(b"p:x").path, "filled")
        self.assertEqual(self.kvcli_get("p:x"), (b"from redis x", "hit"))
        self.assertEqual(self.kvcli_get("p:y"), (b"from redis y", "filled"))
        self.assertEqual(self.nc.get_info(b"p:y"), shmkv.ReadInfo(b"from redis y", "hit", None))
        self.assertEqual(self.redis_gets() - gets, 2)
        stats = self.nc.stats()
        self.assertEqual((stats["fills"], stats["hits"], stats["redis_reads"]), (1, 1, 1))

    def test_write_in_redis_is_invalidated_and_seen(self):
        self.redis_set("p:w", "v1")
        self.assertEqual(self.nc.get(b"p:w"), b"v1")
        self.assertEqual(self.nc.get_info(b"p:w").path, "hit")
        self.cli("set", "p:w", "v2")
        wait_until("kvsync drops the invalidated copy", lambda: self.store.get(b"p:w") is None)
        self.assertEqual(self.nc.get_info(b"p:w"), shmkv.ReadInfo(b"v2", "filled", None))
        self.assertGreaterEqual(self.nc.sync_state()["invalidations"], 1)

    def test_set_and_delete_from_another_process_are_seen_at_once(self):
        self.redis_set("p:o", "old")
        self.assertEqual(self.nc.get(b"p:o"), b"old")
        code = ("import shmkv, sys\n"
                "with shmkv.Store(key=%d) as s, shmkv.NearCache(s, redis=sys.argv[1]) as nc:\n"
                "    nc.set(b'p:o', b'new')\n" % self.key)
        subprocess.run([sys.executable, "-c", code, self.redis], check=True)
        self.assertEqual(self.cli("get", "p:o"), "new")
        # The writer dropped this host's copy itself: no wait for kvsync.
        self.assertEqual(self.nc.get(b"p:o"), b"new")
        self.nc.set("p:o", "mine")
        self.assertEqual(self.cli("get", "p:o"), "mine")
        self.assertEqual(self.nc.get(b"p:o"), b"mine")
        self.assertTrue(self.nc.delete(b"p:o"))
        self.assertIsNone(self.nc.get(b"p:o"))
        self.assertEqual(self.cli("exists", "p:o"), "0")

    def test_stopped_kvsync_means_direct_reads(self):
        self.redis_set("p:s", "before")
        self.assertEqual(self.nc.get(b"p:s"), b"before")
        self.kvsync.send_signal(signal.SIGTERM)
        self.assertEqual(self.kvsync.wait(timeout=10), 0, self.log("kvsync.log"))
        state = self.nc.sync_state()
        self.assertEqual((state["phase"], state["serving"]), ("stopped", False))
        self.assertIn("stopped", state["reason"])
        self.cli("set", "p:s", "after")
        info = self.nc.get_info(b"p:s")
        self.assertEqual((info.value, info.path), (b"after", "direct"))
        self.assertIn("stopped", info.reason)
        self.assertFalse(self.nc.health(b"p:s")["serving"])
        self.assertEqual(self.nc.stats()["direct"], 1)

    def test_forked_child_reads_on_its_own_connection(self):
        """A NearCache used before os.fork() (multiprocessing with fork, a
        pre-fork server that warms up first) is used by parent and child at
        once: each must read every key's own value, and leave only those in
        the store."""
        per_process = 8000
        keys = [b"p:fork%d" % i for i in range(2 * per_process)]
        want = {k: b"value of " + k for k in keys}
        resp = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                        % (len(k), k, len(want[k]), want[k]) for k in keys)
        loaded = subprocess.run(["redis-cli", "-s", self.socket, "--pipe"], input=resp,
                                capture_output=True)
        self.assertEqual(loaded.returncode, 0, loaded.stderr)
        self.redis_set("p:~drain", "loaded")  # every invalidation of the load is applied
        self.assertEqual(self.nc.get_info(keys[0]).path, "filled")  # connected now

        def read(share):
            return sum(1 for k in share if self.nc.get(k) != want[k])

        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = 0 if read(keys[per_process:]) == 0 else 1
            finally:
                os._exit(code)
        try:
            parent_wrong = read(keys[:per_process])
        finally:
            _, status = os.waitpid(pid, 0)
        self.assertEqual(parent_wrong, 0, "the parent read other keys' values")
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, "the child read other keys' values")
        cached, cursor = {}, 0
        while True:
            cursor, page = self.store.scan(cursor, count=1000, prefix=b"p:fork", values=True)
            cached.update(page)
            if cursor == 0:
                break
        wrong = [k for k, v in cached.items() if v != want[k]]
        self.assertEqual(wrong[:3], [], "%d of %d cached entries hold another key's value"
                         % (len(wrong), len(cached)))
        self.assertGreater(len(cached), per_process)


class Errors(NearCacheTest):
    def test_bad_arguments(self):
        with self.assertRaises(shmkv.InvalidArgument) as e:
            shmkv.NearCache(self.store, redis="nonsense")
        self.assertIsInstance(e.exception, ValueError)
        self.assertIn("nonsense", str(e.exception))
        for option in ("fill_ttl", "heartbeat_timeout", "redis_timeout"):
            for bad in (0, -1, float("nan"), float("inf")):
                with self.assertRaises(shmkv.InvalidArgument, msg=(option, bad)):
                    shmkv.NearCache(self.store, redis=self.redis, **{option: bad})
        for bad in (-0.001, float("nan"), float("inf")):
            with self.assertRaises(shmkv.InvalidArgument, msg=bad):
                shmkv.NearCache(self.store, redis=self.redis, sync_check_interval=bad)
        shmkv.NearCache(self.store, redis=self.redis, sync_check_interval=0).close()
        with self.assertRaises(TypeError):
            shmkv.NearCache("not a store", redis=self.redis)
        with self.assertRaises(TypeError):
            shmkv.NearCache(self.store)  # redis is required
        with self.assertRaises(TypeError):
            self.nc.get(42)
        with self.assertRaises(TypeError):
            self.nc.set(b"p:k", 42)
        with self.assertRaises(shmkv.InvalidArgument):
            self.nc.get(b"\x00shmkv.near.sync")

    def test_unreachable_redis_raises_unavailable(self):
        nowhere = os.path.join(self.dir, "nobody.sock")
        with shmkv.NearCache(self.store, redis="unix:" + nowhere) as nc:
            for call in (lambda: nc.get(b"p:k"), lambda: nc.set(b"p:k", b"v"),
                         lambda: nc.delete(b"p:k")):
                with self.assertRaises(shmkv.Unavailable) as e:
                    call()
                self.assertEqual(e.exception.code, "UNAVAILABLE")
                self.assertIn(nowhere, str(e.exception))
            self.assertEqual(nc.stats()["redis_errors"], 3)
        self.assertTrue(issubclass(shmkv.Unavailable, shmkv.Error))
        self.assertTrue(shmkv.Unavailable.__doc__)

    def test_stalled_redis_times_out_with_the_gil_released(self):
        nc = shmkv.NearCache(self.store, redis=self.redis, redis_timeout=0.5)
        self.addCleanup(nc.close)
        self.redis_server.send_signal(signal.SIGSTOP)
        try:
            during = ticks_during(
                lambda: self.assertRaises(shmkv.Unavailable, nc.get, b"p:stalled"))
            self.assertGreater(during, 50)
        finally:
            self.redis_server.send_signal(signal.SIGCONT)

    def test_closed_near_cache_and_closed_store(self):
        self.redis_set("p:alive", "yes")
        self.nc.close()
        self.assertTrue(self.nc.closed)
        with self.assertRaises(shmkv.Error):
            self.nc.get(b"p:k")
        with self.assertRaises(shmkv.Error):
            self.nc.stats()
        with shmkv.NearCache(self.store, redis=self.redis) as nc:
            self.assertFalse(nc.closed)
        self.assertTrue(nc.closed)
        # The NearCache keeps its Store alive...
        nc = shmkv.NearCache(shmkv.Store(key=self.key), redis=self.redis)
        gc.collect()
        self.assertEqual(nc.get(b"p:alive"), b"yes")
        # ...and refuses cleanly once it is closed.
        other = shmkv.Store(key=self.key)
        nc = shmkv.NearCache(other, redis=self.redis)
        other.close()
        with self.assertRaises(shmkv.Error) as e:
            nc.get(b"p:alive")
        self.assertIn("store is closed", str(e.exception))
        with self.assertRaises(shmkv.Error):
            shmkv.NearCache(other, redis=self.redis)


def free_cluster_port(taken):
    """A loopback port in 20000..29999 free with its cluster bus port (+10000)."""
    import random
    import socket
    while True:
        port = random.randint(20000, 29999)
        if port in taken:
            continue
        try:
            for p in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue


def start_store_and_kvsync(test, prefix):
    """For a class with a shared topology (test.dir, test.target): a store at
    a guard key, kvsync following test.target for `prefix`, and test.nc."""
    test.key = new_key(test.id())
    test.hex = "0x%08x" % test.key
    test.store = shmkv.Store(key=test.key, create=True, capacity="4MiB")
    test.addCleanup(NearCacheTest.remove_store, test)
    log = open(os.path.join(test.dir, "kvsync.log"), "a")
    test.addCleanup(log.close)
    kvsync = subprocess.Popen(
        [KVSYNC, "--key=" + test.hex, "--redis=" + test.target, "--prefix=" + prefix],
        stdout=subprocess.DEVNULL, stderr=log)
    test.addCleanup(NearCacheTest.stop, kvsync)
    test.nc = shmkv.NearCache(test.store, redis=test.target)
    test.addCleanup(test.nc.close)
    wait_until("kvsync is synced", lambda: NearCacheTest.synced(test))


class ThroughACluster(unittest.TestCase):
    """A three-primary Redis Cluster started once for the class, kvsync
    following it for c:, and shmkv.NearCache(redis="cluster:...")."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="nearcluster.", dir=short_tmp())
        cls.nodes, cls.ports = [], []
        try:
            for _ in range(3):
                port = free_cluster_port(cls.ports)
                node_dir = os.path.join(cls.dir, str(port))
                os.mkdir(node_dir)
                with open(os.path.join(node_dir, "redis.log"), "w") as log:
                    cls.nodes.append(subprocess.Popen(
                        ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                         "--cluster-enabled", "yes", "--cluster-config-file",
                         os.path.join(node_dir, "nodes.conf"), "--save", "",
                         "--appendonly", "no", "--dir", node_dir],
                        stdout=subprocess.DEVNULL, stderr=log))
                cls.ports.append(port)
                wait_until("node %d answers PING" % port, lambda: subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"], capture_output=True,
                    text=True).stdout.strip() == "PONG")
            created = subprocess.run(
                ["redis-cli", "--cluster", "create"] +
                ["127.0.0.1:%d" % p for p in cls.ports] + ["--cluster-yes"],
                capture_output=True, text=True, timeout=30)
            if created.returncode != 0:
                raise AssertionError("redis-cli --cluster create: " + created.stdout)
            for port in cls.ports:
                wait_until("the cluster is ready", lambda: "cluster_state:ok" in subprocess.run(
                    ["redis-cli", "-p", str(port), "cluster", "info"], capture_output=True,
                    text=True).stdout)
        except BaseException:
            cls.tearDownClass()
            raise
        cls.target = "cluster:127.0.0.1:%d" % cls.ports[0]

    @classmethod
    def tearDownClass(cls):
        for node in cls.nodes:
            node.kill()
            node.wait()
        shutil.rmtree(cls.dir, True)

    def setUp(self):
        start_store_and_kvsync(self, "c:")

    def cli(self, *args):
        """redis-cli -c: follows the cluster's redirects, as a user's writes do."""
        r = subprocess.run(["redis-cli", "-c", "-p", str(self.ports[0]), *args],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_reads_fill_hit_and_follow_writes_on_every_primary(self):
        keys = ["c:user:%d" % i for i in range(12)]  # slots on all three primaries
        for k in keys:
            self.assertEqual(self.cli("set", k, "one " + k), "OK")
        for k in keys:
            self.assertEqual(self.nc.get_info(k).path, "filled")
            info = self.nc.get_info(k)
            self.assertEqual((info.value, info.path), (("one " + k).encode(), "hit"))
        before = self.nc.sync_state()["invalidations"]
        for k in keys:
            self.assertEqual(self.cli("set", k, "two " + k), "OK")
        wait_until("kvsync applies the invalidations",
                   lambda: self.nc.sync_state()["invalidations"] >= before + len(keys))
        for k in keys:
            self.assertEqual(self.nc.get(k), ("two " + k).encode())
        self.assertEqual(self.nc.stats()["redirects"], 0)
        self.assertEqual(len(self.nc.sync_state()["redis_run_id"].split(",")), 3)


def cli_fields(lines):
    """The name/value pairs redis-cli prints one a line (SENTINEL MASTER)."""
    return dict(zip(lines[0::2], lines[1::2]))


class ThroughSentinel(unittest.TestCase):
    """A primary, its replica and three sentinels started once for the
    class, kvsync following the primary they name for s:, and
    shmkv.NearCache(redis="sentinel:...")."""

    MASTER = "shmkv"

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="nearsentinel.", dir=short_tmp())
        cls.processes, taken = [], []
        try:
            for _ in range(5):
                taken.append(free_cluster_port(taken))
            cls.servers, cls.sentinels = taken[:2], taken[2:]
            for port in cls.servers:
                replica_of = [] if port == cls.servers[0] else [
                    "--replicaof", "127.0.0.1", str(cls.servers[0])]
                cls.spawn(port, ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no",
                                 "--repl-diskless-sync-delay", "0"] + replica_of)
            for port in cls.sentinels:
                config = os.path.join(cls.dir, "sentinel.%d.conf" % port)
                with open(config, "w") as f:
                    f.write("port %d\nbind 127.0.0.1\n" % port +
                            "sentinel monitor %s 127.0.0.1 %d 2\n" % (cls.MASTER, cls.servers[0]) +
                            "sentinel down-after-milliseconds %s 500\n" % cls.MASTER +
                            "sentinel failover-timeout %s 1000\n" % cls.MASTER)
                cls.spawn(port, ["redis-sentinel", config])
            wait_until("the sentinels know the replica and each other", cls.ready, timeout=30)
        except BaseException:
            cls.tearDownClass()
            raise
        cls.target = "sentinel:%s/%s" % (
            ",".join("127.0.0.1:%d" % p for p in cls.sentinels), cls.MASTER)

    @classmethod
    def spawn(cls, port, argv):
        with open(os.path.join(cls.dir, "%d.log" % port), "w") as log:
            cls.processes.append(subprocess.Popen(argv, cwd=cls.dir, stdout=subprocess.DEVNULL,
                                                  stderr=log))
        wait_until("port %d answers PING" % port,
                   lambda: cls.redis(port, "ping") == ["PONG"])

    @classmethod
    def tearDownClass(cls):
        for process in cls.processes:
            process.kill()
            process.wait()
        shutil.rmtree(cls.dir, True)

    @staticmethod
    def redis(port, *args):
        return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                              text=True).stdout.split()

    @classmethod
    def primary(cls):
        """The server port every sentinel names, or None while they differ."""
        named = {tuple(cls.redis(s, "sentinel", "get-master-addr-by-name", cls.MASTER))
                 for s in cls.sentinels}
        return int(named.pop()[1]) if len(named) == 1 else None

    @classmethod
    def ready(cls):
        primary = cls.primary()
        if primary is None:
            return False
        for s in cls.sentinels:
            master = cli_fields(cls.redis(s, "sentinel", "master", cls.MASTER))
            replica = cli_fields(cls.redis(s, "sentinel", "replicas", cls.MASTER))
            if (master.get("flags") != "master" or master.get("num-other-sentinels") != "2" or
                    replica.get("master-link-status") != "ok" or
                    replica.get("master-port") != str(primary)):
                return False
        return True

    @classmethod
    def run_id(cls, port):
        return next(f.split(":", 1)[1] for f in cls.redis(port, "info", "server")
                    if f.startswith("run_id:"))

    def setUp(self):
        start_store_and_kvsync(self, "s:")

    def set_and_wait(self, port, key, value):
        """SET on a server, then waits until kvsync has applied its invalidation."""
        before = self.nc.sync_state()["invalidations"]
        self.assertEqual(self.redis(port, "set", key, value), ["OK"])
        wait_until("kvsync applies the invalidation of " + key,
                   lambda: self.nc.sync_state()["invalidations"] > before)

    def test_fills_hits_invalidates_and_follows_a_failover(self):
        old = self.primary()
        self.assertEqual(self.nc.sync_state()["redis"], self.target)
        self.set_and_wait(old, "s:k", "one")
        self.assertEqual(self.nc.get_info("s:k").path, "filled")
        info = self.nc.get_info("s:k")
        self.assertEqual((info.value, info.path), (b"one", "hit"))
        self.set_and_wait(old, "s:k", "two")
        info = self.nc.get_info("s:k")
        self.assertEqual((info.value, info.path), (b"two", "filled"))

        self.assertEqual(self.redis(self.sentinels[0], "sentinel", "failover", self.MASTER),
                         ["OK"])
        promoted = self.servers[1] if old == self.servers[0] else self.servers[0]
        wait_until("the sentinels name the replica", lambda: self.primary() == promoted)
        self.assertEqual(self.redis(promoted, "set", "s:k", "three"), ["OK"])
        run_id = self.run_id(promoted)
        wait_until("kvsync is synced to the new primary",
                   lambda: NearCacheTest.synced(self) and
                   self.nc.sync_state()["redis_run_id"] == run_id)
        self.assertEqual(self.nc.get("s:k"), b"three")
        info = self.nc.get_info("s:k")
        self.assertEqual((info.value, info.path), (b"three", "hit"))
        self.assertEqual(self.nc.stats()["wrong_server"], 0)


if __name__ == "__main__":
    unittest.main()
