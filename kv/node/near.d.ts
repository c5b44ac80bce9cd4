// Types of shmkv/near: NearCache, a shmkv Store as the host-wide near cache
// in front of Redis, kept fresh by kvsync (one per host and store), with the
// same semantics as the C++ and Python NearCache (doc/near_cache.md).
//
// Reads: a value in the store is served from it ('hit'). A miss reads Redis
// once per host however many processes miss together ('filled' here,
// 'shared' in the others) and fills the store for at most fillTtl seconds.
// When kvsync is not running, not synced or not tracking the key's prefix,
// reads go to Redis directly and fill nothing ('direct', with the reason).
// Writes go to Redis and drop the local copy.
//
// Errors: UnavailableError (ERR_SHMKV_UNAVAILABLE) when Redis cannot be
// reached or a command times out (redisTimeout); FailedPreconditionError
// (ERR_SHMKV_FAILED_PRECONDITION) when Redis refuses a command (e.g. GET of a
// key that holds a list: near-cached keys hold strings); a ShmkvError coded
// ERR_SHMKV_INTERNAL for an answer Redis should not give; StoreClosedError
// when this NearCache or its Store was closed; InvalidArgumentError for a bad
// Redis address or a key under the reserved prefix "\0shmkv."; TypeError for
// an argument of the wrong type, RangeError for an option out of range. A
// failure of the store itself (destroyed, corrupt, a lock not released in
// time) does not throw from get: the read goes to Redis directly ('direct',
// the reason naming the failure). The calls are synchronous: a
// miss waits for Redis (at most redisTimeout per command) and for another
// process's fill of the same key.

/// <reference types="node" />
import { Bytes, Store } from './index';

export interface NearCacheOptions {
  /** 'unix:/path/redis.sock', 'host:port' or 'cluster:HOST:PORT[,HOST:PORT...]': the Redis kvsync follows. */
  redis: string;
  /** Seconds a filled value lives at most (default 300). */
  fillTtl?: number;
  /** A kvsync heartbeat older than this many seconds means kvsync is gone (default 1). */
  heartbeatTimeout?: number;
  /** Bounds connecting to Redis and each command, in seconds (default 1). */
  redisTimeout?: number;
  /** Seconds a read trusts kvsync's record as last read; 0: read it on every get (default 0.001). */
  syncCheckInterval?: number;
}

/** How getInfo served a key. */
export interface ReadInfo {
  /** The value, or undefined when Redis has no such key (absence is not cached). */
  value: Buffer | undefined;
  /** 'hit': from the store; 'filled': read Redis and filled; 'shared': another process's fill; 'direct': read Redis, nothing filled. */
  path: 'hit' | 'filled' | 'shared' | 'direct';
  /** For 'direct': why the store was not used. */
  reason: string | undefined;
}

/** kvsync's record in the store. */
export interface SyncState {
  phase: 'connecting' | 'synced' | 'stopped';
  /** Whether reads may use the store now; else reason says why not. */
  serving: boolean;
  reason: string | undefined;
  pid: number;
  epoch: number;
  /** Seconds. */
  heartbeatAge: number;
  heartbeatInterval: number;
  invalidations: number;
  /** Invalidated keys too long for the store. */
  invalidationsSkipped: number;
  flushes: number;
  resyncs: number;
  keysCleared: number;
  /** A client's PUBLISH on the invalidation channel. */
  foreignMessages: number;
  /** The address kvsync follows. */
  redis: string;
  /** The server followed; undefined while not synced. */
  redisRunId: string | undefined;
  prefixes: Buffer[];
  lastError: string | undefined;
}

/** This object's counters (not host-wide). */
export interface NearCacheStats {
  hits: number;
  fills: number;
  shared: number;
  direct: number;
  redisReads: number;
  redisErrors: number;
  /** Reads that went direct because this connection reached another server than kvsync's. */
  wrongServer: number;
  /** Redis Cluster: MOVED and ASK answers followed. */
  redirects: number;
}

export class NearCache {
  /**
   * Caches options.redis in store (kept alive by this object). Does not connect yet.
   * @throws TypeError (not a Store, a closed Store, no redis, an unknown option, an option not
   *   a number), RangeError (an option out of range: fillTtl, heartbeatTimeout and redisTimeout
   *   > 0, syncCheckInterval >= 0, all finite), InvalidArgumentError (a bad address).
   */
  constructor(store: Store, options: NearCacheOptions);
  /**
   * The value, or undefined when Redis has no such key.
   * @throws UnavailableError (Redis unreachable or too slow), FailedPreconditionError (Redis
   *   refused the GET: the key holds another type than a string), StoreClosedError,
   *   InvalidArgumentError (a key under the reserved prefix "\0shmkv."), TypeError (a key neither
   *   string nor Buffer).
   */
  get(key: Bytes): Buffer | undefined;
  /** Like get, saying how the value was served. Throws as get. */
  getInfo(key: Bytes): ReadInfo;
  /** SET in Redis, then drops the local copy (kvsync drops it on every host). Throws as get (FailedPreconditionError: Redis refused the SET), and TypeError for a value neither string nor Buffer. */
  set(key: Bytes, value: Bytes): void;
  /** DEL in Redis and drops the local copy; false when Redis had no such key. Throws as set (FailedPreconditionError: Redis refused the DEL). */
  delete(key: Bytes): boolean;
  /** kvsync's record, or undefined when no kvsync has run on the store. @throws StoreClosedError, CorruptError (the record cannot be read), and the store's errors as Store.get throws them (StoreDestroyedError, LockTimeoutError). */
  syncState(): SyncState | undefined;
  /** Whether a read of key would use the store now. heartbeatAge is undefined when no kvsync has run. @throws StoreClosedError, TypeError (a key neither string nor Buffer). */
  health(key: Bytes): { serving: boolean; reason: string | undefined; heartbeatAge: number | undefined };
  /** This object's counters. @throws StoreClosedError once closed. */
  stats(): NearCacheStats;
  /** Closes the Redis connection; the store stays open. Never throws. Later calls throw StoreClosedError. */
  close(): void;
  readonly closed: boolean;
}
