'use strict';
// The floors under a shmkv get from Node, in one process, against the same
// 10,000 keys and 100-byte values as bench.js: what a call into any
// Node-API addon costs (with a string argument, encoding it, returning a new
// Buffer), what making a Buffer costs in JavaScript, getInto's work done
// in plain Node-API, and the C++ API's own read of those keys in a loop
// inside an addon. The rows of one run are comparable with each other;
// run.sh runs it after bench.js.
//
//   node floors.js --key=0x6b6f0001 --floors=PATH/floors.node [--ops=1000000]
const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, '').split('=');
  return [k, v];
}));
const OPS = Number(args.ops || 1000000);
const KEYS = 10000;
const VALUE = Buffer.alloc(100, 'v');
const keyOf = (i) => `bench:${i % KEYS}`;

// [wall, CPU] ns per op of fn(i): the best of 5 rounds of OPS / 5 each (on
// a busy machine, the round least disturbed by other processes; the
// process's CPU time leaves out the time they held the core).
function time(fn) {
  for (let i = 0; i < KEYS; i++) fn(i);  // warm up
  const n = Math.ceil(OPS / 5);
  let wall = Infinity, cpu = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint(), startCpu = process.cpuUsage();
    for (let i = round * n; i < (round + 1) * n; i++) fn(i);
    const used = process.cpuUsage(startCpu);
    wall = Math.min(wall, Number(process.hrtime.bigint() - start) / n);
    cpu = Math.min(cpu, ((used.user + used.system) * 1000) / n);
  }
  return [wall, cpu];
}

function main() {
  const { Store } = require('shmkv');
  const { LRUCache } = require('lru-cache');
  const floors = require(args.floors);
  const store = Store.open({ key: args.key, create: true, capacity: '64MiB' });
  const lru = new LRUCache({ max: KEYS * 2 });
  for (let i = 0; i < KEYS; i++) {
    store.put(keyOf(i), VALUE);
    lru.set(keyOf(i), VALUE);
  }
  const slab = Buffer.allocUnsafeSlow(64 * 1024);
  floors.open(Number(args.key));
  let sink = 0;
  const rows = [
    ['the loop and its key string alone', (i) => { sink += keyOf(i).length; }],
    ['lru-cache get (the reference)', (i) => { sink += lru.get(keyOf(i)).length; }],
    ['empty addon call, string argument', (i) => { floors.empty(keyOf(i)); }],
    ['addon call encoding the key to UTF-8', (i) => { floors.encode(keyOf(i)); }],
    ['addon call copying the key\'s UTF-16', (i) => { floors.encode16(keyOf(i)); }],
    ['addon call returning a new 100-byte Buffer', (i) => { sink += floors.newBuffer(keyOf(i)).length; }],
    ['Buffer.allocUnsafe(100) in JS (Node\'s pool)', (i) => { sink += Buffer.allocUnsafe(100 + (i & 1)).length; }],
    ['subarray of a preallocated Buffer in JS', (i) => { sink += slab.subarray(i & 1023, (i & 1023) + 100).length; }],
    ['plain Node-API: getInto\'s arguments and a copy, no read', (i) => { sink += floors.argsOnly(keyOf(i), slab); }],
    ['plain Node-API: getInto (Store::Get, then the copy)', (i) => { sink += floors.readInto(keyOf(i), slab); }],
    ['shmkv get', (i) => { sink += store.get(keyOf(i)).length; }],
    ['shmkv getInto a caller\'s Buffer', (i) => { sink += store.getInto(keyOf(i), slab); }],
  ];
  console.log(`floors: one process, ${OPS} ops, ${KEYS} keys, 100-byte values`);
  console.log('| what | wall ns/op | CPU ns/op |\n| --- | ---: | ---: |');
  for (const [name, fn] of rows) {
    const [wall, cpu] = time(fn);
    console.log(`| ${name} | ${Math.round(wall)} | ${Math.round(cpu)} |`);
  }
  const loops = Array.from({ length: 5 }, () => floors.storeLoop(Number(args.key), OPS / 5, KEYS));
  const cxx = { get: Math.min(...loops.map((l) => l.get)), view: Math.min(...loops.map((l) => l.view)) };
  console.log(`| C++ Store::Get into a std::string, in a loop | | ${Math.round(cxx.get)} |`);
  console.log(`| C++ Store::View copying the value out, in a loop | | ${Math.round(cxx.view)} |`);
  store.close();
  if (sink === -1) console.log(sink);
}

main();
