#include "bench/engine/client_thread.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "kv/platform/monotonic_clock.h"

namespace shmkv {
namespace bench {
namespace {

// What one request needs, made before the timed loop so that it allocates
// nothing: the value buffer and, for --batch, one key buffer per key of a
// request (each Of() overwrites its buffer) and the request's keys, values
// and results.
struct Request {
  explicit Request(const Workload& workload)
      : batch(static_cast<size_t>(workload.config().batch)),
        key_buffers(batch, KeyBuffer(workload.config())),
        keys(batch),
        values(batch),
        results(batch) {
    value.reserve(workload.config().value_max + 64);
  }
  const size_t batch;
  std::string value;
  std::vector<KeyBuffer> key_buffers;
  std::vector<absl::string_view> keys, values;
  std::vector<OpResult> results;
};

// What the measured part of the loop counted.
struct Counts {
  uint64_t ops = 0, gets = 0, hits = 0, misses = 0, puts = 0, errors = 0;
};

// Connects a Client and reports ready on the gate (failed or not), then
// waits for the go. Null when the client could not connect.
std::unique_ptr<Client> ConnectAndWait(Backend* backend, Control* ctl, const Gates* gates) {
  auto client_or = backend->NewClient();
  if (!client_or.ok()) {
    RecordFailure(ctl, absl::StrCat("client: ", client_or.status().ToString()));
    WriteBytes(gates->ready[1], 1);
    return nullptr;
  }
  WriteBytes(gates->ready[1], 1);
  char go;
  while (read(gates->go[0], &go, 1) < 0 && errno == EINTR) {
  }
  return std::move(*client_or);
}

// Sends one request of `n` keys, the first of which is `first`: it decides
// whether the request gets or puts. Inlined: the timed loop calls nothing
// per operation but the client and the stream.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Send(Client* client, const Workload& workload,
                                              OpStream& stream, const Op& first, size_t n,
                                              Request& r) {
  if (r.batch == 1) {
    const absl::string_view key = r.key_buffers[0].Of(first.key);
    r.results[0] =
        first.get ? client->Get(key, &r.value) : client->Put(key, workload.Value(first.value_size));
    return;
  }
  r.keys[0] = r.key_buffers[0].Of(first.key);
  for (size_t i = 1; i < n; ++i) r.keys[i] = r.key_buffers[i].Of(stream.NextKey());
  const absl::Span<OpResult> out(r.results.data(), n);
  const absl::Span<const absl::string_view> keys(r.keys.data(), n);
  if (first.get) {
    client->GetBatch(keys, out);
    return;
  }
  r.values[0] = workload.Value(first.value_size);
  for (size_t i = 1; i < n; ++i) r.values[i] = workload.Value(stream.NextValueSize());
  client->PutBatch(keys, absl::Span<const absl::string_view>(r.values.data(), n), out);
}

// Counts a measured request's `n` results; keeps the first error's text.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Count(const Client& client, bool get, size_t n,
                                               const Request& r, Counts& c, ThreadSlot* slot) {
  c.ops += n;
  (get ? c.gets : c.puts) += n;
  for (size_t i = 0; i < n; ++i) {
    const OpResult result = r.results[i];
    if (result == OpResult::kHit)
      ++c.hits;
    else if (result == OpResult::kMiss)
      ++c.misses;
    if (result == OpResult::kError && c.errors++ == 0) {
      std::snprintf(slot->error, sizeof(slot->error), "%s", client.LastError().c_str());
    }
  }
}

void Publish(const Counts& c, uint64_t start_ns, uint64_t end_ns, ThreadSlot* slot) {
  slot->ops = c.ops;
  slot->gets = c.gets;
  slot->hits = c.hits;
  slot->misses = c.misses;
  slot->puts = c.puts;
  slot->errors = c.errors;
  slot->start_ns = start_ns;
  slot->end_ns = end_ns;
}

}  // namespace

void RunClientThread(Backend* backend, const Workload& workload, Control* ctl, const Gates* gates,
                     ThreadSlot* slot, uint64_t seed, uint64_t quota) {
  OpStream stream(workload, seed);
  Request request(workload);
  Histogram& hist = slot->hist;
  std::unique_ptr<Client> client = ConnectAndWait(backend, ctl, gates);
  if (client == nullptr) return;
  int phase = kWait;  // the loop below acts on whichever phase it finds first
  Counts counts;
  uint64_t total = 0, requests = 0;
  bool measuring = false;
  uint64_t start = 0, prev = platform::MonotonicNanos();
  for (;;) {
    const int ph = ctl->phase.load(std::memory_order_relaxed);
    if (ph != phase) {
      phase = ph;
      if (ph == kStop) break;
      if (ph == kMeasure && !measuring) {
        measuring = true;
        if (quota == 0) break;
        start = prev = platform::MonotonicNanos();
      }
    }
    // The last request of a --ops quota is cut to what is left.
    size_t n = request.batch;
    if (measuring && quota - counts.ops < n) n = static_cast<size_t>(quota - counts.ops);
    const Op first = stream.Next();
    Send(client.get(), workload, stream, first, n, request);
    const uint64_t now = platform::MonotonicNanos();
    if (measuring) {
      hist.Record(now - prev);  // per request
      Count(*client, first.get, n, request, counts, slot);
      if (counts.ops == quota) {
        prev = now;
        break;
      }
    }
    prev = now;
    total += n;
    if ((++requests & 255) == 0) slot->progress.store(total, std::memory_order_relaxed);
  }
  Publish(counts, start, measuring ? prev : start, slot);
  client.reset();
  ctl->finished.fetch_add(1, std::memory_order_release);
}

}  // namespace bench
}  // namespace shmkv
