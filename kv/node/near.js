'use strict';
// shmkv/near: NearCache, a shmkv Store as the host-wide near cache in front
// of Redis, kept fresh by kvsync (the same as C++'s and Python's NearCache).
// A second addon (shmkv_near.node, which links hiredis) so that the plain
// module does not. near.d.ts documents every call and what it throws.

const { Store } = require('./index.js');
const storeNative = require('./shmkv.node');
const native = require('./shmkv_near.node');

native.setErrorFactory(storeNative.makeError);

const OPTIONS = new Set(['redis', 'fillTtl', 'heartbeatTimeout', 'redisTimeout', 'syncCheckInterval']);

class NearCache extends native.NativeNearCache {
  // new NearCache(store, { redis: 'unix:/run/redis/redis.sock', ... }).
  constructor(store, options) {
    if (!(store instanceof Store)) {
      throw new TypeError('NearCache needs a Store opened by Store.open as its first argument');
    }
    if (options !== null && typeof options === 'object') {
      for (const name of Object.keys(options)) {
        if (!OPTIONS.has(name)) {
          throw new TypeError(`NearCache: unknown option '${name}' (known: ${[...OPTIONS].join(', ')})`);
        }
      }
    }
    super(store, storeNative.attachmentOf(store), options);
  }
}

module.exports = { NearCache };
