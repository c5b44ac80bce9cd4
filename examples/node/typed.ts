// The shmkv module from TypeScript: every call's types as index.d.ts and
// near.d.ts give them (the typings' test compiles this with
// `tsc --noEmit --strict`; the @ts-expect-error lines must not compile).
import { LockTimeoutError, ShmkvError, Store, StoreNotFoundError } from 'shmkv';
import { NearCache, ReadInfo } from 'shmkv/near';

async function main(key: number, redis: string): Promise<void> {
  const s: Store = Store.open({ key, create: true, capacity: '64MiB', lockTimeout: 1 });
  const version: bigint = s.put('user:42', Buffer.from('...'), { ttl: 300 });
  const value: Buffer | undefined = s.get('user:42');
  const text: string | undefined = s.getString('user:42');
  const many: Array<Buffer | undefined> = s.getMany(['a', 'b']);
  s.putMany([['a', '1'], ['b', Buffer.from('2')]], { ttl: 60 });
  const added: boolean = s.add('n', '0') && s.cas('n', version, '1');
  const count = s.incr('hits', 1, { init: 0 });
  const meta = s.getMeta('user:42');
  if (meta !== undefined) console.log(meta.version, meta.ttlRemaining);
  const report: Buffer = await s.getOrCompute('report', async () => 'built', { ttl: 60 });
  const later: Buffer | undefined = await s.getAsync('user:42');
  const written: bigint = await s.putAsync('user:43', 'x');
  for (const k of s.keys({ prefix: 'user:' })) console.log(k);
  console.log(value, text, many, added, count, report, later, written, s.stats(), s.info());
  // @ts-expect-error a value must be a string or a Buffer
  s.put('k', 42);
  // @ts-expect-error get may return undefined
  const sure: Buffer = s.get('k');
  console.log(sure);

  const nc = new NearCache(s, { redis, fillTtl: 300 });
  const info: ReadInfo = nc.getInfo('user:42');
  if (info.path === 'direct') console.log(info.reason);
  nc.set('user:42', 'v');
  const deleted: boolean = nc.delete('user:42');
  const state = nc.syncState();
  console.log(deleted, state?.serving, nc.stats().hits);
  // @ts-expect-error the Redis address is required
  new NearCache(s, {});
  nc.close();
  s.close();
}

main(0x5f3e0001, 'unix:/run/redis/redis.sock').catch((e: unknown) => {
  if (e instanceof StoreNotFoundError || e instanceof LockTimeoutError) console.error(e.code);
  else if (e instanceof ShmkvError) console.error(e.message);
  throw e;
});
