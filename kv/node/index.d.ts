// Types of the shmkv Node.js module. A Store is one process's (or worker
// thread's) attachment to a store in a System V shared-memory segment; every
// process that opens the same key (C, C++, Python, kvcli, Node) shares it.
//
// Errors. The store's own failures throw a ShmkvError subclass whose `code`
// is stable (match on it, not on the message, which says what to do):
//   StoreNotFoundError      ERR_SHMKV_NOT_FOUND           no store at that name (open with create: true)
//   AlreadyExistsError      ERR_SHMKV_ALREADY_EXISTS
//   PermissionDeniedError   ERR_SHMKV_PERMISSION_DENIED   the segment's mode or owner refuses this process
//   NotAStoreError          ERR_SHMKV_NOT_A_STORE         the segment is not a shmkv store of this layout
//   NotANumberError         ERR_SHMKV_NOT_A_NUMBER        incr on a value that is not a decimal number
//   FailedPreconditionError ERR_SHMKV_FAILED_PRECONDITION (shmkv/near) Redis refused a command
//   StoreFullError          ERR_SHMKV_STORE_FULL          a full store that may not evict, or a kernel limit
//   LockTimeoutError        ERR_SHMKV_LOCK_TIMEOUT        a lock (or another process's computation) not released in time
//   CorruptError            ERR_SHMKV_CORRUPT             the segment is corrupt: run check({ repair: true })
//   InvalidArgumentError    ERR_SHMKV_INVALID_ARGUMENT    the store refused a key (empty, over maxKeySize), a glob, a cursor,
//                                                         or a key string or options Store.open refuses
//   StoreDestroyedError     ERR_SHMKV_DESTROYED           the store was destroyed after this Store opened it: open it again
//   StoreClosedError        ERR_SHMKV_CLOSED              close() was called on this Store
//   UnavailableError        ERR_SHMKV_UNAVAILABLE         (shmkv/near) Redis cannot be reached or timed out
//   ShmkvError itself       ERR_SHMKV_INTERNAL            a failure none of the above names (e.g. an answer Redis should not give)
// Arguments of the wrong type throw TypeError; numbers out of range (a TTL
// <= 0 or NaN, an integer outside its range, a value over the store's
// maxValue) throw RangeError, as Node's own APIs do. The async calls reject
// with the same errors instead of throwing.

/// <reference types="node" />

/** A key or a value: a string (stored as its UTF-8 bytes) or a Buffer / Uint8Array. */
export type Bytes = string | Uint8Array;

export interface OpenOptions {
  /** The System V key: a number 1..0xffffffff or a string such as '0x5f3e0001'. Give key or path. */
  key?: number | string;
  /** A file whose ftok(3) key (with proj) names the store. The file must exist. */
  path?: string;
  /** ftok's project id, 1..255 (default 1). */
  proj?: number;
  /** Create the store if there is none (default false: StoreNotFoundError). */
  create?: boolean;
  /** Bytes for entries when creating: a number or a string such as '64MiB' (default 64 MiB). */
  capacity?: number | string;
  /** Largest value when creating (default 1 MiB). */
  maxValue?: number | string;
  /** Entries the index is sized for when creating (default capacity / 64). */
  items?: number | string;
  /** Evict the least recently used entries when full (default true); false: StoreFullError. */
  evict?: boolean;
  /** TTL in seconds for writes that give none (default: never expire). */
  defaultTtl?: number;
  /** Permission bits of the segment when creating (default 0o600). */
  mode?: number;
  /** Seconds one lock holder may keep a lock this process waits for (default 5): then LockTimeoutError. */
  lockTimeout?: number;
  /** Attach to a store another uid created (refused by default). */
  allowForeignOwner?: boolean;
}

export interface WriteOptions {
  /** Seconds > 0 (below 1 ms counts as 1 ms); Infinity: never; left out: the store's default. */
  ttl?: number;
  /** 0..2**32-1, returned by getMeta. */
  flags?: number;
}

export interface EntryMeta {
  value: Buffer;
  /** Bumped by every write: the token of cas. */
  version: bigint;
  flags: number;
  /** Seconds left; Infinity when it never expires. */
  ttlRemaining: number;
}

export interface Selection {
  /** Keys starting with these bytes. */
  prefix?: Bytes;
  /** A byte glob: * ? [a-z] [!a-z] \\ (InvalidArgumentError when malformed). */
  match?: Bytes;
}

export interface KeysOptions extends Selection {
  /** Keys per page read from the store (default 100). */
  count?: number;
  /** Yield Buffers instead of strings (keys that are not UTF-8). */
  asBuffer?: boolean;
}

export interface GetOrComputeOptions {
  /** TTL of the computed value (as WriteOptions.ttl). */
  ttl?: number;
  /** Seconds to wait for another process's computation (default 10): then LockTimeoutError. */
  waitTimeout?: number;
  /** Seconds after which a computing process is presumed dead and another takes over (default 5). */
  leaseTimeout?: number;
}

export interface Stats {
  hits: number; misses: number; puts: number; deletes: number;
  evictions: number; expirations: number; items: number;
  keyBytes: number; valueBytes: number; bytesUsed: number; capacity: number;
  indexEntries: number; indexLimit: number; lockWaits: number; ownerDeathsRecovered: number;
}

export interface Info {
  name: string; key: number; layoutVersion: number; segmentBytes: number; capacity: number;
  lockStripes: number; maxKeySize: number; maxValueSize: number; evict: boolean;
  /** Seconds; Infinity when writes without a TTL never expire. */
  defaultTtl: number;
  createdAtMs: number; creatorUid: number; ownerUid: number; creatorPid: number; mode: number;
  attachedProcesses: number;
  /** Host settings that would remove the store behind its users' backs. */
  warnings: string[];
}

export interface CheckReport {
  ok: boolean; problems: string[]; repairs: string[];
  entriesChecked: number; entriesDropped: number;
}

export class Store {
  /**
   * Opens (with create: true, creates if absent) the store named by key or by path and proj.
   * @throws StoreNotFoundError (no store and create is false, or path names no file),
   *   PermissionDeniedError, NotAStoreError, StoreFullError (a kernel limit), LockTimeoutError,
   *   InvalidArgumentError (a key string that is not a System V key, or options the store refuses,
   *   e.g. a capacity too small for its index); TypeError for an unknown option, a wrong type, or
   *   both or neither of key and path; RangeError for a number or size out of range (e.g. proj
   *   outside 1..255, a capacity string that is not a size, a ttl or lockTimeout <= 0).
   */
  static open(options: OpenOptions): Store;

  /**
   * Removes the store (its segment and semaphore set). Every later call of a process still
   * attached throws StoreDestroyedError until it opens the name again.
   * @throws StoreNotFoundError, PermissionDeniedError (only the store's owner, creator or root
   *   may destroy it; nothing changes), InvalidArgumentError (a key string that is not a System V
   *   key), TypeError (both or neither of key and path, a wrong type), RangeError (proj outside
   *   1..255, a key number outside 1..0xffffffff).
   */
  static destroy(name: { key?: number | string; path?: string; proj?: number }): void;

  /** The value, or undefined when absent (a value up to 4 KiB may share its ArrayBuffer, of 16 KiB, with other values get, getMeta and getMany returned, as Buffer.from's share Node's pool). @throws LockTimeoutError, CorruptError, InvalidArgumentError, StoreDestroyedError, StoreClosedError, TypeError. */
  get(key: Bytes): Buffer | undefined;
  /**
   * Copies the value into `target` from `offset` (default 0) when it fits in the bytes left
   * there, and returns its length either way: a length over `target.length - offset` means
   * nothing was copied (give a larger target). undefined when absent. For a reader that
   * reuses one Buffer (e.g. to write values to a socket) and wants no Buffer made per read.
   * @throws TypeError (target not a Buffer/Uint8Array, offset not a number), RangeError
   *   (offset not an integer in 0..target.length), and as get.
   */
  getInto(key: Bytes, target: Uint8Array, offset?: number): number | undefined;
  /** The value decoded as UTF-8, or undefined. Throws as get. */
  getString(key: Bytes): string | undefined;
  /** Value and metadata, or undefined (the value as get's). Throws as get. */
  getMeta(key: Bytes): EntryMeta | undefined;
  /** Whether the key is present. Throws as get. */
  has(key: Bytes): boolean;
  /** Each key's value (undefined when absent), read in one call; the values of one call share one ArrayBuffer (with other values get returned when they fit in 16 KiB, as get's). @throws TypeError (keys not an array), and as get (naming the key's index). */
  getMany(keys: Bytes[]): Array<Buffer | undefined>;

  /**
   * Stores value under key; returns the new version.
   * @throws StoreFullError (full, eviction off), RangeError (value over maxValue, bad ttl),
   *   and as get.
   */
  put(key: Bytes, value: Bytes, options?: WriteOptions): bigint;
  /**
   * get and put off the event loop, each on a thread of its own (tens of microseconds to start:
   * use them where a lock may be held long, e.g. by a stuck process, not for every read). They
   * wait at most the store's lockTimeout, then reject with LockTimeoutError; they reject as get
   * and put throw.
   */
  getAsync(key: Bytes): Promise<Buffer | undefined>;
  putAsync(key: Bytes, value: Bytes, options?: WriteOptions): Promise<bigint>;
  /** Stores each [key, value]; the first failed item's error is thrown after the call (the others are stored). @throws TypeError (items not an array, an item not a [key, value] pair), and as put (naming the item's index). */
  putMany(items: Array<[Bytes, Bytes]>, options?: { ttl?: number }): void;
  /** Stores only if absent; false if the key exists. Throws as put. */
  add(key: Bytes, value: Bytes, options?: WriteOptions): boolean;
  /** Stores only if present; false if absent. Throws as put. */
  replace(key: Bytes, value: Bytes, options?: WriteOptions): boolean;
  /** Stores only if the entry's version is still `version`; false otherwise. @throws TypeError (version neither a number nor a bigint), RangeError (a negative or fractional version, or a number past Number.MAX_SAFE_INTEGER: give a bigint), and as put. */
  cas(key: Bytes, version: bigint | number, value: Bytes, options?: WriteOptions): boolean;
  /**
   * Adds `by` (default 1) to the decimal number at key, created as init + by; returns it (a
   * bigint beyond Number.MAX_SAFE_INTEGER). Wraps on int64 overflow.
   * @throws NotANumberError (the stored value is not a decimal integer), RangeError (by or init
   *   not an integer in the int64 range, or a number past Number.MAX_SAFE_INTEGER: give a bigint),
   *   TypeError (by or init neither a number nor a bigint), and as put.
   */
  incr(key: Bytes, by?: number | bigint, options?: { init?: number | bigint; ttl?: number }): number | bigint;
  /** Sets a new TTL (Infinity: never); false if absent. @throws TypeError (no ttl), RangeError (ttl <= 0 or NaN), and as get. */
  touch(key: Bytes, ttl: number): boolean;
  /** Removes key; false if absent. Throws as get. */
  delete(key: Bytes): boolean;

  /**
   * The cached value, or compute()'s result stored under key. Across processes of any language,
   * concurrent misses on one key call compute once; the others wait (off the event loop).
   * If compute throws or rejects, nothing is stored and the promise rejects with its error.
   * compute runs on this thread's event loop. If this thread (a worker thread) ends before
   * compute settles, the computation is abandoned and the next caller computes.
   * @rejects LockTimeoutError (waited waitTimeout), TypeError (compute is not a function, or gave
   *   neither string nor Buffer), RangeError (compute's value is over the store's maxValue;
   *   nothing is stored; or a ttl, waitTimeout or leaseTimeout out of range), and as put
   *   (StoreClosedError, StoreDestroyedError, ...). It never throws: every error rejects.
   */
  getOrCompute(key: Bytes, compute: () => Bytes | Promise<Bytes>, options?: GetOrComputeOptions): Promise<Buffer>;

  /** The keys selected, read a page at a time as consumed: each key present throughout comes once. Throws while iterated: InvalidArgumentError (a malformed match glob), RangeError (count outside 1..1048576), TypeError (a prefix or match neither string nor Buffer), and as get. */
  keys(options?: KeysOptions): IterableIterator<string | Buffer>;
  /** One page of a walk: [next cursor (0n: done), keys]. @throws InvalidArgumentError for a cursor not from this store or a malformed match glob, RangeError (count outside 1..1048576), TypeError, and as get. */
  scanPage(cursor: bigint | number, count: number, options?: KeysOptions): [bigint, Array<string | Buffer>];
  /** Deletes the entries selected; returns how many. @throws InvalidArgumentError when it selects everything (use flush) or for a malformed match glob, TypeError (selection not an object), and as get. */
  deleteMatching(selection: Selection): number;

  /** Counters summed over the lock stripes. Throws as get. */
  stats(): Stats;
  /** The store's settings and the segment's facts. Throws as get. */
  info(): Info;
  /** Verifies the store (repair: also repairs it). Blocks while it walks the store: prefer checkAsync. @throws TypeError (options not an object), and as get. */
  check(options?: { repair?: boolean }): CheckReport;
  /** check off the event loop. Rejects as check throws. */
  checkAsync(options?: { repair?: boolean }): Promise<CheckReport>;
  /** Removes every entry, one stripe at a time. Throws as get. */
  flush(): void;
  /** flush off the event loop. Rejects as flush throws (StoreClosedError, StoreDestroyedError, LockTimeoutError, ...). */
  flushAsync(): Promise<void>;
  /** Removes expired entries now; returns how many. Throws as get. */
  flushExpired(): number;
  /** Detaches this process; the store stays. Never throws (closing twice is harmless). Later calls throw StoreClosedError. */
  close(): void;
  readonly closed: boolean;
}

export class ShmkvError extends Error {
  readonly code: string;
}
export class StoreNotFoundError extends ShmkvError {}
export class AlreadyExistsError extends ShmkvError {}
export class PermissionDeniedError extends ShmkvError {}
export class NotAStoreError extends ShmkvError {}
export class NotANumberError extends ShmkvError {}
export class FailedPreconditionError extends ShmkvError {}
export class StoreFullError extends ShmkvError {}
export class LockTimeoutError extends ShmkvError {}
export class CorruptError extends ShmkvError {}
export class InvalidArgumentError extends ShmkvError {}
export class StoreDestroyedError extends ShmkvError {}
export class StoreClosedError extends ShmkvError {}
export class UnavailableError extends ShmkvError {}
