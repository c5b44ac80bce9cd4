'use strict';
// Installed with the module, so that `node --test` in its folder shows that
// this install works on this host: a store of the test's own (created at a
// free key, destroyed at the end, also when a check fails) used as an
// application uses one, from this process and from a second one. The
// module's full suite is tests/node in the source tree (bazel test).
const test = require('node:test');
const assert = require('node:assert/strict');
const { fork } = require('node:child_process');
const shmkv = require('./index.js');

const { Store } = shmkv;

// In the second process: count to `times` on `counter`, then compute
// `report` if nobody has (or take the value the first process computed).
if (process.argv[2] === 'second') {
  const [key, times] = process.argv.slice(3).map(Number);
  const store = Store.open({ key });
  for (let i = 0; i < times; i++) store.incr('counter');
  store.getOrCompute('report', async () => {
    store.incr('computations');
    return 'from the second process';
  }).then((value) => {
    store.close();
    process.send(value.toString(), () => process.disconnect());
  });
  return;
}

// The key SHMKV_TEST_KEY names, or a System V key no store uses (a random
// one in a range of 65,536).
function freeKey() {
  if (process.env.SHMKV_TEST_KEY) return Number(process.env.SHMKV_TEST_KEY);
  for (let tries = 0; tries < 100; tries++) {
    const key = 0x6b740000 + Math.floor(Math.random() * 0x10000);
    try {
      Store.open({ key }).close();
    } catch (e) {
      if (e instanceof shmkv.StoreNotFoundError) return key;
      throw e;
    }
  }
  throw new Error('no free key in 0x6b740000..0x6b74ffff');
}

test('an installed module reads, writes, counts and computes once across two processes', async (t) => {
  const key = freeKey();
  const store = Store.open({ key, create: true, capacity: '8MiB' });
  t.after(() => {
    store.close();
    Store.destroy({ key });
  });

  store.put('user:1', Buffer.from('alice'), { ttl: 300 });
  store.put('user:2', 'bob');
  assert.deepEqual(store.get('user:1'), Buffer.from('alice'));
  assert.equal(store.getString('user:2'), 'bob');
  assert.equal(store.get('absent'), undefined);
  assert.deepEqual(store.getMany(['user:2', 'absent']).map((v) => v && v.toString()),
                   ['bob', undefined]);
  const meta = store.getMeta('user:1');
  assert.ok(meta.ttlRemaining > 299 && meta.ttlRemaining <= 300, `ttl ${meta.ttlRemaining}`);
  assert.equal(store.getMeta('user:2').ttlRemaining, Infinity);
  assert.throws(() => store.put('k', 'v', { ttl: -1 }), RangeError);
  assert.throws(() => store.put(42, 'v'), TypeError);

  const times = 2000;
  const second = fork(__filename, ['second', String(key), String(times)]);
  const secondDone = new Promise((resolve, reject) => {
    second.on('message', resolve);
    second.on('exit', (code) => code !== 0 && reject(new Error(`second process exited ${code}`)));
  });
  for (let i = 0; i < times; i++) store.incr('counter');
  const mine = await store.getOrCompute('report', async () => {
    store.incr('computations');
    return 'from the first process';
  });
  const theirs = await secondDone;
  assert.equal(store.getString('counter'), String(2 * times));
  assert.equal(store.getString('computations'), '1');
  assert.equal(theirs, mine.toString());

  const closed = Store.open({ key });
  closed.close();
  assert.throws(() => closed.get('user:2'), shmkv.StoreClosedError);
});
