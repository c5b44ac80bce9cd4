"""What run_python_tests.sh gives the Python tests: the paths of the programs
it exports, and System V keys from the IPC guard it runs them under (the
guard removes whatever a test leaves at its keys, however the test ends)."""

import os
import subprocess
import threading
import time

GUARD = os.environ["SHMKV_GUARD"]
KVCLI = os.environ["SHMKV_KVCLI"]
HELPER = os.environ["SHMKV_IPC_HELPER"]
RACER = os.environ["SHMKV_CXX_RACER"]
KVSYNC = os.environ["SHMKV_KVSYNC"]


def new_key(owner):
    """A fresh key from the guard's range, recorded as taken by `owner`."""
    out = subprocess.check_output([GUARD, "keys", "1", owner], text=True)
    return int(out.strip(), 16)


def ticks_during(call):
    """Runs call() while another Python thread counts a tick a millisecond;
    returns the ticks counted meanwhile: next to none unless call() releases
    the GIL while it waits."""
    ticks = [0]
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    try:
        before = ticks[0]
        call()
        return ticks[0] - before
    finally:
        stop.set()
        t.join()
