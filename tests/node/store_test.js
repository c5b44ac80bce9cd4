'use strict';
// Every call of the Node module on one store: values as strings and
// Buffers, TTLs, conditions, counters, batches, walks, the whole-store
// calls, the async forms, and the errors of each (ShmkvError codes,
// TypeError, RangeError), including a closed and a destroyed store.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { shmkv, IPC_HELPER, newKey, openStore, hex, kvcli } = require('./testenv.js');

const { Store, ShmkvError } = shmkv;


test('put and get strings and Buffers, undefined when absent', (t) => {
  const { store } = openStore(t, 'node get put');
  assert.equal(typeof store.put('s', 'héllo'), 'bigint');
  assert.equal(store.getString('s'), 'héllo');
  assert.deepEqual(store.get('s'), Buffer.from('héllo'));
  const bytes = Buffer.from([0, 1, 2, 255]);
  store.put(Buffer.from([0x6b, 0]), bytes);
  assert.deepEqual(store.get(Buffer.from([0x6b, 0])), bytes);
  store.put('u8', new Uint8Array([7, 8]));
  assert.deepEqual(store.get('u8'), Buffer.from([7, 8]));
  store.put('empty', '');
  assert.deepEqual(store.get('empty'), Buffer.alloc(0));
  assert.equal(store.get('absent'), undefined);
  assert.equal(store.getString('absent'), undefined);
  assert.equal(store.getMeta('absent'), undefined);
  assert.equal(store.has('s'), true);
  assert.equal(store.has('absent'), false);
});

test('get returns a Buffer of its own, for small values and for values larger than 64 KiB', (t) => {
  const { store } = openStore(t, 'node get copies', { maxValue: '1MiB' });
  const big = Buffer.alloc(200 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  store.put('big', big);
  store.put('small', 'abc');
  const longKey = 'k'.repeat(200) + 'é'.repeat(100);  // UTF-8 longer than a short key's buffer
  store.put(longKey, 'long');
  const first = store.get('small');
  first[0] = 0x7a;  // changing a returned value changes neither the store nor later values
  assert.deepEqual(store.get('small'), Buffer.from('abc'));
  assert.deepEqual(store.get('big'), big);
  assert.deepEqual(store.get(Buffer.from('small')), Buffer.from('abc'));
  assert.deepEqual(store.get('small'), Buffer.from('abc'));
  assert.equal(store.getString(longKey), 'long');
  assert.equal(store.getString('k'.repeat(200) + 'é'.repeat(99)), undefined);
});

test('get, getMeta and getMany return Buffers, also in a Node whose Buffer[Symbol.species] makes none', async (t) => {
  const { key, store } = openStore(t, 'node buffer views');
  store.put('k', 'hello');
  store.put('j', 'jello');
  for (const value of [store.get('k'), store.getMeta('k').value, ...store.getMany(['k', 'j'])]) {
    assert.ok(Buffer.isBuffer(value));
    assert.equal(Object.getPrototypeOf(value), Buffer.prototype);
    assert.equal(value.length, 5);
    assert.equal(value.subarray(1).toString(), 'ello');
  }
  // The module makes its Buffers with Buffer[Symbol.species] when that
  // makes Buffers, else with Buffer.from: in a thread of its own whose
  // species is Uint8Array's, before the module loads.
  const code = `
    const assert = require('node:assert/strict');
    const { parentPort, workerData } = require('node:worker_threads');
    Object.defineProperty(Buffer, Symbol.species, { get: () => Uint8Array });
    const s = require(workerData.module).Store.open({ key: workerData.key });
    const values = [s.get('k'), s.getMeta('k').value, ...s.getMany(['k', 'j'])];
    assert.ok(values.every((v) => Buffer.isBuffer(v) && Object.getPrototypeOf(v) === Buffer.prototype));
    s.close();
    parentPort.postMessage(values.map(String).join(' '));`;
  const { Worker } = require('node:worker_threads');
  const worker = new Worker(code, { eval: true, workerData: { key, module: process.env.SHMKV_NODE_MODULE } });
  const done = new Promise((resolve, reject) => {
    worker.on('message', resolve);
    worker.on('error', reject);
  });
  assert.equal(await done, 'hello hello hello jello');
});

test('getInto copies a value into a Buffer of the caller\'s and returns its length', (t) => {
  const { store } = openStore(t, 'node get into', { maxValue: '1MiB' });
  store.put('k', 'hello');
  const target = Buffer.alloc(8, '.');
  assert.equal(store.getInto('k', target), 5);
  assert.equal(target.toString(), 'hello...');
  assert.equal(store.getInto('k', target, undefined), 5);
  assert.equal(store.getInto('k', target, 3), 5);  // fits exactly at 3
  assert.equal(target.toString(), 'helhello');
  target.fill('.');
  assert.equal(store.getInto('k', target, 4), 5);  // does not fit: nothing copied
  assert.equal(target.toString(), '........');
  assert.equal(store.getInto('k', Buffer.alloc(0)), 5);
  assert.equal(store.getInto('absent', target), undefined);
  store.put('empty', '');
  assert.equal(store.getInto('empty', target, 8), 0);
  const view = new Uint8Array(new ArrayBuffer(16), 8, 8);  // copies at the view's own start
  assert.equal(store.getInto('k', view, 1), 5);
  assert.deepEqual(Buffer.from(view.buffer, 9, 5), Buffer.from('hello'));
  assert.throws(() => store.getInto('k', 'not a buffer'), TypeError);
  assert.throws(() => store.getInto('k', new Uint16Array(4)), TypeError);
  assert.throws(() => store.getInto('k', target, 9), RangeError);
  assert.throws(() => store.getInto('k', target, -1), RangeError);
  assert.throws(() => store.getInto('k', target, 1.5), RangeError);
  assert.throws(() => store.getInto('k', target, '1'), TypeError);
  assert.throws(() => store.getInto(5, target), TypeError);
});

test('values of every size come back whole and independent: pooled, past the pool, past the slab', (t) => {
  const { store } = openStore(t, 'node value sizes', { maxValue: '1MiB' });
  const sizes = [0, 1, 7, 100, 4095, 4096, 4097, 12 * 1024, 16 * 1024, 16 * 1024 + 1, 200 * 1024];
  const made = sizes.map((n, i) => Buffer.from(Array.from({ length: n }, (_, j) => (i * 31 + j) % 256)));
  sizes.forEach((n, i) => store.put(`v${n}`, made[i]));
  for (let round = 0; round < 40; round++) {  // through several slabs
    const got = sizes.map((n) => store.get(`v${n}`));
    sizes.forEach((n, i) => assert.deepEqual(got[i], made[i], `get of ${n} bytes, round ${round}`));
    got.forEach((b) => b.fill(0xee));  // a returned value is its caller's own
  }
  sizes.forEach((n, i) => assert.deepEqual(store.getMeta(`v${n}`).value, made[i], `getMeta of ${n}`));
  const many = store.getMany(sizes.map((n) => `v${n}`).concat(['absent']));
  assert.equal(many.pop(), undefined);
  assert.deepEqual(many, made);
  many[3].fill(0);
  assert.deepEqual(store.getMany(['v100', 'v7']), [made[3], made[2]]);
  assert.deepEqual(store.getMany(Array(300).fill('v1')), Array(300).fill(made[1]));
});

// Starts a node process running `code` on the store at `key` (as `store`,
// with `Buffer`); resolves once it prints "ready". The test stops it.
async function startNode(t, key, code) {
  const child = spawn(process.execPath, ['-e', `
    const store = require(process.argv[1]).Store.open({ key: Number(process.argv[2]) });
    ${code}`, process.env.SHMKV_NODE_MODULE, String(key)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', () => reject(new Error('the node child exited before it was ready')));
  });
  return { child, exited };
}

test('get, getMeta and getInto return whole values while another process rewrites them', async (t) => {
  const { key, store } = openStore(t, 'node read while written', { maxValue: '1MiB' });
  // 100 bytes (the slab), 6,000 (the slab or a Buffer of its own), 20,000
  // (always past the slab), and absent, in turn.
  const sizes = { a: 100, b: 6000, c: 20000 };
  await startNode(t, key, `
    const values = ${JSON.stringify(sizes)};
    console.log('ready');
    for (;;) {
      for (const [fill, size] of Object.entries(values)) store.put('k', Buffer.alloc(size, fill));
      store.delete('k');
    }`);
  const whole = (value, what) => {
    if (value === undefined) return;
    const fill = String.fromCharCode(value[0]);
    assert.ok(sizes[fill] === value.length && value.every((b) => b === value[0]),
      `${what}: ${value.length} bytes starting with ${fill}`);
  };
  const target = Buffer.alloc(8192);
  for (let i = 0; i < 1000; i++) {
    whole(store.get('k'), 'get');
    whole(store.getMeta('k')?.value, 'getMeta');
    const n = store.getInto('k', target);
    if (n !== undefined && n <= target.length) whole(target.subarray(0, n), 'getInto');
    whole(store.getMany(['k', 'absent', 'k'])[2], 'getMany');
  }
});

test('get and getMeta return the value read last when it grows or goes between two reads', (t) => {
  const { store } = openStore(t, 'node value grows', { maxValue: '1MiB' });
  // get reads a value larger than the room left in its slab again, into a
  // Buffer of the size it saw: each change below lands between the reads.
  const changes = [];
  const addon = require(require('node:path').join(process.env.SHMKV_NODE_MODULE, 'shmkv.node'));
  const native = {
    getInto: (...a) => after(store.getInto(...a)),
    getMetaInto: (...a) => after(store.getMetaInto(...a)),
    [addon.getIntoSlab]: (...a) => after(store[addon.getIntoSlab](...a)),
    [addon.getMetaIntoSlab]: (...a) => after(store[addon.getMetaIntoSlab](...a)),
  };
  function after(result) {
    const change = changes.shift();
    if (change === null) store.delete('k');
    else if (change !== undefined) store.put('k', change);
    return result;
  }
  const sized = (n, fill) => Buffer.alloc(n, fill);
  store.put('k', sized(20000, 'a'));
  changes.push(sized(30000, 'b'), sized(40000, 'c'));  // grows twice
  assert.deepEqual(Store.prototype.get.call(native, 'k'), sized(40000, 'c'));
  store.put('k', sized(20000, 'a'));
  changes.push(sized(5, 'd'));  // shrinks
  assert.deepEqual(Store.prototype.get.call(native, 'k'), sized(5, 'd'));
  store.put('k', sized(20000, 'a'));
  changes.push(null);  // goes
  assert.equal(Store.prototype.get.call(native, 'k'), undefined);
  store.put('k', sized(20000, 'a'), { flags: 1 });
  changes.push(sized(25000, 'e'));
  const meta = Store.prototype.getMeta.call(native, 'k');
  assert.deepEqual(meta.value, sized(25000, 'e'));
  assert.equal(meta.flags, 0);
  assert.equal(meta.version, store.getMeta('k').version);
  assert.equal(changes.length, 0);
});

test('reads of one key from two processes at once wait for no lock', async (t) => {
  const { key, store } = openStore(t, 'node reads take no lock');
  store.put('k', Buffer.alloc(100, 'v'));
  store.get('k');  // the first read after a write takes the lock; later ones need not
  const before = store.stats().lockWaits;
  const { exited } = await startNode(t, key, `
    console.log('ready');
    for (let i = 0; i < 200000; i++) store.get('k');`);
  const target = Buffer.alloc(128);
  for (let i = 0; i < 100000; i++) {
    store.get('k');
    store.getInto('k', target);
  }
  await exited;
  assert.equal(store.stats().lockWaits - before, 0);
});

test('getMany keeps every value whole when reading its keys runs gets and getManys', (t) => {
  const { store } = openStore(t, 'node get many reentered');
  const many = Array.from({ length: 1000 }, (_, i) => `k${i}`);  // more than any getMany before
  many.forEach((key) => store.put(key, `value of ${key}`));
  store.put('a', 'AAAA');
  store.put('b', 'BBBB');
  const inner = [];
  const keys = ['a', 'b', 'absent'];
  Object.defineProperty(keys, 0, {  // a getter, run by getMany as it reads keys[0]
    get() {
      inner.push(store.get('b'), ...store.getMany(many), store.getMeta('a').value);
      return 'a';
    },
  });
  assert.deepEqual(store.getMany(keys), [Buffer.from('AAAA'), Buffer.from('BBBB'), undefined]);
  assert.deepEqual(inner, [Buffer.from('BBBB'), ...many.map((key) => Buffer.from(`value of ${key}`)),
    Buffer.from('AAAA')]);
  assert.deepEqual(store.getMany(['b', 'a']), [Buffer.from('BBBB'), Buffer.from('AAAA')]);
  assert.deepEqual(inner[0], Buffer.from('BBBB'));
});

test('string keys are their UTF-8 bytes, from ASCII to surrogate pairs, at every length', (t) => {
  const { store } = openStore(t, 'node key encoding');
  // Latin-1 letters, letters past U+00FF (whose low byte is an ASCII
  // letter: 'Ł' is U+0141), a pair, and a lone surrogate (U+FFFD in UTF-8).
  const keys = ['plain', 'é', 'ÿ', 'Ł', 'A', '€', '😀', '\uD800', 'ab\uDC00cd'];
  for (const last of ['k', 'é', '€', '😀']) {  // n bytes in all, the last character across 252..256
    for (let n = 240; n < 262; n++) keys.push('x'.repeat(n - Buffer.byteLength(last)) + last);
  }
  keys.forEach((key, i) => store.put(key, `value ${i}`));
  keys.forEach((key, i) => {
    assert.equal(store.getString(key), `value ${i}`, `key ${i} of ${Buffer.byteLength(key)} bytes`);
    assert.equal(store.getString(Buffer.from(key)), `value ${i}`, `key ${i} as bytes`);
  });
  assert.equal(store.getString(Buffer.from([0xef, 0xbf, 0xbd])), `value ${keys.indexOf('\uD800')}`);
  assert.equal(store.getString('A'), `value ${keys.indexOf('A')}`);
  assert.equal(store.getString('Ł'), `value ${keys.indexOf('Ł')}`);
  assert.deepEqual(store.getMany(keys.slice(0, 9)).map(String), keys.slice(0, 9).map((_, i) => `value ${i}`));
});

test('string keys of any UTF-16 units are the bytes Buffer.from makes of them, lone surrogates as U+FFFD', (t) => {
  const { store } = openStore(t, 'node key units');
  // The module encodes a string's UTF-16 units itself: lone surrogates
  // anywhere (first, last, reversed, doubled), pairs, and keys across its
  // buffers' edges (256 units; 256 bytes of UTF-8) in every shape.
  const keys = ['\uDC00', 'a\uD800', '\uDC00\uD800', '\uD800\uD800\uDC00', '\uD83D\uDE00\uDE00', 'x\uDBFF\uDFFFy',
    '\u007F\u0080\u07FF\u0800\uD7FF\uE000\uFFFD\uFFFF', 'abcdefg\u00E9', 'abcdefgh\uD800', 'ABCDEFGHIJKLMNOPé'];
  for (const n of [84, 85, 86, 127, 128, 129, 253, 254, 255, 256, 257]) {
    for (const unit of ['k', 'é', '€', '\uD800', '\uDC00']) keys.push(unit.repeat(n));
    keys.push('😀'.repeat(n >> 1), 'k'.repeat(n - 1) + '\uD800', 'k'.repeat(n - 2) + '😀', 'é'.repeat(n - 1) + '\uDC00');
  }
  // Random strings of the units where encoders differ.
  const units = [0x41, 0x7f, 0x80, 0xff, 0x100, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xffff];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  for (let i = 0; i < 500; i++) {
    keys.push(String.fromCharCode(...Array.from({ length: 1 + (next() % 300) }, () => units[next() % units.length])));
  }
  keys.forEach((key, i) => {
    store.put(key, `value ${i}`);
    const bytes = Buffer.from(key);
    assert.equal(store.getString(bytes), `value ${i}`, `key ${i} (${bytes.length} bytes) as Buffer.from's bytes`);
    assert.equal(store.getString(key), `value ${i}`, `key ${i} as a string`);
    assert.equal(store.delete(bytes), true, `key ${i}`);
  });
});

test('getMeta reports version, flags and TTL; put returns the version', (t) => {
  const { store } = openStore(t, 'node meta');
  const v1 = store.put('k', 'a', { flags: 7, ttl: 100 });
  const meta = store.getMeta('k');
  assert.deepEqual(meta.value, Buffer.from('a'));
  assert.equal(meta.version, v1);
  assert.equal(meta.flags, 7);
  assert.ok(meta.ttlRemaining > 99 && meta.ttlRemaining <= 100, String(meta.ttlRemaining));
  const v2 = store.put('k', 'b');
  assert.ok(v2 > v1);
  assert.equal(store.getMeta('k').ttlRemaining, Infinity);
});

test('TTLs expire, touch changes them, Infinity never expires', async (t) => {
  const { store } = openStore(t, 'node ttl');
  store.put('short', 'x', { ttl: 0.05 });
  store.put('forever', 'y', { ttl: Infinity });
  assert.equal(store.touch('forever', 1000), true);
  assert.equal(store.touch('absent', 10), false);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(store.get('short'), undefined);
  assert.equal(store.getString('forever'), 'y');
  assert.ok(store.getMeta('forever').ttlRemaining > 990);
});

test('add, replace and cas report whether their condition held', (t) => {
  const { store } = openStore(t, 'node conditions');
  assert.equal(store.add('k', '1'), true);
  assert.equal(store.add('k', '2'), false);
  assert.equal(store.replace('absent', '1'), false);
  assert.equal(store.replace('k', '3'), true);
  const { version } = store.getMeta('k');
  assert.equal(store.cas('k', version + 1n, '4'), false);
  assert.equal(store.cas('k', version, '5'), true);
  assert.equal(store.cas('k', Number(version), '6'), false);
  assert.equal(store.getString('k'), '5');
  assert.equal(store.delete('k'), true);
  assert.equal(store.delete('k'), false);
});

test('incr counts, starts at init, returns a bigint past 2**53, and refuses text', (t) => {
  const { store } = openStore(t, 'node incr');
  assert.equal(store.incr('n'), 1);
  assert.equal(store.incr('n', 10), 11);
  assert.equal(store.incr('n', -20n), -9);
  assert.equal(store.incr('m', 1, { init: 100 }), 101);
  assert.equal(store.incr('big', 1n, { init: 2n ** 60n }), 2n ** 60n + 1n);
  assert.equal(store.getString('big'), (2n ** 60n + 1n).toString());
  store.put('text', 'abc');
  assert.throws(() => store.incr('text'), (e) => e instanceof shmkv.NotANumberError &&
    e instanceof ShmkvError && e.code === 'ERR_SHMKV_NOT_A_NUMBER');
  assert.throws(() => store.incr('n', 2 ** 60), RangeError);
  assert.throws(() => store.incr('n', 1.5), RangeError);
  assert.throws(() => store.incr('n', '1'), TypeError);
});

test('getMany and putMany', (t) => {
  const { store } = openStore(t, 'node batch');
  store.putMany([['a', '1'], [Buffer.from('b'), Buffer.from('2')]], { ttl: 60 });
  assert.deepEqual(store.getMany(['a', 'b', 'c']), [Buffer.from('1'), Buffer.from('2'), undefined]);
  assert.ok(store.getMeta('a').ttlRemaining <= 60);
  assert.deepEqual(store.getMany([]), []);
  assert.throws(() => store.getMany('a'), TypeError);
  assert.throws(() => store.getMany(['a', 5]), /keys\[1\]/);
  assert.throws(() => store.getMany(['a', new Uint16Array(2)]), { name: 'TypeError', message: /keys\[1\]/ });
  assert.throws(() => store.putMany([['a']]), /items\[0\] must be a \[key, value\] pair/);
  assert.throws(() => store.getMany(['a', '']), (e) => e.code === 'ERR_SHMKV_INVALID_ARGUMENT' &&
    /keys\[1\]/.test(e.message));
});

test('keys() walks a page at a time; deleteMatching removes what it selects', (t) => {
  const { store } = openStore(t, 'node keys');
  const want = [];
  for (let i = 0; i < 250; i++) {
    store.put(`user:${i}`, 'x');
    want.push(`user:${i}`);
  }
  store.put('tmp:1', 'x');
  store.put('tmp:2', 'x');
  const seen = [...store.keys({ prefix: 'user:', count: 7 })];
  assert.deepEqual(seen.sort(), want.sort());
  assert.deepEqual([...store.keys({ match: 'user:1?' })].sort(),
    ['user:10', 'user:11', 'user:12', 'user:13', 'user:14', 'user:15', 'user:16', 'user:17',
      'user:18', 'user:19']);
  const buffers = [...store.keys({ prefix: 'tmp:', asBuffer: true })];
  assert.ok(buffers.every((k) => Buffer.isBuffer(k)));
  // A walk reads lazily: the first key comes before the whole store is read.
  const iterator = store.keys({ count: 1 });
  assert.equal(typeof iterator.next().value, 'string');
  assert.equal(store.deleteMatching({ prefix: 'tmp:' }), 2);
  assert.equal(store.deleteMatching({ match: 'user:2??' }), 50);
  assert.equal(store.stats().items, 200);
  assert.throws(() => store.deleteMatching({}), (e) => e.code === 'ERR_SHMKV_INVALID_ARGUMENT' &&
    /flush\(\)/.test(e.message));
  assert.throws(() => [...store.keys({ match: '[' })], shmkv.InvalidArgumentError);
  assert.throws(() => store.scanPage(12345n, 10), shmkv.InvalidArgumentError);
});

test('stats, info, check, flush, flushExpired and their async forms', async (t) => {
  const { key, store } = openStore(t, 'node admin', { maxValue: '64KiB', defaultTtl: 3600 });
  store.put('a', '1');
  store.get('a');
  store.get('missing');
  const stats = store.stats();
  assert.equal(stats.items, 1);
  assert.ok(stats.hits >= 1 && stats.misses >= 1 && stats.puts >= 1);
  const info = store.info();
  assert.equal(info.key, key);
  assert.equal(info.maxValueSize, 65536);
  assert.equal(info.defaultTtl, 3600);
  assert.ok(Array.isArray(info.warnings));
  assert.deepEqual(store.check(), { ok: true, problems: [], repairs: [], entriesChecked: 1,
    entriesDropped: 0 });
  const report = await store.checkAsync({ repair: true });
  assert.equal(report.ok, true);
  assert.equal(store.flushExpired(), 0);
  await store.flushAsync();
  assert.equal(store.stats().items, 0);
  store.put('b', '2');
  store.flush();
  assert.equal(store.get('b'), undefined);
});

test('getOrCompute computes once, stores with its TTL, and stores nothing on failure', async (t) => {
  const { store } = openStore(t, 'node get or compute');
  let calls = 0;
  const compute = async () => {
    calls++;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return 'built';
  };
  const results = await Promise.all([1, 2, 3].map(() => store.getOrCompute('r', compute, { ttl: 50 })));
  assert.deepEqual(results, [Buffer.from('built'), Buffer.from('built'), Buffer.from('built')]);
  assert.equal(calls, 1);
  assert.ok(store.getMeta('r').ttlRemaining <= 50);
  assert.deepEqual(await store.getOrCompute('sync', () => Buffer.from('s')), Buffer.from('s'));
  const boom = new Error('boom');
  await assert.rejects(store.getOrCompute('fails', () => { throw boom; }), (e) => e === boom);
  await assert.rejects(store.getOrCompute('rejects', () => Promise.reject(boom)), (e) => e === boom);
  await assert.rejects(store.getOrCompute('number', () => 5), TypeError);
  assert.equal(store.get('fails'), undefined);
  assert.equal(store.get('number'), undefined);
  await assert.rejects(store.getOrCompute('k', 'not a function'), TypeError);
  await assert.rejects(store.getOrCompute('k', compute, { waitTimeout: -1 }), RangeError);
  // A waiter that gives up says so in this module's terms.
  const first = store.getOrCompute('late', () => new Promise((r) => setTimeout(() => r('late'), 600)));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await assert.rejects(store.getOrCompute('late', () => 'second', { waitTimeout: 0.2 }),
    (e) => e instanceof shmkv.LockTimeoutError && e.code === 'ERR_SHMKV_LOCK_TIMEOUT' &&
      /waitTimeout/.test(e.message) && !/wait_timeout/.test(e.message));
  assert.equal((await first).toString(), 'late');
  // The event loop runs while a computation is awaited: timers fire meanwhile.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  t.after(() => clearInterval(timer));
  await store.getOrCompute('slow', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return 'x';
  });
  clearInterval(timer);
  assert.ok(ticks > 5, `${ticks} ticks`);
});

test('getOrCompute refuses a computed value over maxValue with a RangeError, as put does', async (t) => {
  const { store } = openStore(t, 'node compute too large', { maxValue: 1024 });
  await assert.rejects(store.getOrCompute('big', () => Buffer.alloc(2000)),
    { name: 'RangeError', message: /value of 2000 bytes is over this store's maxValue of 1024/ });
  assert.equal(store.get('big'), undefined);
  // The key is free again: the next computation is stored.
  assert.deepEqual(await store.getOrCompute('big', () => 'small'), Buffer.from('small'));
});

test('getAsync and putAsync wait for a lock another process holds off the event loop', async (t) => {
  const { key, store } = openStore(t, 'node async lock wait', { lockTimeout: 0.15, maxValue: 1024 });
  // A process that holds stripe 0's mutex until killed.
  const holder = spawn(IPC_HELPER, ['hold-stripe', hex(key)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  t.after(() => holder.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    holder.stdout.once('data', resolve);
    holder.once('exit', () => reject(new Error('kvcli_ipc_helper hold-stripe exited')));
  });
  // A key of stripe 0: the first whose synchronous read times out.
  let locked;
  for (let i = 0; locked === undefined; i++) {
    try {
      store.has(`k${i}`);
    } catch (e) {
      assert.ok(e instanceof shmkv.LockTimeoutError, String(e));
      locked = `k${i}`;
    }
  }
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  t.after(() => clearInterval(timer));  // a failed assertion must not keep node alive
  await assert.rejects(store.getAsync(locked), shmkv.LockTimeoutError);
  await assert.rejects(store.putAsync(locked, 'v'), shmkv.LockTimeoutError);
  clearInterval(timer);
  assert.ok(ticks > 5, `${ticks} ticks while waiting`);
  holder.kill('SIGKILL');
  await exited;
  assert.equal(typeof await store.putAsync(locked, 'v', { ttl: 60 }), 'bigint');
  assert.deepEqual(await store.getAsync(locked), Buffer.from('v'));
  assert.equal(await store.getAsync('absent'), undefined);
  await assert.rejects(store.putAsync('k', Buffer.alloc(2000)), { name: 'RangeError', message: /maxValue of 1024/ });
  await assert.rejects(store.getAsync(5), TypeError);
  await assert.rejects(store.putAsync('k', 'v', { ttl: -1 }), RangeError);
  store.close();
  await assert.rejects(store.getAsync('k'), shmkv.StoreClosedError);
});

test('bad arguments throw TypeError or RangeError naming the argument', (t) => {
  const { store } = openStore(t, 'node arguments', { maxValue: 1024 });
  assert.throws(() => store.get(5), { name: 'TypeError', message: /key must be a string or a Buffer/ });
  assert.throws(() => store.get(), TypeError);
  assert.throws(() => store.put('k', null), /value must be a string or a Buffer/);
  assert.throws(() => store.put('k', 'v', { ttl: -1 }), { name: 'RangeError', message: /ttl=-1/ });
  assert.throws(() => store.put('k', 'v', { ttl: 0 }), RangeError);
  assert.throws(() => store.put('k', 'v', { ttl: NaN }), RangeError);
  assert.throws(() => store.put('k', 'v', { ttl: '5' }), TypeError);
  assert.throws(() => store.put('k', 'v', 5), { name: 'TypeError', message: /options must be an object/ });
  assert.throws(() => store.put('k', 'v', { flags: 2 ** 32 }), RangeError);
  assert.throws(() => store.put('k', Buffer.alloc(2000)), { name: 'RangeError', message: /maxValue of 1024/ });
  assert.throws(() => store.touch('k'), TypeError);
  assert.throws(() => store.cas('k', -1n, 'v'), RangeError);
  assert.throws(() => store.put('', 'v'), (e) => e.code === 'ERR_SHMKV_INVALID_ARGUMENT');
  assert.throws(() => store.put('x'.repeat(5000), 'v'), shmkv.InvalidArgumentError);
  assert.equal(store.get('k'), undefined);  // nothing was stored by a refused call
});

test('Store.open: missing store, bad names and options', () => {
  const key = newKey('node open');
  assert.throws(() => Store.open({ key }), (e) => e instanceof shmkv.StoreNotFoundError &&
    e.code === 'ERR_SHMKV_NOT_FOUND' && /create: true, capacity: '64MiB'/.test(e.message) &&
    !/OpenMode|kOpenOrCreate/.test(e.message));
  assert.throws(() => Store.open({}), TypeError);
  assert.throws(() => Store.open(), TypeError);
  assert.throws(() => Store.open({ key, path: '/tmp' }), TypeError);
  assert.throws(() => Store.open({ key: 0 }), RangeError);
  assert.throws(() => Store.open({ key: 'zz' }), shmkv.InvalidArgumentError);
  assert.throws(() => Store.open({ key, capcity: 5 }), { name: 'TypeError', message: /unknown option 'capcity'/ });
  assert.throws(() => Store.open({ key, create: true, capacity: 'lots' }), RangeError);
  assert.throws(() => Store.open({ key, create: 'yes' }), TypeError);
  const byString = Store.open({ key: hex(key), create: true, capacity: 1 << 20 });
  assert.equal(byString.info().key, key);
  byString.close();
  Store.destroy({ key });
  assert.throws(() => Store.destroy({ key }), shmkv.StoreNotFoundError);
  assert.throws(() => Store.destroy(), TypeError);
});

test('a closed store throws StoreClosedError; a destroyed one StoreDestroyedError', async (t) => {
  const { key, store } = openStore(t, 'node closed');
  store.put('k', 'v');
  const other = Store.open({ key });
  const kept = store.getInto;
  assert.equal(kept('k', Buffer.alloc(8)), 1);
  store.close();
  store.close();
  assert.equal(store.closed, true);
  assert.throws(() => store.get('k'), (e) => e instanceof shmkv.StoreClosedError &&
    e.code === 'ERR_SHMKV_CLOSED');
  assert.throws(() => store.getInto('k', Buffer.alloc(8)), shmkv.StoreClosedError);
  assert.throws(() => kept('k', Buffer.alloc(8)), shmkv.StoreClosedError);  // taken before close
  assert.throws(() => store.getMeta('k'), shmkv.StoreClosedError);
  assert.throws(() => store.getMany(['k']), shmkv.StoreClosedError);
  assert.throws(() => [...store.keys()], shmkv.StoreClosedError);
  await assert.rejects(store.getOrCompute('k', () => 'v'), shmkv.StoreClosedError);
  await assert.rejects(store.checkAsync(), shmkv.StoreClosedError);
  assert.equal(other.getString('k'), 'v');
  assert.equal(kvcli('destroy', `--key=${hex(key)}`).status, 0);
  assert.throws(() => other.get('k'), (e) => e instanceof shmkv.StoreDestroyedError &&
    e.code === 'ERR_SHMKV_DESTROYED' && /open it again with Store\.open/.test(e.message) &&
    !/kOpenOrCreate|kAttach/.test(e.message));
  assert.throws(() => other.put('k', 'v'), shmkv.StoreDestroyedError);
  await assert.rejects(other.flushAsync(), shmkv.StoreDestroyedError);
  other.close();
});

test('worker threads share the store with the main thread; an ended one abandons its computation', async (t) => {
  const { key, store } = openStore(t, 'node worker threads');
  const { Worker } = require('node:worker_threads');
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Store } = require(workerData.module);
    const s = Store.open({ key: workerData.key });
    for (let i = 0; i < 1000; i++) s.incr('n');
    s.getOrCompute('w', () => 'from a worker').then((v) => {
      s.close();
      parentPort.postMessage(v.toString());
    });`;
  const workerData = { key, module: process.env.SHMKV_NODE_MODULE };
  const runs = [1, 2].map(() => new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData });
    w.on('message', resolve);
    w.on('error', reject);
  }));
  for (let i = 0; i < 1000; i++) store.incr('n');
  assert.deepEqual(await Promise.all(runs), ['from a worker', 'from a worker']);
  assert.equal(store.getString('n'), '3000');
  // A worker ended while its computation is pending takes nothing down.
  const stuck = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { Store } = require(workerData.module);
    Store.open({ key: workerData.key }).getOrCompute('never', () => new Promise(() => {}));
    setTimeout(() => parentPort.postMessage('waiting'), 20);`, { eval: true, workerData });
  await new Promise((resolve) => stuck.on('message', resolve));
  await stuck.terminate();
  assert.equal(store.get('never'), undefined);
  // Its computation is abandoned at once, not after the lease times out.
  const started = Date.now();
  const value = await store.getOrCompute('never', () => 'from main', { waitTimeout: 2 });
  assert.equal(value.toString(), 'from main');
  assert.ok(Date.now() - started < 1500, `${Date.now() - started} ms`);
  store.put('after', 'ok');
  assert.equal(store.getString('after'), 'ok');
});

test('get copies into the slab the addon keeps for its thread, within the slab\'s bounds', async (t) => {
  const { key, store } = openStore(t, 'node slab');
  store.put('k', 'hello');
  const { Worker } = require('node:worker_threads');
  // In a thread of its own: its slab is that thread's alone.
  const code = `
    const assert = require('node:assert/strict');
    const path = require('node:path');
    const { parentPort, workerData } = require('node:worker_threads');
    const shmkv = require(workerData.module);
    const native = require(path.join(workerData.module, 'shmkv.node'));
    const s = shmkv.Store.open({ key: workerData.key });
    // Keyed by the module's Symbols, not names: none to call by mistake.
    assert.equal(s.getIntoSlab, undefined);
    assert.equal(s.getMetaIntoSlab, undefined);
    assert.equal(typeof native.getIntoSlab, 'symbol');
    const mine = Buffer.alloc(12, '.');
    // The offset in io's first 4 bytes; the length back in io[1] (-1:
    // absent), getMeta's metadata in io[2..4]; the readers return nothing.
    const io = new Float64Array(5);
    const at = new Uint32Array(io.buffer, 0, 1);
    native.setSlab(mine, io);
    const read = (key, offset, withMeta) => {
      at[0] = offset;
      io[1] = 99;
      assert.equal(s[withMeta ? native.getMetaIntoSlab : native.getIntoSlab](key), undefined);
      return io[1];
    };
    assert.equal(read('k', 3), 5);
    assert.equal(mine.toString(), '...hello....');
    assert.equal(read('k', 7, true), 5);
    assert.equal(mine.toString(), '...hellhello');
    assert.equal(io[3], Infinity);
    assert.equal(read('k', 8), 5);  // does not fit: nothing copied
    assert.equal(read('k', 12), 5);
    assert.equal(mine.toString(), '...hellhello');
    assert.equal(read('absent', 0), -1);
    assert.throws(() => read('k', 13), RangeError);
    assert.throws(() => read('k', 2 ** 32 - 1), RangeError);
    assert.throws(() => s[native.getIntoSlab](5), TypeError);
    assert.throws(() => native.setSlab('not a buffer', io), TypeError);
    assert.throws(() => native.setSlab(new Uint16Array(4), io), TypeError);
    assert.throws(() => native.setSlab(mine), TypeError);
    assert.throws(() => native.setSlab(mine, new Float64Array(4)), TypeError);
    assert.throws(() => native.setSlab(mine, new Float32Array(5)), TypeError);
    s.close();
    assert.throws(() => s[native.getIntoSlab]('k'), shmkv.StoreClosedError);
    parentPort.postMessage(mine.toString());`;
  const worker = new Worker(code, { eval: true, workerData: { key, module: process.env.SHMKV_NODE_MODULE } });
  const done = new Promise((resolve, reject) => {
    worker.on('message', resolve);
    worker.on('error', reject);
  });
  assert.equal(await done, '...hellhello');
  // This thread's slab was not the worker's: its gets are whole.
  for (let i = 0; i < 1000; i++) assert.equal(store.get('k').toString(), 'hello');
  assert.equal(store.getMeta('k').value.toString(), 'hello');
});
