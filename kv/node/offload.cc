// Store: the calls that may wait (getOrCompute, checkAsync, flushAsync). Each
// runs on a thread of its own, never on the event loop's thread nor in
// libuv's pool (a compute function that reads files needs that pool while
// other getOrCompute calls wait), and settles a promise on the event loop's
// thread through a thread-safe function. getOrCompute's compute function is
// called on the event loop's thread; the store's single flight (and its
// waiting for another process's computation) runs on the call's thread.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/node/arguments.h"
#include "kv/node/errors.h"
#include "kv/node/node_store.h"
#include "shmkv/store.h"

namespace shmkv::node {
namespace {

// Whether the thread-safe function still exists: Node frees it when the
// environment ends (a worker thread terminated), even while a call's thread
// still holds it; calling it then would touch freed memory.
struct Gate {
  std::mutex mu;
  bool gone = false;
};

// Queues fn(env, js, data) on the event loop unless the function is gone.
template <typename Data, typename Fn>
bool CallOnLoop(Gate& gate, const Napi::ThreadSafeFunction& tsfn, Data* data, Fn fn, bool release) {
  std::lock_guard<std::mutex> lock(gate.mu);
  if (gate.gone) return false;
  // The queue is unbounded: this never waits for the event loop.
  const bool queued = tsfn.BlockingCall(data, fn) == napi_ok;
  if (release) tsfn.Release();
  return queued;
}

struct Job {
  explicit Job(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
  std::shared_ptr<Store> store;
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;
  std::shared_ptr<Gate> gate = std::make_shared<Gate>();
  std::function<absl::Status(Job&)> work;             // off the event loop
  std::function<Napi::Value(Napi::Env, Job&)> value;  // the result, on it
  absl::Status status;

  std::string key, result;
  bool found = false;   // getAsync's
  std::string written;  // putAsync's value, options and the version it made
  WriteOptions write;
  uint64_t version = 0;
  GetOrComputeOptions options;
  uint64_t max_value = 0;  // a larger computed value is a RangeError
  bool repair = false;
  CheckReport report;

  // getOrCompute's hand-over of one computation from the event loop.
  std::mutex mu;
  std::condition_variable answered_cv;
  bool answered = false;
  bool closing = false;  // the environment (e.g. a worker thread) is ending
  absl::StatusOr<std::string> computed;
  bool compute_failed = false;          // then `thrown` holds what it threw
  Napi::Reference<Napi::Value> thrown;  // touched on the event loop only
};

// When the environment ends (a worker thread terminated) before the job
// settles: a computation it waits for will never come, so the call's thread
// stops waiting, and the store's single flight hands the key to the next
// process or thread at once (nothing is stored).
void OnEnvironmentEnd(void* arg) {
  Job& job = *static_cast<Job*>(arg);
  std::lock_guard<std::mutex> lock(job.mu);
  job.closing = true;
  job.answered_cv.notify_one();
}

// On the event loop: settles the promise and frees the job.
void Settle(Napi::Env env, Napi::Function, Job* raw) {
  std::unique_ptr<Job> job(raw);
  // The environment is going away (env is null once it is gone; `closing`
  // was set on this thread while it ends): there is nobody to tell.
  if (env == nullptr || job->closing) {
    job->thrown.SuppressDestruct();
    return;
  }
  napi_remove_env_cleanup_hook(env, OnEnvironmentEnd, raw);
  try {
    Napi::HandleScope scope(env);
    if (job->compute_failed) {
      job->deferred.Reject(job->thrown.Value());
    } else if (!job->status.ok()) {
      job->deferred.Reject(ErrorValue(env, job->status));
    } else {
      job->deferred.Resolve(job->value(env, *job));
    }
  } catch (const Napi::Error&) {
    // JavaScript can no longer run here (the environment is terminating).
  }
}

Napi::Value Start(const Napi::Env& env, std::unique_ptr<Job> job, Napi::Function js) {
  std::shared_ptr<Gate> gate = job->gate;
  job->tsfn = Napi::ThreadSafeFunction::New(env, js, "shmkv", 0, 1, [gate](Napi::Env) {
    std::lock_guard<std::mutex> lock(gate->mu);
    gate->gone = true;
  });
  Napi::Promise promise = job->deferred.Promise();
  Job* raw = job.get();
  try {
    std::thread([raw, gate] {
      raw->status = raw->work(*raw);
      const Napi::ThreadSafeFunction tsfn = raw->tsfn;
      CallOnLoop(*gate, tsfn, raw, Settle, /*release=*/true);  // then raw may be freed
    }).detach();
  } catch (const std::system_error& e) {
    job->tsfn.Release();
    job->deferred.Reject(ErrorValue(
        env, absl::ResourceExhaustedError(std::string("could not start a thread for the call: ") +
                                          e.what())));
    return promise;
  }
  napi_add_env_cleanup_hook(env, OnEnvironmentEnd, raw);
  job.release();  // Settle frees it
  return promise;
}

// On the event loop: the compute function's outcome, handed to the thread.
void Answer(Job& job, absl::StatusOr<std::string> computed) {
  std::lock_guard<std::mutex> lock(job.mu);
  job.computed = std::move(computed);
  job.answered = true;
  job.answered_cv.notify_one();
}

void Fail(Job& job, const Napi::Value& error) {
  job.thrown = Napi::Persistent(error);
  job.compute_failed = true;
  Answer(job, absl::CancelledError("getOrCompute's function failed; nothing was stored"));
}

void Resolved(Job& job, const Napi::Value& value) {
  if (!IsBytes(value)) {
    Fail(job, Napi::TypeError::New(value.Env(),
                                   "getOrCompute's function must return (or resolve to) a "
                                   "string or a Buffer")
                  .Value());
    return;
  }
  const Bytes computed(value, "the computed value");
  const absl::string_view bytes = computed.view();
  if (job.max_value != 0 && bytes.size() > job.max_value) {
    Fail(job, Napi::RangeError::New(
                  value.Env(), ValueTooLarge("getOrCompute's value", bytes.size(), job.max_value))
                  .Value());
    return;
  }
  Answer(job, std::string(bytes));
}

// On the event loop: calls the compute function and waits (without
// blocking) for the promise it may return.
void RunCompute(Napi::Env env, Napi::Function compute, Job* job) {
  if (env == nullptr) {
    Answer(*job, absl::CancelledError("the JavaScript environment is shutting down"));
    return;
  }
  Napi::HandleScope scope(env);
  try {
    const Napi::Value r = compute.Call({});
    const Napi::Value then = r.IsObject() ? r.As<Napi::Object>().Get("then") : env.Undefined();
    if (!then.IsFunction()) {
      Resolved(*job, r);
      return;
    }
    then.As<Napi::Function>().Call(
        r, {Napi::Function::New(env, [job](const Napi::CallbackInfo& i) { Resolved(*job, i[0]); }),
            Napi::Function::New(env, [job](const Napi::CallbackInfo& i) { Fail(*job, i[0]); })});
  } catch (const Napi::Error& e) {
    Fail(*job, e.Value());
  }
}

// On the call's thread: one computation, done on the event loop.
absl::StatusOr<std::string> Compute(Job& job) {
  const absl::Status ending = absl::CancelledError(
      "the JavaScript environment ended before the computation; nothing was stored");
  {
    std::lock_guard<std::mutex> lock(job.mu);
    if (job.closing) return ending;
    job.answered = false;
  }
  if (!CallOnLoop(*job.gate, job.tsfn, &job, RunCompute, /*release=*/false)) return ending;
  std::unique_lock<std::mutex> lock(job.mu);
  job.answered_cv.wait(lock, [&] { return job.answered || job.closing; });
  if (!job.answered) return ending;
  return job.computed;
}

Napi::Function Nothing(const Napi::Env& env) {
  return Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
}

}  // namespace

// getOrCompute(key, fn, { ttl, waitTimeout, leaseTimeout }) -> Promise<Buffer>
Napi::Value NodeStore::GetOrCompute(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  auto job = std::make_unique<Job>(env);
  job->store = Shared(env);
  job->key = std::string(Bytes(info[0], "key").view());
  if (!info[1].IsFunction()) {
    ThrowType(env,
              "getOrCompute's second argument must be a function returning a string, a "
              "Buffer or a promise of one");
  }
  const Napi::Object o = OptionsObject(env, info[2], "options");
  job->options.write.ttl = Ttl(Field(o, "ttl"), "ttl");
  job->options.wait_timeout = Timeout(Field(o, "waitTimeout"), "waitTimeout", absl::Seconds(10));
  job->options.lease_timeout = Timeout(Field(o, "leaseTimeout"), "leaseTimeout", absl::Seconds(5));
  job->max_value = MaxValue(*job->store);
  // A hit, the common case, is answered at once: no thread for it.
  thread_local std::string cached;
  const absl::Status hit = job->store->Get(job->key, &cached);
  if (hit.ok()) {
    job->deferred.Resolve(Napi::Buffer<char>::Copy(env, cached.data(), cached.size()));
    return job->deferred.Promise();
  }
  if (!absl::IsNotFound(hit)) Throw(env, hit);
  job->work = [](Job& j) {
    absl::StatusOr<std::string> r = j.store->GetOrCompute(
        j.key, [&j] { return Compute(j); }, j.options);
    if (r.ok()) j.result = *std::move(r);
    return r.status();
  };
  job->value = [](Napi::Env e, Job& j) {
    return Napi::Buffer<char>::Copy(e, j.result.data(), j.result.size());
  };
  return Start(env, std::move(job), info[1].As<Napi::Function>());
}

// getAsync(key) -> Promise<Buffer | undefined>: get, waiting for a stripe
// lock on the call's thread.
Napi::Value NodeStore::GetAsync(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  auto job = std::make_unique<Job>(env);
  job->store = Shared(env);
  job->key = std::string(Bytes(info[0], "key").view());
  job->work = [](Job& j) {
    const absl::Status s = j.store->Get(j.key, &j.result);
    j.found = s.ok();
    return absl::IsNotFound(s) ? absl::OkStatus() : s;
  };
  job->value = [](Napi::Env e, Job& j) -> Napi::Value {
    if (!j.found) return e.Undefined();
    return Napi::Buffer<char>::Copy(e, j.result.data(), j.result.size());
  };
  return Start(env, std::move(job), Nothing(env));
}

// putAsync(key, value, { ttl, flags }) -> Promise<bigint>: put, waiting
// for a stripe lock on the call's thread.
Napi::Value NodeStore::PutAsync(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  auto job = std::make_unique<Job>(env);
  job->store = Shared(env);
  job->key = std::string(Bytes(info[0], "key").view());
  job->written = std::string(Bytes(info[1], "value").view());
  job->write = WriteOptionsOf(env, info[2]);
  const uint64_t max_value = MaxValue(*job->store);
  if (max_value != 0 && job->written.size() > max_value) {
    ThrowRange(env, ValueTooLarge("value", job->written.size(), max_value));
  }
  job->work = [](Job& j) { return j.store->Put(j.key, j.written, j.write, &j.version); };
  job->value = [](Napi::Env e, Job& j) -> Napi::Value { return Napi::BigInt::New(e, j.version); };
  return Start(env, std::move(job), Nothing(env));
}

// checkAsync({ repair }) -> Promise<CheckReport>
Napi::Value NodeStore::CheckAsync(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  auto job = std::make_unique<Job>(env);
  job->store = Shared(env);
  job->repair = Flag(Field(OptionsObject(env, info[0], "options"), "repair"), "repair", false);
  job->work = [](Job& j) {
    absl::StatusOr<CheckReport> r = j.store->Check(j.repair);
    if (r.ok()) j.report = *std::move(r);
    return r.status();
  };
  job->value = [](Napi::Env e, Job& j) { return ReportValue(e, j.report); };
  return Start(env, std::move(job), Nothing(env));
}

// flushAsync() -> Promise<undefined>
Napi::Value NodeStore::FlushAsync(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  auto job = std::make_unique<Job>(env);
  job->store = Shared(env);
  job->work = [](Job& j) { return j.store->Clear(); };
  job->value = [](Napi::Env e, Job&) { return e.Undefined(); };
  return Start(env, std::move(job), Nothing(env));
}

}  // namespace shmkv::node
