'use strict';
// Four `cluster` workers share one store: every increment of a shared
// counter counts exactly once, and getOrCompute on the same keys computes
// each once across the workers, every worker reading that one result.
const test = require('node:test');
const assert = require('node:assert/strict');
const cluster = require('node:cluster');
const path = require('node:path');
const { openStore } = require('./testenv.js');

const WORKERS = 4;
const INCREMENTS = 2000;
const KEYS = 8;

test('four cluster workers: exact counts, one computation per key', async (t) => {
  const { key, store } = openStore(t, 'node cluster');
  cluster.setupPrimary({ exec: path.join(__dirname, 'cluster_worker.js') });
  const env = {
    SHMKV_CLUSTER_KEY: String(key),
    SHMKV_CLUSTER_INCREMENTS: String(INCREMENTS),
    SHMKV_CLUSTER_KEYS: String(KEYS),
  };
  const workers = [];
  for (let i = 0; i < WORKERS; i++) workers.push(cluster.fork(env));
  const answers = workers.map((w) => new Promise((resolve, reject) => {
    w.on('message', resolve);
    w.on('exit', (code) => reject(new Error(`worker exited (${code}) before answering`)));
  }));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.on('online', resolve))));
  store.put('go', '1');
  const results = await Promise.all(answers);
  await Promise.all(workers.map((w) => new Promise((resolve) => {
    if (w.isDead()) resolve(); else { w.on('exit', resolve); w.disconnect(); }
  })));
  for (const r of results) assert.equal(r.error, undefined, r.error);
  assert.equal(store.getString('requests'), String(WORKERS * INCREMENTS));
  for (let k = 0; k < KEYS; k++) {
    assert.equal(store.getString(`computed:${k}`), '1', `computations of report:${k}`);
    const stored = store.getString(`report:${k}`);
    for (const r of results) assert.equal(r.values[k], stored);
  }
});
