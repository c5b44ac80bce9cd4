'use strict';
// NearCache from Node (require('shmkv/near')) against a real redis-server on
// a unix socket and a real kvsync tracking 'p:', both started once for this
// file and stopped when it ends: fills and hits, an outside write
// invalidating a copy, direct reads with their reason, writes, and errors.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { shmkv, KVSYNC, NEAR_MODULE, newKey, hex } = require('./testenv.js');

const { NearCache } = require(NEAR_MODULE);
const { Store } = shmkv;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls condition() until it is true; fails naming `what` after 10 s.
async function waitUntil(what, condition) {
  const deadline = Date.now() + 10000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(2);
  }
}

// A unix socket's path must fit in 108 bytes: TEST_TMPDIR may not.
const base = [process.env.TEST_TMPDIR, os.tmpdir(), '/tmp'].find((d) => d && d.length < 60);
const dir = fs.mkdtempSync(path.join(base, 'nearnode.'));
const socket = path.join(dir, 'redis.sock');
const redis = `unix:${socket}`;
const children = [];
let key, store, nc, kvsync;

function cli(...args) {
  return execFileSync('redis-cli', ['-s', socket, ...args], { encoding: 'utf8' }).trim();
}

function start(program, args, log) {
  const child = spawn(program, args, { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, log), 'a')] });
  children.push(child);
  return child;
}

// SET through redis-cli, then waits until kvsync has applied the
// invalidation it causes (which would otherwise cancel a fill that follows).
async function redisSet(k, value) {
  const before = nc.syncState().invalidations;
  cli('set', k, value);
  await waitUntil(`kvsync applies the invalidation of ${k}`, () => nc.syncState().invalidations > before);
}

test.before(async () => {
  key = newKey('node near cache');
  store = Store.open({ key, create: true, capacity: '4MiB', maxValue: 65536 });
  start('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no',
    '--dir', dir], 'redis.log');
  await waitUntil('redis-server answers PING', () => {
    try {
      return cli('ping') === 'PONG';
    } catch {
      return false;
    }
  });
  kvsync = start(KVSYNC, [`--key=${hex(key)}`, `--redis=${redis}`, '--prefix=p:'], 'kvsync.log');
  nc = new NearCache(store, { redis });
  await waitUntil('kvsync is synced', () => {
    const state = nc.syncState();
    return state !== undefined && state.phase === 'synced' && state.serving;
  });
});

test.after(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  nc?.close();
  store?.close();
  try {
    Store.destroy({ key });
  } catch (e) {
    if (!(e instanceof shmkv.StoreNotFoundError)) throw e;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a miss reads Redis and fills the store; the next read is a hit', async () => {
  await redisSet('p:a', 'one');
  const before = nc.stats();
  assert.deepEqual(nc.getInfo('p:a'), { value: Buffer.from('one'), path: 'filled', reason: undefined });
  assert.deepEqual(store.get('p:a'), Buffer.from('one'));
  assert.deepEqual(nc.getInfo(Buffer.from('p:a')), { value: Buffer.from('one'), path: 'hit', reason: undefined });
  assert.deepEqual(nc.get('p:a'), Buffer.from('one'));
  const after = nc.stats();
  assert.equal(after.fills - before.fills, 1);
  assert.equal(after.hits - before.hits, 2);
  assert.equal(after.redisReads - before.redisReads, 1);
});

test('a write in Redis from outside invalidates the copy', async () => {
  await redisSet('p:w', 'v1');
  assert.deepEqual(nc.get('p:w'), Buffer.from('v1'));
  assert.equal(nc.getInfo('p:w').path, 'hit');
  cli('set', 'p:w', 'v2');
  await waitUntil('kvsync drops the invalidated copy', () => store.get('p:w') === undefined);
  assert.deepEqual(nc.getInfo('p:w'), { value: Buffer.from('v2'), path: 'filled', reason: undefined });
  assert.ok(nc.syncState().invalidations >= 1);
});

test('absent keys and keys outside the tracked prefixes are read directly, with a reason', () => {
  assert.equal(nc.get('p:absent'), undefined);
  const absent = nc.getInfo('p:absent');
  assert.equal(absent.value, undefined);
  assert.equal(absent.path, 'direct');
  assert.match(absent.reason, /absent in Redis/);
  cli('set', 'q:x', 'x');
  const outside = nc.getInfo('q:x');
  assert.deepEqual([outside.value, outside.path], [Buffer.from('x'), 'direct']);
  assert.match(outside.reason, /prefixes/);
  assert.equal(store.get('q:x'), undefined);
  const health = nc.health('q:x');
  assert.equal(health.serving, false);
  assert.match(health.reason, /prefixes/);
  assert.equal(nc.health('p:a').serving, true);
});

test('set and delete write Redis and drop the local copy at once', async () => {
  await redisSet('p:o', 'old');
  assert.deepEqual(nc.get('p:o'), Buffer.from('old'));
  nc.set('p:o', Buffer.from('new'));
  assert.equal(cli('get', 'p:o'), 'new');
  assert.deepEqual(nc.get('p:o'), Buffer.from('new'));
  assert.equal(nc.delete('p:o'), true);
  assert.equal(nc.get('p:o'), undefined);
  assert.equal(nc.delete('p:o'), false);
  assert.equal(cli('exists', 'p:o'), '0');
});

test('syncState reports kvsync\'s record', () => {
  const state = nc.syncState();
  assert.equal(state.phase, 'synced');
  assert.equal(state.serving, true);
  assert.equal(state.reason, undefined);
  assert.equal(state.pid, kvsync.pid);
  assert.equal(state.redis, redis);
  assert.equal(typeof state.redisRunId, 'string');
  assert.deepEqual(state.prefixes, [Buffer.from('p:')]);
  assert.ok(state.heartbeatAge >= 0 && state.heartbeatAge < 5, String(state.heartbeatAge));
});

test('bad arguments throw TypeError, RangeError or InvalidArgumentError', () => {
  assert.throws(() => new NearCache(store, { redis: 'nonsense' }),
    (e) => e instanceof shmkv.InvalidArgumentError && /nonsense/.test(e.message));
  assert.throws(() => new NearCache(store), { name: 'TypeError', message: /redis/ });
  assert.throws(() => new NearCache('not a store', { redis }), TypeError);
  assert.throws(() => new NearCache(store, { redis, fillTTL: 5 }), { name: 'TypeError', message: /fillTTL/ });
  for (const option of ['fillTtl', 'heartbeatTimeout', 'redisTimeout']) {
    for (const bad of [0, -1, NaN, Infinity]) {
      assert.throws(() => new NearCache(store, { redis, [option]: bad }),
        { name: 'RangeError', message: new RegExp(option) }, `${option}=${bad}`);
    }
  }
  assert.throws(() => new NearCache(store, { redis, syncCheckInterval: -0.001 }), RangeError);
  new NearCache(store, { redis, syncCheckInterval: 0 }).close();
  assert.throws(() => nc.get(42), TypeError);
  assert.throws(() => nc.set('p:k', 42), TypeError);
  assert.throws(() => nc.get('\0shmkv.near.sync'), shmkv.InvalidArgumentError);
});

test('an unreachable Redis throws UnavailableError', () => {
  const nowhere = path.join(dir, 'nobody.sock');
  const lost = new NearCache(store, { redis: `unix:${nowhere}` });
  for (const call of [() => lost.get('p:k'), () => lost.set('p:k', 'v'), () => lost.delete('p:k')]) {
    assert.throws(call, (e) => e instanceof shmkv.UnavailableError && e instanceof shmkv.ShmkvError &&
      e.code === 'ERR_SHMKV_UNAVAILABLE' && e.message.includes(nowhere));
  }
  assert.equal(lost.stats().redisErrors, 3);
  lost.close();
});

test('a closed NearCache, or one whose store was closed, throws StoreClosedError', async () => {
  await redisSet('p:alive', 'yes');
  const own = new NearCache(store, { redis });
  own.close();
  assert.equal(own.closed, true);
  assert.throws(() => own.get('p:alive'), (e) => e.code === 'ERR_SHMKV_CLOSED' && /NearCache is closed/.test(e.message));
  assert.throws(() => own.stats(), shmkv.StoreClosedError);
  const other = Store.open({ key });
  const onOther = new NearCache(other, { redis });
  assert.deepEqual(onOther.get('p:alive'), Buffer.from('yes'));
  other.close();
  assert.throws(() => onOther.get('p:alive'), (e) => e instanceof shmkv.StoreClosedError && /store is closed/.test(e.message));
  onOther.close();
  assert.throws(() => new NearCache(other, { redis }), TypeError);
});

test('stopped kvsync means direct reads, saying so', async () => {
  await redisSet('p:s', 'before');
  assert.deepEqual(nc.get('p:s'), Buffer.from('before'));
  kvsync.kill('SIGTERM');
  await new Promise((resolve) => kvsync.once('exit', resolve));
  const state = nc.syncState();
  assert.deepEqual([state.phase, state.serving], ['stopped', false]);
  cli('set', 'p:s', 'after');
  const info = nc.getInfo('p:s');
  assert.deepEqual([info.value, info.path], [Buffer.from('after'), 'direct']);
  assert.match(info.reason, /stopped/);
});
