'use strict';
// What run_node_tests.sh gives the tests: the module, the paths of the
// programs it exports, and System V keys from the IPC guard it runs them
// under (the guard removes whatever a test leaves at its keys, however the
// test ends).
const { execFileSync } = require('node:child_process');
const path = require('node:path');

if (!process.env.SHMKV_NODE_MODULE) {
  throw new Error('these tests need the built addons, kvcli and the IPC guard that ' +
                  'run_node_tests.sh gives them: run bazel test //tests/node:all');
}
const shmkv = require(process.env.SHMKV_NODE_MODULE);

const GUARD = path.resolve(process.env.SHMKV_GUARD);
const KVCLI = path.resolve(process.env.SHMKV_KVCLI);
const C_COUNTER = path.resolve(process.env.SHMKV_C_COUNTER);
const KVSYNC = path.resolve(process.env.SHMKV_KVSYNC);
const IPC_HELPER = path.resolve(process.env.SHMKV_IPC_HELPER);
// The near cache, as require('shmkv/near') finds it in an installed module.
const NEAR_MODULE = path.join(process.env.SHMKV_NODE_MODULE, 'near.js');
const PYTHONPATH = process.env.SHMKV_PYTHONPATH;

// A fresh key from the guard's range, recorded as taken by `owner`.
function newKey(owner) {
  return parseInt(execFileSync(GUARD, ['keys', '1', owner], { encoding: 'utf8' }).trim(), 16);
}

// Opens a new store for test `t` (a node:test context), destroyed when the
// test ends, however it ends: { key, store }.
function openStore(t, owner, options = {}) {
  const key = newKey(owner);
  const store = shmkv.Store.open({ key, create: true, capacity: '4MiB', ...options });
  t.after(() => {
    store.close();
    try {
      shmkv.Store.destroy({ key });
    } catch (e) {
      if (!(e instanceof shmkv.StoreNotFoundError)) throw e;
    }
  });
  return { key, store };
}

function hex(key) {
  return '0x' + key.toString(16);
}

// Runs kvcli with args; returns { status, stdout, stderr }.
function kvcli(...args) {
  try {
    const stdout = execFileSync(KVCLI, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

// Runs a Python program with Debian's python3 and the built shmkv module.
function python(code, args = []) {
  return execFileSync('/usr/bin/python3', ['-c', code, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH },
  });
}

module.exports = { shmkv, GUARD, KVCLI, C_COUNTER, KVSYNC, IPC_HELPER, NEAR_MODULE, PYTHONPATH, newKey, openStore, hex, kvcli, python };
