"""The Python module against real stores, with real processes: every method,
every error class, and stores shared with C++ (kvcli, a C++ program).

Run by run_python_tests.sh under the IPC guard, which exports the paths of
the helper programs; each test takes its System V key from the guard."""

import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib

import shmkv
from testenv import HELPER, KVCLI, RACER, new_key, ticks_during


def kvcli(*args, check=True):
    return subprocess.run([KVCLI, *args], capture_output=True, text=True, check=check)


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.key = new_key(self.id())
        self.hex = "0x%08x" % self.key

    def tearDown(self):
        try:
            shmkv.destroy(key=self.key)
        except shmkv.Error:
            pass
        subprocess.run([HELPER, "remove", self.hex], capture_output=True)

    def open(self, **kwargs):
        kwargs.setdefault("capacity", "4MiB")
        kwargs.setdefault("max_value", 65536)
        return shmkv.Store(key=self.key, create=True, **kwargs)


class Entries(StoreTest):
    def test_put_get_bytes_and_str(self):
        with self.open() as s:
            s.put(b"k", b"v")
            self.assertEqual(s.get(b"k"), b"v")
            s.put("clé", "välue")  # str is UTF-8
            self.assertEqual(s.get("clé".encode()), "välue".encode())
            s.put(bytearray(b"ba"), memoryview(b"mv"))
            self.assertEqual(s.get(b"ba"), b"mv")
            s.put(b"\x00\xff", b"")
            self.assertEqual(s.get(b"\x00\xff"), b"")
            self.assertIsNone(s.get(b"absent"))
            with self.assertRaises(TypeError):
                s.put(b"k", 42)

    def test_get_meta(self):
        with self.open() as s:
            s.put(b"k", b"value", ttl=30.0, flags=7)
            value, meta = s.get_meta(b"k")
            self.assertEqual(value, b"value")
            self.assertEqual((meta.flags, meta.size), (7, 5))
            self.assertGreater(meta.version, 0)
            self.assertTrue(29.0 < meta.ttl_remaining <= 30.0)
            s.put(b"forever", b"x", ttl=math.inf)
            self.assertIsNone(s.get_meta(b"forever")[1].ttl_remaining)
            self.assertIsNone(s.get_meta(b"absent"))

    def test_mapping_protocol(self):
        with self.open() as s:
            s[b"a"] = b"1"
            s["b"] = "2"
            self.assertEqual(s[b"a"], b"1")
            self.assertIn(b"b", s)
            self.assertNotIn(b"c", s)
            self.assertEqual(len(s), 2)
            with self.assertRaises(KeyError):
                s[b"c"]
            del s[b"a"]
            with self.assertRaises(KeyError):
                del s[b"a"]
            self.assertEqual(len(s), 1)

    def test_add_replace_cas(self):
        with self.open() as s:
            self.assertTrue(s.add(b"k", b"1"))
            self.assertFalse(s.add(b"k", b"2"))
            self.assertTrue(s.replace(b"k", b"3"))
            self.assertFalse(s.replace(b"nope", b"3"))
            _, meta = s.get_meta(b"k")
            self.assertTrue(s.cas(b"k", meta.version, b"4"))
            self.assertFalse(s.cas(b"k", meta.version, b"5"))  # stale token
            self.assertFalse(s.cas(b"nope", 1, b"5"))
            self.assertEqual(s[b"k"], b"4")

    def test_incr(self):
        with self.open() as s:
            self.assertEqual(s.incr(b"n"), 1)
            self.assertEqual(s.incr(b"n", 10), 11)
            self.assertEqual(s.incr(b"m", -2, init=100), 98)
            self.assertEqual(s[b"m"], b"98")
            s.put(b"text", b"hello")
            with self.assertRaises(shmkv.NotANumber) as e:
                s.incr(b"text")
            self.assertIsInstance(e.exception, ValueError)

    def test_touch_delete(self):
        with self.open() as s:
            s.put(b"k", b"v", ttl=5)
            self.assertTrue(s.touch(b"k", 100.0))
            self.assertGreater(s.get_meta(b"k")[1].ttl_remaining, 99)
            self.assertTrue(s.touch(b"k", math.inf))
            self.assertIsNone(s.get_meta(b"k")[1].ttl_remaining)
            self.assertFalse(s.touch(b"absent", 1.0))
            self.assertTrue(s.delete(b"k"))
            self.assertFalse(s.delete(b"k"))

    def test_ttl_expires(self):
        with self.open() as s:
            s.put(b"k", b"v", ttl=0.05)
            time.sleep(0.1)
            self.assertIsNone(s.get(b"k"))

    def test_get_or_compute(self):
        with self.open() as s:
            calls = []

            def compute():
                calls.append(1)
                return b"computed"

            self.assertEqual(s.get_or_compute(b"k", compute), b"computed")
            self.assertEqual(s.get_or_compute(b"k", compute), b"computed")
            self.assertEqual(len(calls), 1)
            self.assertEqual(s.get_or_compute(b"s", lambda: "text"), b"text")
            with self.assertRaises(ZeroDivisionError):
                s.get_or_compute(b"bad", lambda: 1 / 0)
            self.assertNotIn(b"bad", s)
            with self.assertRaises(TypeError):
                s.get_or_compute(b"bad", lambda: 42)
            self.assertNotIn(b"bad", s)
            # After a failure the next caller computes at once (no stale lease).
            start = time.monotonic()
            self.assertEqual(s.get_or_compute(b"bad", lambda: b"ok"), b"ok")
            self.assertLess(time.monotonic() - start, 1.0)

    def test_keys_and_items(self):
        with self.open() as s:
            for i in range(20):
                s.put(b"user:%d" % i, b"v%d" % i)
            s.put(b"other", b"x")
            self.assertEqual(sorted(s.keys(prefix=b"user:")), sorted(b"user:%d" % i for i in range(20)))
            self.assertEqual(len(list(s.keys())), 21)
            self.assertEqual(dict(s.items(prefix="user:1")),
                             {b"user:1": b"v1", **{b"user:1%d" % i: b"v1%d" % i for i in range(10)}})

    def test_get_many_put_many(self):
        with self.open() as s:
            s.put_many({b"a": b"1", "b": "2"}, ttl=60, flags=5)
            s.put_many([(b"c", b"3"), [b"d", bytearray(b"4")]])
            s.put_many([])
            keys = [b"a", b"missing", "b", b"c", b"d", b"a"] + [b"k%d" % i for i in range(100)]
            s.put_many((b"k%d" % i, b"v%d" % i) for i in range(0, 100, 2))
            want = [b"1", None, b"2", b"3", b"4", b"1"]
            want += [b"v%d" % i if i % 2 == 0 else None for i in range(100)]
            self.assertEqual(s.get_many(keys), want)
            self.assertEqual(s.get_many(iter([b"c"])), [b"3"])
            self.assertEqual(s.get_many([]), [])
            self.assertEqual(s.get_meta(b"a")[1].flags, 5)
            self.assertLessEqual(s.get_meta(b"a")[1].ttl_remaining, 60)
            before = s.stats()
            s.get_many([b"a", b"a", b"missing"])
            after = s.stats()
            self.assertEqual(after["hits"] - before["hits"], 2)
            self.assertEqual(after["misses"] - before["misses"], 1)
            with self.assertRaises(shmkv.InvalidArgument) as e:
                s.get_many([b"a", b""])
            self.assertIn("item 1", str(e.exception))
            # A bad item fails alone: the others are stored, then it raises.
            with self.assertRaises(shmkv.InvalidArgument):
                s.put_many([(b"e", b"5"), (b"", b"x"), (b"f", b"6")])
            self.assertEqual(s.get_many([b"e", b"f"]), [b"5", b"6"])
            for bad in [[b"no-pair"], [(b"k", b"v", b"w")], 5]:
                with self.assertRaises((shmkv.InvalidArgument, TypeError)):
                    s.put_many(bad)
            with self.assertRaises(TypeError):
                s.get_many([b"a", 5])
            with self.assertRaises(shmkv.InvalidArgument):
                s.put_many({b"k": b"v"}, ttl=-1)

    def test_scan_and_delete_matching(self):
        with self.open() as s:
            for i in range(30):
                s.put(b"user:%02d" % i, b"v%d" % i)
            s.put(b"other", b"x")
            cursor, seen, pages = 0, [], 0
            while True:
                cursor, keys = s.scan(cursor, count=4, prefix=b"user:")
                self.assertLessEqual(len(keys), 4)
                seen += keys
                pages += 1
                if cursor == 0:
                    break
            self.assertGreaterEqual(pages, 8)
            self.assertEqual(sorted(seen), [b"user:%02d" % i for i in range(30)])
            cursor, items = s.scan(0, count=100, match="user:1?", values=True)
            self.assertEqual(cursor, 0)
            self.assertEqual(dict(items), {b"user:%02d" % i: b"v%d" % i for i in range(10, 20)})
            with self.assertRaises(shmkv.InvalidArgument):
                s.scan(12345)
            self.assertEqual(s.delete_matching(match="user:2*"), 10)
            self.assertEqual(s.delete_prefix(b"user:"), 20)
            self.assertEqual(list(s.keys()), [b"other"])
            with self.assertRaises(shmkv.InvalidArgument):
                s.delete_matching()

    def test_stats_info_check_flush(self):
        with self.open(default_ttl=60, mode=0o640) as s:
            s.put(b"a", b"1")
            s.get(b"a")
            s.get(b"b")
            stats = s.stats()
            self.assertEqual((stats["items"], stats["hits"], stats["misses"]), (1, 1, 1))
            info = s.info()
            self.assertEqual(info["key"], self.key)
            self.assertEqual(info["mode"], 0o640)
            self.assertEqual(info["default_ttl"], 60.0)
            self.assertEqual(info["max_value_size"], 65536)
            report = s.check()
            self.assertTrue(report["ok"])
            self.assertEqual(report["entries_checked"], 1)
            self.assertTrue(s.check(repair=True)["ok"])
            s.put(b"short", b"x", ttl=0.05)
            time.sleep(0.1)
            self.assertEqual(s.flush_expired(), 1)
            s.flush()
            self.assertEqual(len(s), 0)

    def test_close_and_context_manager(self):
        s = self.open()
        self.assertFalse(s.closed)
        s.close()
        self.assertTrue(s.closed)
        with self.assertRaises(shmkv.Error):
            s.get(b"k")
        with self.open() as s2:
            s2.put(b"k", b"v")
        self.assertTrue(s2.closed)
        # The store outlives the attachment.
        with shmkv.Store(key=self.key) as s3:
            self.assertEqual(s3[b"k"], b"v")

    def test_open_by_path(self):
        with tempfile.NamedTemporaryFile() as f:
            with shmkv.Store(path=f.name, proj=7, create=True, capacity=1 << 20) as s:
                s.put(b"k", b"v")
                self.assertIn("proj 7", s.info()["name"])
            with shmkv.Store(path=f.name, proj=7) as s:
                self.assertEqual(s[b"k"], b"v")
            shmkv.destroy(path=f.name, proj=7)

    def test_destroy(self):
        self.open().close()
        shmkv.destroy(key=self.hex)
        with self.assertRaises(shmkv.StoreNotFound):
            shmkv.destroy(key=self.key)

    def test_calls_on_a_destroyed_store_raise_store_destroyed(self):
        with self.open() as s:
            s.put(b"n", b"1")
            s.put(b"text", b"hello")
            _, meta = s.get_meta(b"n")
            shmkv.destroy(key=self.key)
            # Not a CAS mismatch (False), not NotANumber: StoreDestroyed.
            for call in [lambda: s.cas(b"n", meta.version, b"2"),
                         lambda: s.cas(b"n", meta.version + 1, b"2"),
                         lambda: s.incr(b"n"), lambda: s.incr(b"text"),
                         lambda: s.add(b"new", b"v"), lambda: s.get(b"n")]:
                with self.assertRaises(shmkv.StoreDestroyed) as e:
                    call()
                self.assertIn("destroyed", str(e.exception))
                self.assertEqual(e.exception.code, "FAILED_PRECONDITION")


class Errors(StoreTest):
    def test_error_classes(self):
        for name in ["StoreNotFound", "PermissionDenied", "NotAStore", "StoreFull",
                     "LockTimeout", "Corrupt", "InvalidArgument", "NotANumber",
                     "StoreDestroyed"]:
            self.assertTrue(issubclass(getattr(shmkv, name), shmkv.Error), name)
            self.assertTrue(getattr(shmkv, name).__doc__, name)

    def test_store_not_found(self):
        with self.assertRaises(shmkv.StoreNotFound) as e:
            shmkv.Store(key=self.key)
        self.assertIn("kvcli create", str(e.exception))
        self.assertEqual(e.exception.code, "NOT_FOUND")

    def test_permission_denied(self):
        if os.geteuid() != 0:
            self.skipTest("making another user's store needs root")
        subprocess.run([HELPER, "create-as", "65534", self.hex], check=True, capture_output=True)
        with self.assertRaises(shmkv.PermissionDenied) as e:
            shmkv.Store(key=self.key)
        self.assertIn("allow_foreign_owner", str(e.exception))
        with shmkv.Store(key=self.key, allow_foreign_owner=True) as s:
            self.assertEqual(len(s), 0)

    def test_not_a_store(self):
        subprocess.run([HELPER, "foreign", self.hex, "4096"], check=True, capture_output=True)
        with self.assertRaises(shmkv.NotAStore):
            shmkv.Store(key=self.key)

    def test_store_full(self):
        with self.open(capacity="1MiB", max_value=4096, evict=False) as s:
            with self.assertRaises(shmkv.StoreFull):
                s.put(b"big", b"x" * 5000)  # over max_value
            with self.assertRaises(shmkv.StoreFull):
                for i in range(100000):
                    s.put(b"k%d" % i, b"x" * 4000)

    def test_lock_timeout_and_gil_released(self):
        s = self.open(lock_timeout=0.3)
        patient = shmkv.Store(key=self.key, lock_timeout=5.0)
        held = subprocess.Popen([HELPER, "hold-lock", self.hex, "1500"], stdout=subprocess.PIPE,
                                text=True)
        try:
            self.assertEqual(held.stdout.readline().strip(), "held")
            with self.assertRaises(shmkv.LockTimeout):
                s.flush()  # store-wide: needs the semaphore the helper holds
            # While this thread waits for the lock, other Python threads run.
            # patient.flush() waits until the helper lets go.
            self.assertGreater(ticks_during(patient.flush), 50)
        finally:
            held.kill()
            held.wait()
            held.stdout.close()
            s.close()
            patient.close()

    def test_corrupt(self):
        self.open().close()
        subprocess.run([HELPER, "scribble-header", self.hex], check=True)
        with self.assertRaises(shmkv.Corrupt) as e:
            shmkv.Store(key=self.key)
        self.assertIn("corrupt", str(e.exception))

    def test_invalid_argument(self):
        with self.open() as s:
            for call in [lambda: s.put(b"", b"v"),
                         lambda: s.put(b"k", b"v", ttl=-1),
                         lambda: s.put(b"k", b"v", ttl=0),
                         lambda: s.put(b"k" * 5000, b"v"),
                         lambda: s.touch(b"k", None),
                         lambda: s.get_or_compute(b"k", lambda: b"", wait_timeout=0)]:
                with self.assertRaises(shmkv.InvalidArgument):
                    call()
        with self.assertRaises(shmkv.InvalidArgument):
            shmkv.Store(key=self.key, create=True, capacity="12XB")
        with self.assertRaises(shmkv.InvalidArgument):
            shmkv.Store(key=self.key, path="/tmp")
        with self.assertRaises(shmkv.InvalidArgument):
            shmkv.Store()


class AcrossLanguages(StoreTest):
    def test_kvcli_writes_python_reads_and_back(self):
        kvcli("create", "--key=" + self.hex, "--capacity=4MiB")
        kvcli("put", "--key=" + self.hex, "from-cli", "hello")
        with shmkv.Store(key=self.key) as s:
            self.assertEqual(s[b"from-cli"], b"hello")
            s.put(b"from-python", b"bonjour")
            s.incr(b"n", 41)
        self.assertEqual(kvcli("get", "--key=" + self.hex, "from-python").stdout, "bonjour")
        kvcli("incr", "--key=" + self.hex, "n", "1")
        with shmkv.Store(key=self.key) as s:
            self.assertEqual(s[b"n"], b"42")

    def test_get_or_compute_races_with_cxx(self):
        """A Python and a C++ process miss on one key at once: one computation."""
        with self.open() as s, tempfile.TemporaryDirectory() as tmp:
            started = os.path.join(tmp, "started")
            out = {}

            def racer():
                while not os.path.exists(started):
                    time.sleep(0.005)
                out["cxx"] = subprocess.run([RACER, self.hex], capture_output=True, text=True)

            t = threading.Thread(target=racer)
            t.start()
            calls = []

            def compute():
                calls.append(1)
                open(started, "w").close()
                time.sleep(1.0)  # the C++ process misses meanwhile, and waits
                return b"computed in python"

            value = s.get_or_compute(b"report:today", compute)
            t.join()
            self.assertEqual(value, b"computed in python")
            self.assertEqual(len(calls), 1)
            self.assertEqual(out["cxx"].returncode, 0, out["cxx"].stderr)
            self.assertEqual(out["cxx"].stdout.strip(), "computed in python (from the store)")

    def test_get_or_compute_wait_timeout(self):
        """Waiting on another process's computation ends with LockTimeout."""
        self.open().close()
        code = ("import shmkv, time, sys\n"
                "s = shmkv.Store(key=%d)\n"
                "def f():\n"
                "    print('computing', flush=True)\n"
                "    time.sleep(3)\n"
                "    return b'late'\n"
                "s.get_or_compute(b'slow', f)\n" % self.key)
        other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(other.stdout.readline().strip(), "computing")
            with shmkv.Store(key=self.key) as s:
                start = time.monotonic()
                with self.assertRaises(shmkv.LockTimeout):
                    s.get_or_compute(b"slow", lambda: b"mine", wait_timeout=0.3)
                self.assertLess(time.monotonic() - start, 2.5)
        finally:
            other.kill()
            other.wait()

    def test_writer_killed_in_a_loop_leaves_store_consistent(self):
        self.open().close()
        code = ("import shmkv, random, zlib\n"
                "s = shmkv.Store(key=%d)\n"
                "print('ready', flush=True)\n"
                "r = random.Random()\n"
                "while True:\n"
                "    k = b'k%%d' %% r.randrange(200)\n"
                "    body = bytes(r.randrange(256) for _ in range(r.randrange(1, 3000)))\n"
                "    s.put(k, k + b'|' + b'%%08x' %% zlib.crc32(k + body) + body)\n"
                "    if r.random() < 0.1:\n"
                "        s.delete(b'k%%d' %% r.randrange(200))\n" % self.key)
        for round_ in range(12):
            writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                      text=True)
            self.assertEqual(writer.stdout.readline().strip(), "ready")
            time.sleep(0.05 + 0.02 * round_)
            writer.send_signal(signal.SIGKILL)
            writer.wait()
        checked = kvcli("check", "--key=" + self.hex, check=False)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        with shmkv.Store(key=self.key) as s:
            items = list(s.items())
            self.assertGreater(len(items), 0)
            for key, value in items:
                k, crc, body = value[:len(key)], value[len(key) + 1:len(key) + 9], value[len(key) + 9:]
                self.assertEqual(k, key)
                self.assertEqual(int(crc, 16), zlib.crc32(key + body), key)


if __name__ == "__main__":
    unittest.main()
