'use strict';
// Node shares a store with kvcli, the C API (examples/c/counter.c), Python
// and C++: each reads what the others write, and getOrCompute computes once
// between a Node and a Python process.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const { openStore, hex, kvcli, python, C_COUNTER, PYTHONPATH } = require('./testenv.js');


test('kvcli reads what Node writes, and Node what kvcli writes', (t) => {
  const { key, store } = openStore(t, 'node kvcli');
  store.put('greeting', 'héllo from node');
  const got = kvcli('get', `--key=${hex(key)}`, 'greeting');
  assert.equal(got.status, 0, got.stderr);
  assert.equal(got.stdout.trim(), 'héllo from node');
  assert.equal(kvcli('put', `--key=${hex(key)}`, 'from:kvcli', 'abc').status, 0);
  assert.equal(store.getString('from:kvcli'), 'abc');
});

test('the C API reads what Node writes, and Node what it writes', (t) => {
  const { key, store } = openStore(t, 'node c api');
  store.put('greeting', 'hi C');
  store.put('runs', '41');
  const out = execFileSync(C_COUNTER, [hex(key)], { encoding: 'utf8' });
  assert.match(out, /runs: 42/);
  assert.match(out, /greeting: hi C/);
  assert.equal(store.incr('runs'), 43);
});

test('Python reads what Node writes, and Node what Python writes', (t) => {
  const { key, store } = openStore(t, 'node python');
  store.put(Buffer.from([0x6e, 0xff]), Buffer.from([0, 1, 2]));
  store.put('text', 'from node');
  const out = python(`
import shmkv, sys
s = shmkv.Store(key=int(sys.argv[1]))
print(s.get(b"\\x6e\\xff").hex(), s.get("text").decode())
s.put(b"py", b"from python", ttl=60)
s.incr("count", 5)
`, [String(key)]);
  assert.equal(out.trim(), '000102 from node');
  assert.equal(store.getString('py'), 'from python');
  assert.equal(store.incr('count'), 6);
});

test('Python reads the UTF-8 of Node\'s string keys, lone surrogates as U+FFFD, and Node what Python writes', (t) => {
  const { key, store } = openStore(t, 'node python keys');
  const keys = ['clé', 'ключ', '😀', 'a\uD800b', '\uDC00', 'x'.repeat(300) + '€'];
  keys.forEach((k, i) => store.put(k, `node ${i}`));
  const out = python(`
import shmkv, sys
s = shmkv.Store(key=int(sys.argv[1]))
keys = ["clé".encode(), "ключ".encode(), "😀".encode(), b"a\\xef\\xbf\\xbdb", b"\\xef\\xbf\\xbd",
        b"x" * 300 + "€".encode()]
print(" ".join(s.get(k).decode() for k in keys))
for i, k in enumerate(keys):
    s.put(k, b"python %d" % i)
`, [String(key)]);
  assert.equal(out.trim(), keys.map((_, i) => `node ${i}`).join(' '));
  keys.forEach((k, i) => assert.equal(store.getString(k), `python ${i}`, `key ${i}`));
});

test('getOrCompute between Node and Python computes once', async (t) => {
  const { key, store } = openStore(t, 'node python single flight');
  // Python computes slowly; Node asks for the same key while it does.
  const child = spawn('/usr/bin/python3', ['-c', `
import shmkv, sys, time
s = shmkv.Store(key=int(sys.argv[1]))
def build():
    s.incr("computations")
    print("computing", flush=True)
    time.sleep(0.3)
    return b"built by python"
print(s.get_or_compute(b"report", build).decode(), flush=True)
`, String(key)], { env: { ...process.env, PYTHONPATH }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      output += d;
      if (output.includes('computing')) resolve();
    });
    child.on('exit', () => reject(new Error(`python ended early: ${output}`)));
  });
  const value = await store.getOrCompute('report', () => {
    store.incr('computations');
    return 'built by node';
  });
  await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', resolve)));
  assert.equal(child.exitCode, 0);
  assert.equal(value.toString(), 'built by python');
  assert.match(output, /built by python/);
  assert.equal(store.getString('computations'), '1');
});
