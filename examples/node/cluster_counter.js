'use strict';
// Four `cluster` workers serving HTTP on one port, sharing a store: each
// request is counted in the store (one counter for all workers), and the
// greeting is built once for all of them (getOrCompute). The primary sends
// REQUESTS requests itself, prints the count, and stops the workers; the
// store stays, for kvcli and Python to read.
//
// In an application's folder (require('shmkv') looks in the node_modules
// beside this file, so copy it there):
//   npm install PREFIX/lib/node_modules/shmkv     (after bazel run //:install)
//   cp SHMKV/examples/node/cluster_counter.js .
//   node cluster_counter.js 0x5f3e0001 [REQUESTS]
//   kvcli get --key=0x5f3e0001 requests
const cluster = require('node:cluster');
const http = require('node:http');
const { Store } = require('shmkv');

const key = process.argv[2];
const requests = Number(process.argv[3] || 100);
if (!key) {
  console.error('usage: node cluster_counter.js KEY [REQUESTS]   (a System V key, e.g. 0x5f3e0001)');
  process.exit(2);
}

async function handle(store, req, res) {
  const count = store.incr('requests');
  const greeting = await store.getOrCompute('greeting', async () => `hello from worker ${process.pid}`);
  res.end(`${greeting} (request ${count})\n`);
}

function get(port) {
  return new Promise((resolve, reject) => {
    http.get({ port, agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
}

async function primary() {
  const store = Store.open({ key, create: true, capacity: '16MiB' });
  const workers = [];
  for (let i = 0; i < 4; i++) workers.push(cluster.fork());
  // listen(0) in cluster workers shares one port among them.
  const ports = await Promise.all(workers.map((w) => new Promise((resolve) => {
    w.on('listening', (address) => resolve(address.port));
  })));
  const before = Number(store.getString('requests') || 0);
  for (let i = 0; i < requests; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, requests - i) }, () => get(ports[0])));
  }
  console.log(`requests: ${Number(store.getString('requests')) - before} counted by 4 workers ` +
              `(total in the store: ${store.getString('requests')})`);
  console.log(`greeting: ${store.getString('greeting')}`);
  store.close();
  for (const w of workers) w.disconnect();
}

function worker() {
  const store = Store.open({ key });
  http.createServer((req, res) => {
    handle(store, req, res).catch((e) => {
      res.statusCode = 500;
      res.end(`${e.code || e.name}: ${e.message}\n`);
    });
  }).listen(0, '127.0.0.1');
}

if (cluster.isPrimary) {
  primary().catch((e) => {
    console.error(`cluster_counter: ${e.message}`);
    process.exit(1);
  });
} else {
  worker();
}
