'use strict';
// shmkv: a key-value cache in one System V shared-memory segment, shared by
// every process on the host (C, C++, Python, kvcli and Node alike).
// index.d.ts documents every call and the errors it throws.

const native = require('./shmkv.node');

class ShmkvError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
  get name() {
    return this.constructor.name;
  }
}

function errorClass(name, code) {
  const cls = {
    [name]: class extends ShmkvError {
      constructor(message) {
        super(message, code);
      }
    },
  }[name];
  cls.code = code;
  return cls;
}

const errors = {
  StoreNotFoundError: errorClass('StoreNotFoundError', 'ERR_SHMKV_NOT_FOUND'),
  AlreadyExistsError: errorClass('AlreadyExistsError', 'ERR_SHMKV_ALREADY_EXISTS'),
  PermissionDeniedError: errorClass('PermissionDeniedError', 'ERR_SHMKV_PERMISSION_DENIED'),
  NotAStoreError: errorClass('NotAStoreError', 'ERR_SHMKV_NOT_A_STORE'),
  NotANumberError: errorClass('NotANumberError', 'ERR_SHMKV_NOT_A_NUMBER'),
  FailedPreconditionError: errorClass('FailedPreconditionError', 'ERR_SHMKV_FAILED_PRECONDITION'),
  StoreFullError: errorClass('StoreFullError', 'ERR_SHMKV_STORE_FULL'),
  LockTimeoutError: errorClass('LockTimeoutError', 'ERR_SHMKV_LOCK_TIMEOUT'),
  CorruptError: errorClass('CorruptError', 'ERR_SHMKV_CORRUPT'),
  InvalidArgumentError: errorClass('InvalidArgumentError', 'ERR_SHMKV_INVALID_ARGUMENT'),
  StoreDestroyedError: errorClass('StoreDestroyedError', 'ERR_SHMKV_DESTROYED'),
  StoreClosedError: errorClass('StoreClosedError', 'ERR_SHMKV_CLOSED'),
  UnavailableError: errorClass('UnavailableError', 'ERR_SHMKV_UNAVAILABLE'),
};
const byCode = new Map(Object.values(errors).map((cls) => [cls.code, cls]));

function makeError(code, message) {
  const cls = byCode.get(code);
  return cls ? new cls(message) : new ShmkvError(message, code);
}
native.setErrorFactory(makeError);
// For near.js, which gives the near-cache addon the same classes.
native.makeError = makeError;

const OPEN_OPTIONS = new Set([
  'key', 'path', 'proj', 'create', 'capacity', 'maxValue', 'items', 'evict', 'defaultTtl',
  'mode', 'lockTimeout', 'allowForeignOwner',
]);

// Where get() has the addon copy a value before it is copied into a Buffer
// from Node's pool (cheaper than a Buffer of the addon's: see getInto in
// store.cc). One per thread (each worker thread loads this module anew).
const scratch = Buffer.allocUnsafeSlow(64 * 1024);

class Store extends native.NativeStore {
  // The value as a Buffer, or undefined. A value of up to 4 KiB may share
  // its ArrayBuffer with other small Buffers, as Buffer.from's do.
  get(key) {
    const size = this.getInto(key, scratch);
    if (typeof size !== 'number') return size;
    const value = Buffer.allocUnsafe(size);
    scratch.copy(value, 0, 0, size);
    return value;
  }

  // Store.open({ key | path, proj, create, capacity, ... }): see index.d.ts.
  static open(options) {
    if (options !== null && typeof options === 'object') {
      for (const name of Object.keys(options)) {
        if (!OPEN_OPTIONS.has(name)) {
          throw new TypeError(`Store.open: unknown option '${name}' (known: ${[...OPEN_OPTIONS].join(', ')})`);
        }
      }
    }
    return new Store(options);
  }

  // Removes the store named by { key } or { path, proj }.
  static destroy(options) {
    native.destroy(options);
  }

  // The keys selected by { prefix, match }, read a page at a time as the
  // iterator is consumed.
  *keys(options = {}) {
    const { count = 100, ...selection } = options;
    let cursor = 0n;
    do {
      const [next, page] = this.scanPage(cursor, count, selection);
      yield* page;
      cursor = next;
    } while (cursor !== 0n);
  }

  async getOrCompute(key, compute, options) {
    return super.getOrCompute(key, compute, options);
  }

  async getAsync(key) {
    return super.getAsync(key);
  }

  async putAsync(key, value, options) {
    return super.putAsync(key, value, options);
  }

  async checkAsync(options) {
    return super.checkAsync(options);
  }

  async flushAsync() {
    return super.flushAsync();
  }
}

module.exports = { Store, ShmkvError, ...errors };
