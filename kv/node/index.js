'use strict';
// shmkv: a key-value cache in one System V shared-memory segment, shared by
// every process on the host (C, C++, Python, kvcli and Node alike).
// index.d.ts documents every call and the errors it throws.

// Buffer from node:buffer: the global `Buffer` is a getter on globalThis,
// called at every use (a tenth of what get adds to getInto).
const { Buffer } = require('node:buffer');
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

// Values read by get, getMeta and getMany are copied by the addon straight
// into a slab of this module's, and returned as Buffers viewing their bytes:
// a Buffer made by the addon has a backing store of its own (a malloc, and
// work for the garbage collector), which costs about as much as the store's
// read. A slab is never written twice: once less than POOLED_MAX is left, a
// new one takes its place (the old one lives as long as a value in it).
// Larger values get a Buffer of their own. One slab per thread (each worker
// thread loads this module anew).
const SLAB = 16 * 1024;
const POOLED_MAX = 4 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB);
let slabBytes = slab.buffer;
let used = 0;
// What the slab readers take and give instead of arguments and a return
// value: the offset into the slab in (ioOffset, io[0]'s first 4 bytes), the
// value's length (-1: absent) out in io[1], and getMeta's flags,
// ttlRemaining and the version's bits in io[2..4]. Its own ArrayBuffer, so
// that its bytes are off V8's heap and stay put.
const io = new Float64Array(new ArrayBuffer(5 * 8));
const ioOffset = new Uint32Array(io.buffer, 0, 1);
const ioVersion = new BigUint64Array(io.buffer);
// The addon keeps the slab and io (getIntoSlab and getMetaIntoSlab copy into
// it without being handed the Buffer: about 0.9x the time of a get that was).
native.setSlab(slab, io);
// The Symbols the slab readers are keyed by, known to this file alone.
const { getIntoSlab: GET_INTO_SLAB, getMetaIntoSlab: GET_META_INTO_SLAB } = native;
// getMetaInto's out-parameters (a value too large for the slab): io[2..4].
const meta = io.subarray(2);
// getManyInto's sizes, grown to the longest list of keys asked for.
let sizes = new Float64Array(64);

// A Buffer over `length` bytes of an ArrayBuffer at `offset`, made by the
// constructor of Buffer's views, Buffer[Symbol.species] (what subarray
// calls with (arrayBuffer, byteOffset, length) to make the Buffer it
// returns): Buffer.from(arrayBuffer, ...) first asks C++ whether its
// argument is an ArrayBuffer, about a tenth of a get. Checked once here;
// with a species that made no such Buffer, Buffer.from.
const BufferView = (() => {
  const Species = Buffer[Symbol.species];
  try {
    const probe = new Species(new ArrayBuffer(4), 1, 2);
    if (Buffer.isBuffer(probe) && probe.byteOffset === 1 && probe.length === 2) return Species;
  } catch {
    // Buffer.from below
  }
  return null;
})();
function bufferOver(bytes, offset, length) {
  return BufferView !== null ? new BufferView(bytes, offset, length) : Buffer.from(bytes, offset, length);
}

// Room for at least POOLED_MAX bytes at `used`.
function makeRoom() {
  if (SLAB - used < POOLED_MAX) {
    slab = Buffer.allocUnsafeSlow(SLAB);
    slabBytes = slab.buffer;
    used = 0;
    native.setSlab(slab, io);
  }
}

// `size` bytes of the slab at `used` as a Buffer (over its ArrayBuffer:
// subarray would read slab.buffer, a call into V8's runtime), and the next
// value's place, 8-byte aligned as Node's pool does.
function take(size) {
  const value = bufferOver(slabBytes, used, size);
  used = (used + size + 7) & ~7;
  return value;
}

// The value of key as a Buffer, or undefined; with its metadata in io[2..4]
// when withMeta.
function readValue(store, key, withMeta) {
  makeRoom();
  ioOffset[0] = used;
  if (withMeta) store[GET_META_INTO_SLAB](key);
  else store[GET_INTO_SLAB](key);
  let size = io[1];
  if (size < 0) return undefined;
  if (size <= SLAB - used) return take(size);
  for (;;) {  // too large for the slab: read again into a Buffer of its size
    const value = Buffer.allocUnsafe(size);
    const now = withMeta ? store.getMetaInto(key, value, 0, meta) : store.getInto(key, value, 0);
    if (now === undefined) return undefined;
    if (now <= size) return now === size ? value : value.subarray(0, now);
    size = now;  // it grew in between
  }
}

class Store extends native.NativeStore {
  // The value as a Buffer, or undefined. A value of up to 4 KiB may share
  // its ArrayBuffer with other values, as Buffer.from's do.
  get(key) {
    return readValue(this, key, false);
  }

  getMeta(key) {
    const value = readValue(this, key, true);
    if (value === undefined) return undefined;
    return { value, version: ioVersion[4], flags: io[2], ttlRemaining: io[3] };
  }

  // Each key's value, or undefined: views of the slab, or of one Buffer
  // the addon made when they do not fit in it. Reading the keys may run
  // JavaScript (an element's getter) that reads this module's values too:
  // the rest of the slab and `sizes` are this call's until it returns.
  getMany(keys) {
    if (Array.isArray(keys) && keys.length > sizes.length) sizes = new Float64Array(keys.length);
    makeRoom();
    const mine = slab, at = used, lengths = sizes;
    used = SLAB;
    let got;
    try {
      got = this.getManyInto(keys, lengths, mine, at);
    } finally {
      if (slab === mine) used = typeof got === 'number' ? (at + got + 7) & ~7 : at;
    }
    let bytes = mine.buffer, from = at;
    if (typeof got !== 'number') {
      bytes = got.buffer;
      from = got.byteOffset;
    }
    const values = new Array(keys.length);
    for (let i = 0; i < values.length; i++) {
      const size = lengths[i];
      values[i] = size < 0 ? undefined : bufferOver(bytes, from, size);
      if (size > 0) from += size;
    }
    return values;
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
