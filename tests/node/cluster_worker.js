'use strict';
// One `cluster` worker of cluster_test.js: increments the shared counter
// INCREMENTS times and asks getOrCompute for each of KEYS keys, counting its
// own computations in the store; then tells the primary it is done.
const { shmkv } = require('./testenv.js');

async function main() {
  const key = Number(process.env.SHMKV_CLUSTER_KEY);
  const increments = Number(process.env.SHMKV_CLUSTER_INCREMENTS);
  const keys = Number(process.env.SHMKV_CLUSTER_KEYS);
  const store = shmkv.Store.open({ key });
  // Start together, so that the computations of one key overlap.
  while (store.getString('go') === undefined) await new Promise((r) => setTimeout(r, 1));
  const reads = [];
  for (let k = 0; k < keys; k++) {
    reads.push(store.getOrCompute(`report:${k}`, async () => {
      store.incr(`computed:${k}`);
      await new Promise((resolve) => setTimeout(resolve, 30));
      return `report ${k} by ${process.pid}`;
    }));
  }
  for (let i = 0; i < increments; i++) store.incr('requests');
  const values = await Promise.all(reads);
  process.send({ values: values.map((v) => v.toString()) });
  store.close();
}

main().catch((e) => {
  process.send({ error: String(e && e.stack) });
});
