'use strict';
// Per-op cost of get and put from Node: shmkv (shared by every process)
// against what a Node program would use instead: an in-process Map and
// lru-cache (not shared: what crossing into the addon costs), Redis through
// ioredis and node-redis on a unix socket, and LMDB through lmdb-js.
//
//   node bench.js --key=0x6b6f0001 --redis=/path/redis.sock --lmdb=/dev/shm/dir [--ops=200000] [--workers=4]
// (run.sh starts Redis and cleans up). With --workers=N, N cluster workers
// run each system at once, each phase started in all of them together, and
// the figures are per worker.
const cluster = require('node:cluster');

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, '').split('=');
  return [k, v];
}));
const OPS = Number(args.ops || 200000);
const KEYS = 10000;
const VALUE = Buffer.alloc(100, 'v');
const keyOf = (i) => `bench:${i % KEYS}`;

// ns per op of fn(i) over n ops (sync or async batches of 64 for the clients).
async function time(n, fn, isAsync) {
  const start = process.hrtime.bigint();
  if (!isAsync) {
    for (let i = 0; i < n; i++) fn(i);
  } else {
    for (let i = 0; i < n; i += 64) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 64); j++) batch.push(fn(j));
      await Promise.all(batch);
    }
  }
  return Number(process.hrtime.bigint() - start) / n;
}

async function systems() {
  const { Store } = require('shmkv');
  const { LRUCache } = require('lru-cache');
  const Redis = require('ioredis');
  const { createClient } = require('redis');
  const { open } = require('lmdb');
  const store = Store.open({ key: args.key, create: true, capacity: '64MiB' });
  const map = new Map();
  const lru = new LRUCache({ max: KEYS * 2 });
  const ioredis = new Redis({ path: args.redis, lazyConnect: false });
  const noderedis = createClient({ socket: { path: args.redis } });
  await noderedis.connect();
  const lmdb = open({ path: args.lmdb, noSync: true });
  const redisOps = Math.max(1000, Math.floor(OPS / 20));
  return [
    ['shmkv', (i) => store.put(keyOf(i), VALUE), (i) => store.get(keyOf(i)), OPS, false],
    ['Map (in-process)', (i) => map.set(keyOf(i), VALUE), (i) => map.get(keyOf(i)), OPS, false],
    ['lru-cache (in-process)', (i) => lru.set(keyOf(i), VALUE), (i) => lru.get(keyOf(i)), OPS, false],
    ['lmdb-js', (i) => lmdb.putSync(keyOf(i), VALUE), (i) => lmdb.getBinary(keyOf(i)), OPS / 4, false],
    ['ioredis (unix socket, 64 in flight)', (i) => ioredis.set(keyOf(i), VALUE),
      (i) => ioredis.getBuffer(keyOf(i)), redisOps, true],
    ['node-redis (unix socket, 64 in flight)', (i) => noderedis.set(keyOf(i), VALUE),
      (i) => noderedis.get(keyOf(i)), redisOps, true],
  ].map(([name, put, get, n, isAsync]) => ({ name, put, get, n, isAsync })).concat([{
    close: async () => {
      store.close();
      ioredis.disconnect();
      await noderedis.quit();
      await lmdb.close();
    },
  }]);
}

// With workers, each timed phase starts when every worker has reached it, so
// that one worker's gets never run beside another's puts of the same keys
// (the primary answers `go` once all are `ready`). Alone, nothing to wait for.
function barrier() {
  if (!cluster.isWorker) return Promise.resolve();
  return new Promise((resolve) => {
    process.once('message', (m) => resolve(m));
    process.send({ ready: true });
  });
}

async function run() {
  const list = await systems();
  const close = list.pop().close;
  const rows = [];
  for (const s of list) {
    await time(Math.min(s.n, KEYS), s.put, s.isAsync);  // fill, and warm up
    await barrier();
    const put = await time(s.n, s.put, s.isAsync);
    // A first pass of gets, not timed: V8's young generation grows during
    // it in a get that makes a Buffer (first touches of new pages), which
    // cost a shmkv get about twice its steady cost here.
    await barrier();
    await time(s.n, s.get, s.isAsync);
    await barrier();
    const get = await time(s.n, s.get, s.isAsync);
    rows.push({ system: s.name, put_ns: Math.round(put), get_ns: Math.round(get) });
  }
  await close();
  return rows;
}

function print(title, rows) {
  console.log(title);
  console.log('| system | get ns/op | put ns/op |\n| --- | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.system} | ${r.get_ns} | ${r.put_ns} |`);
}

async function main() {
  const workers = Number(args.workers || 0);
  if (!workers) {
    print(`one process, ${OPS} ops (Redis: ${Math.max(1000, Math.floor(OPS / 20))})`, await run());
    return;
  }
  if (cluster.isPrimary) {
    let ready = 0;
    const results = await Promise.all(Array.from({ length: workers }, () => new Promise((resolve, reject) => {
      cluster.fork().on('message', (m) => {
        if (!m.ready) return resolve(m.rows);
        if (++ready < workers) return;
        ready = 0;
        for (const w of Object.values(cluster.workers)) w.send({ go: true });
      }).on('exit', (code) => {  // a worker that failed would leave the others at a barrier
        if (code !== 0) reject(new Error(`a worker exited with code ${code}`));
      });
    })));
    const rows = results[0].map((r, i) => ({
      system: r.system,
      get_ns: Math.round(results.reduce((sum, w) => sum + w[i].get_ns, 0) / workers),
      put_ns: Math.round(results.reduce((sum, w) => sum + w[i].put_ns, 0) / workers),
    }));
    print(`${workers} cluster workers at once, mean per worker`, rows);
    for (const w of Object.values(cluster.workers)) w.disconnect();
  } else {
    process.send({ rows: await run() });
  }
}

main().catch((e) => {
  console.error(e);
  for (const w of Object.values(cluster.workers || {})) w.kill();
  process.exit(1);
});
