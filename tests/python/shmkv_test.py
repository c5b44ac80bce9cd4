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
            with self.assertRaisesRegex(shmkv.InvalidArgument, "item 1 is not a pair"):
                s.put_many([(b"k", b"v"), (b"k", b"v", b"w")])
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
                self.assertIn("open it again with shmkv.Store", str(e.exception))
                self.assertNotIn("kOpenOrCreate", str(e.exception))
                self.assertEqual(e.exception.code, "FAILED_PRECONDITION")

    @unittest.skipUnless(os.geteuid() == 0, "needs root, to run a child as another uid")
    def test_destroy_by_a_user_who_may_not_remove_changes_nothing(self):
        with self.open(mode=0o666) as s:
            s.put(b"k", b"v")
            pid = os.fork()
            if pid == 0:  # another uid: may write the 0666 store, not remove it
                code = 1
                try:
                    os.setgroups([])
                    os.setgid(65533)
                    os.setuid(65533)
                    shmkv.destroy(key=self.key)
                except shmkv.PermissionDenied as e:
                    code = 0 if "nothing was changed" in str(e) else 2
                except BaseException:
                    code = 3
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
            self.assertEqual(s[b"k"], b"v")
            s.put(b"k2", b"still writable")


class ValueSizeLimit(StoreTest):
    """A value over the store's max_value is a bad argument (ValueError naming
    the limit), not StoreFull: the store is not full."""

    def assertOverLimit(self, call, *words):
        with self.assertRaises(shmkv.InvalidArgument) as e:
            call()
        self.assertIsInstance(e.exception, ValueError)
        self.assertNotIsInstance(e.exception, shmkv.StoreFull)
        for word in ("max_value", "4096", "5000") + words:
            self.assertIn(word, str(e.exception))

    def test_value_over_max_value(self):
        with self.open(capacity="1MiB", max_value=4096, evict=False) as s:
            big = b"x" * 5000
            self.assertOverLimit(lambda: s.put(b"big", big))
            self.assertOverLimit(lambda: s.add(b"big", big))
            s.put(b"small", b"1")
            self.assertOverLimit(lambda: s.replace(b"small", big))
            self.assertOverLimit(lambda: s.cas(b"small", s.get_meta(b"small")[1].version, big))
            self.assertOverLimit(lambda: s.put_many([(b"a", b"1"), (b"big", big)]), "item 1")
            self.assertEqual(s.get(b"a"), b"1")  # the other items are stored
            self.assertOverLimit(lambda: s.get_or_compute(b"big", lambda: big))
            self.assertNotIn(b"big", s)
            s.put(b"fits", b"x" * 4096)
            self.assertEqual(len(s.get(b"fits")), 4096)


class Reentrancy(StoreTest):
    """A method's arguments may run Python code while they are converted
    (__float__, __index__, __len__, an iterator), and that code may call the
    same method again from the same thread: the outer call still writes and
    reads exactly its own items."""

    def test_put_many_reentered_from_its_arguments(self):
        with self.open() as s:
            def inner(tag):
                s.put_many([(b"%s%d" % (tag, i), b"%s-value-%d" % (tag, i) * 20)
                            for i in range(40)])

            class Ttl:
                def __float__(self):
                    inner(b"ttl")
                    return 60.0

            class Flags:
                def __index__(self):
                    inner(b"flags")
                    return 3

            class Pair(list):
                def __len__(self):
                    inner(b"len")
                    return list.__len__(self)

            def pairs():
                for i in range(40):
                    if i == 20:
                        inner(b"iter")
                    yield b"outer%d" % i, b"o%d" % i

            outer = [(b"outer%d" % i, b"o%d" % i) for i in range(40)]
            keys = [k for k, _ in outer]
            for items, kwargs in [(outer, {"ttl": Ttl()}), (outer, {"flags": Flags()}),
                                  ([Pair(p) for p in outer], {}), (pairs(), {})]:
                s.flush()
                s.put_many(items, **kwargs)
                self.assertEqual(s.get_many(keys), [v for _, v in outer], kwargs)
                self.assertEqual(len(s), 80, kwargs)  # outer's and inner's, nothing else
            self.assertEqual(s.get_meta(b"outer0")[1].flags, 0)

    def test_get_many_and_others_reentered_from_their_arguments(self):
        with self.open() as s:
            s.put_many((b"k%d" % i, b"v%d" % i) for i in range(50))

            def keys():
                for i in range(50):
                    if i == 25:
                        self.assertEqual(s.get_many([b"k1", b"k2"]), [b"v1", b"v2"])
                    yield b"k%d" % i

            self.assertEqual(s.get_many(keys()), [b"v%d" % i for i in range(50)])

            class Delta:
                def __index__(self):
                    s.incr(b"n", 100)
                    return 1

            self.assertEqual(s.incr(b"n", Delta()), 101)

            class Count:
                def __index__(self):
                    s.scan(0, count=3)
                    return 100

            cursor, page = s.scan(0, count=Count(), prefix=b"k1")
            self.assertEqual(sorted(page), sorted([b"k1"] + [b"k1%d" % i for i in range(10)]))


class Walks(StoreTest):
    def test_keys_and_items_read_page_by_page(self):
        """keys() and items() read the store as they are consumed: keys
        deleted after the first one was yielded are not listed afterwards
        (the scan contract: present for the whole walk, or at most once)."""
        with self.open(capacity="16MiB", items=6000) as s:
            for walk in (s.keys, s.items):
                s.put_many((b"k%05d" % i, b"v") for i in range(5000))
                everything = list(walk())
                self.assertEqual(len(everything), 5000)
                self.assertEqual(len(set(everything)), 5000)
                it = walk()
                first = next(it)
                s.flush()
                rest = list(it)
                self.assertLess(len(rest), 1000, "the whole store was read before the first key")
                self.assertNotIn(first, rest)

    def test_walk_keeps_its_store_and_stops_when_closed(self):
        self.open().close()
        with shmkv.Store(key=self.key) as s:
            s.put_many((b"k%04d" % i, b"v") for i in range(1000))
        it = shmkv.Store(key=self.key).keys()  # no other reference to the store
        self.assertEqual(len(list(it)), 1000)
        s = shmkv.Store(key=self.key)
        it = s.items()
        next(it)
        s.close()
        for _ in range(2):  # and again: the failed read left nothing half done
            with self.assertRaises(shmkv.Error) as e:
                list(it)
            self.assertIn("closed", str(e.exception))
        with self.assertRaises(shmkv.Error):
            s.keys()


class TtlResolution(StoreTest):
    """A store counts expiry in milliseconds: a positive TTL below 1 ms is
    rounded up to 1 ms, never read as "no TTL"."""

    def test_tiny_positive_ttl_expires(self):
        with self.open() as s:
            for ttl in (1e-12, 1e-9, 0.0004):
                s.put(b"k", b"v", ttl=ttl)
                meta = s.get_meta(b"k")
                if meta is not None:
                    self.assertIsNotNone(meta[1].ttl_remaining, ttl)
                    self.assertLessEqual(meta[1].ttl_remaining, 0.001)
                s.put(b"n", b"v", ttl=math.inf)
                self.assertTrue(s.touch(b"n", ttl))
                time.sleep(0.005)
                self.assertIsNone(s.get(b"k"), ttl)
                self.assertIsNone(s.get(b"n"), ttl)
                s.incr(b"c", 1, ttl=ttl)
                time.sleep(0.005)
                self.assertIsNone(s.get(b"c"), ttl)

    def test_tiny_default_ttl(self):
        with self.open(default_ttl=0.0005) as s:
            self.assertEqual(s.info()["default_ttl"], 0.001)


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
        self.assertIn("create=True, capacity=64 << 20", str(e.exception))
        self.assertNotIn("Options::", str(e.exception))
        self.assertNotIn("OpenMode", str(e.exception))
        self.assertNotIn("kvcli", str(e.exception))
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
                for i in range(100000):
                    s.put(b"k%d" % i, b"x" * 4000)

    def test_lock_timeout_and_gil_released(self):
        s = self.open(lock_timeout=0.3)
        patient = shmkv.Store(key=self.key, lock_timeout=5.0)
        held = subprocess.Popen([HELPER, "hold-stripe", self.hex], stdout=subprocess.PIPE,
                                text=True)
        release = threading.Timer(1.5, held.kill)
        try:
            self.assertEqual(held.stdout.readline().strip(), "held")
            with self.assertRaises(shmkv.LockTimeout):
                s.flush()  # needs the first stripe's lock, which the helper holds
            # While this thread waits for the lock, other Python threads run.
            # patient.flush() waits until the helper's death lets go.
            release.start()
            self.assertGreater(ticks_during(patient.flush), 50)
        finally:
            release.cancel()
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


class ArgumentErrors(StoreTest):
    """Every public method, each argument in turn given a wrong type, a huge
    or negative int, None or bytes/str swapped: a TypeError, OverflowError or
    ValueError whose message names the argument, never pybind11's own text."""

    BAD = [1.5, None, 2**70, -1, -2**70, "text", b"bytes", object(), [], math.nan]
    PYBIND = ("Unable to cast", "incompatible function arguments", "Invoked with",
              "TypeError:", "pybind11")
    GOOD = dict(key=b"k", value=b"v", ttl=30, flags=0, version=1, delta=1, init=0,
                fn=lambda: b"x", wait_timeout=1.0, keys=[b"k"], items=[(b"k", b"v")],
                prefix=b"p", cursor=0, count=10, match="p*", values=False, repair=False)
    METHODS = {
        "get": ["key"], "get_meta": ["key"], "put": ["key", "value", "ttl", "flags"],
        "add": ["key", "value", "ttl"], "replace": ["key", "value", "ttl"],
        "cas": ["key", "version", "value", "ttl"], "incr": ["key", "delta", "init", "ttl"],
        "touch": ["key", "ttl"], "delete": ["key"],
        "get_or_compute": ["key", "fn", "ttl", "wait_timeout"], "get_many": ["keys"],
        "put_many": ["items", "ttl", "flags"], "keys": ["prefix"], "items": ["prefix"],
        "scan": ["cursor", "count", "prefix", "match", "values"],
        "delete_matching": ["prefix", "match"], "delete_prefix": ["prefix"],
        "check": ["repair"], "__getitem__": ["key"], "__setitem__": ["key", "value"],
        "__delitem__": ["key"], "__contains__": ["key"],
    }

    def assertClear(self, what, param, call):
        try:
            result = call()
            if hasattr(result, "__next__"):
                list(result)
        except KeyError:
            return  # a call that ran: the argument was accepted
        except shmkv.Error as e:
            if not isinstance(e, shmkv.InvalidArgument):
                return  # likewise (the store's answer, e.g. NotANumber)
            self.assertIn(param, str(e), what + ": the message names the argument")
            return
        except Exception as e:  # noqa: BLE001: the class is what is checked
            text = str(e)
            self.assertIsInstance(e, (TypeError, OverflowError, ValueError), what + ": " + text)
            for words in self.PYBIND:
                self.assertNotIn(words, text, what)
            self.assertIn(param, text, what + ": the message names the argument")

    def test_store_methods(self):
        with self.open() as s:
            for name, params in self.METHODS.items():
                for param in params:
                    for bad in self.BAD:
                        args = [bad if p == param else self.GOOD[p] for p in params]
                        what = "%s(%s=%r)" % (name, param, bad)
                        self.assertClear(what, param, lambda: getattr(s, name)(*args))

    def test_open_and_destroy(self):
        good = dict(key=self.key, create=True, capacity="4MiB")
        params = ["key", "proj", "create", "capacity", "max_value", "evict", "default_ttl",
                  "mode", "items", "lock_timeout", "allow_foreign_owner"]
        with tempfile.NamedTemporaryFile() as f:
            for bad in self.BAD:
                for param in params + ["path"]:
                    kwargs = dict(good, **{param: bad})
                    if param == "path":
                        kwargs["key"] = None
                    if param == "proj":
                        kwargs.update(key=None, path=f.name)

                    def open_and_close():
                        shmkv.Store(**kwargs).close()
                        shmkv.destroy(key=kwargs["key"], path=kwargs.get("path"),
                                      proj=kwargs.get("proj", 1))

                    self.assertClear("Store(%s=%r)" % (param, bad), param, open_and_close)
                self.assertClear("destroy(key=%r)" % bad, "key", lambda: shmkv.destroy(key=bad))
                self.assertClear("destroy(path=%r)" % bad, "path",
                                 lambda: shmkv.destroy(path=bad))
                self.assertClear("destroy(proj=%r)" % bad, "proj",
                                 lambda: shmkv.destroy(path=f.name, proj=bad))

    def test_near_cache(self):
        with self.open() as s:
            good = dict(redis="127.0.0.1:1", fill_ttl=1.0, heartbeat_timeout=1.0,
                        redis_timeout=1.0, sync_check_interval=0.0)
            for param in good:
                for bad in self.BAD:
                    if bad == 2**70 or bad == "text" and param == "redis":
                        continue  # a valid number of seconds, and a redis address
                    kwargs = dict(good, **{param: bad})
                    self.assertClear("NearCache(%s=%r)" % (param, bad), param,
                                     lambda: shmkv.NearCache(s, **kwargs).close())
            with shmkv.NearCache(s, **good) as near:
                for name, params in [("get", ["key"]), ("get_info", ["key"]),
                                     ("set", ["key", "value"]), ("delete", ["key"]),
                                     ("health", ["key"])]:
                    for param in params:
                        for bad in [1.5, None, 2**70, -1, object(), []]:
                            args = [bad if p == param else b"k" for p in params]
                            self.assertClear("NearCache.%s(%s=%r)" % (name, param, bad), param,
                                             lambda: getattr(near, name)(*args))

    def test_named_cases(self):
        with self.open() as s:
            with self.assertRaisesRegex(TypeError, "key must be bytes or str, not float"):
                s.get(1.5)
            with self.assertRaisesRegex(OverflowError, r"delta=\d+ is out of range"):
                s.incr(b"n", 2**70)
            with self.assertRaisesRegex(OverflowError, "flags=-1 is out of range: give 0..4294967295"):
                s.put(b"k", b"v", flags=-1)
            with self.assertRaisesRegex(TypeError, "ttl must be a number"):
                s.put(b"k", b"v", ttl="5")
        with self.assertRaisesRegex(OverflowError, r"capacity=\d+ is out of range: give 0\.\."):
            shmkv.Store(key=self.key, create=True, capacity=2**70)
        with self.assertRaisesRegex(TypeError, "capacity must be an int or a str such as '64MiB'"):
            shmkv.Store(key=self.key, create=True, capacity=1.5)
        with self.assertRaisesRegex(TypeError, "key must be an int or a str"):
            shmkv.Store(key=1.5)


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

    def test_get_or_compute_racing_delete_prefix_stores_nothing(self):
        """delete_prefix during another process's computation cancels it."""
        self.open().close()
        code = ("import shmkv, sys\n"
                "s = shmkv.Store(key=%d)\n"
                "def f():\n"
                "    print('computing', flush=True)\n"
                "    sys.stdin.readline()\n"
                "    return b'stale'\n"
                "print(s.get_or_compute(b'u:1', f).decode(), flush=True)\n" % self.key)
        other = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(other.stdout.readline().strip(), "computing")
            with shmkv.Store(key=self.key) as s:
                self.assertEqual(s.delete_prefix(b"u:"), 0)
                other.stdin.write("go\n")
                other.stdin.flush()
                self.assertEqual(other.stdout.readline().strip(), "stale")
                self.assertEqual(other.wait(timeout=20), 0)
                self.assertNotIn(b"u:1", s)
                self.assertEqual(len(s), 0)
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
