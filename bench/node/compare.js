'use strict';
// Two builds of the shmkv module in one process, on one store, taking turns:
// round by round, each times get, getMeta and getMany (16 keys) of the same
// 10,000 keys and 100-byte values. The ratio is taken per pair of
// neighbouring rounds, so a machine whose speed drifts (other processes)
// moves both sides alike; the median ratio is the figure to quote. Times
// are the process's CPU time (user + system), which on a busy machine leaves
// out the time other processes held the core.
//
//   node compare.js --a=DIR_A --b=DIR_B --key=0x6b6f0002 [--rounds=21] [--ops=100000]
//                   [--calls=get,getInto]   (calls by their first word; default all)
// DIR_A and DIR_B each hold a module as run.sh lays it out (index.js,
// package.json, shmkv.node): e.g. one built from main and one from a branch.
const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const [k, v] = a.replace(/^--/, '').split('=');
  return [k, v];
}));
const ROUNDS = Number(args.rounds || 21);
const OPS = Number(args.ops || 100000);
const KEYS = 10000;
const keyOf = (i) => `bench:${i % KEYS}`;
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

const target = Buffer.allocUnsafeSlow(4096);
const calls = {
  get: (s, i) => s.get(keyOf(i)).length,
  'getInto a reused Buffer': (s, i) => s.getInto(keyOf(i), target),
  getMeta: (s, i) => s.getMeta(keyOf(i)).value.length,
  'getMany (16 keys), per key': (s, i) => {
    const keys = [];
    for (let j = 0; j < 16; j++) keys.push(keyOf(i * 16 + j * 613));
    return s.getMany(keys).length;
  },
};

function time(store, fn, n) {
  let sink = 0;
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) sink += fn(store, i);
  const used = process.cpuUsage(start);
  const ns = ((used.user + used.system) * 1000) / n;
  if (sink < 0) console.log(sink);
  return ns;
}

function main() {
  const sides = ['a', 'b'].map((side) => {
    const { Store } = require(require('node:path').resolve(args[side], 'index.js'));
    return Store.open({ key: args.key, create: true, capacity: '64MiB' });
  });
  const value = Buffer.alloc(100, 'v');
  for (let i = 0; i < KEYS; i++) sides[0].put(keyOf(i), value);
  console.log(`A: ${args.a}\nB: ${args.b}\n${ROUNDS} rounds of ${OPS} ops each, A and B in turn`);
  console.log('| call | A CPU ns/op (median) | B CPU ns/op (median) | A/B (median of pairs) | A/B range |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  const only = args.calls ? args.calls.split(',') : null;
  for (const [name, fn] of Object.entries(calls)) {
    if (only && !only.includes(name.split(' ')[0])) continue;
    const per = name.startsWith('getMany') ? 16 : 1;
    const n = Math.ceil(OPS / per);
    sides.forEach((s) => time(s, fn, n));  // warm up both
    const a = [], b = [], ratios = [];
    for (let r = 0; r < ROUNDS; r++) {
      const [first, second] = r % 2 ? [1, 0] : [0, 1];  // alternate which goes first
      const t = [];
      t[first] = time(sides[first], fn, n) / per;
      t[second] = time(sides[second], fn, n) / per;
      a.push(t[0]);
      b.push(t[1]);
      ratios.push(t[0] / t[1]);
    }
    const sorted = [...ratios].sort((x, y) => x - y);
    console.log(`| ${name} | ${Math.round(median(a))} | ${Math.round(median(b))} | ` +
      `${median(ratios).toFixed(2)} | ${sorted[0].toFixed(2)}..${sorted[sorted.length - 1].toFixed(2)} |`);
  }
  sides.forEach((s) => s.close());
}

main();
