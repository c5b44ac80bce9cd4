#include "bench/engine/client_thread.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "shmkv/near/sync_state.h"

namespace shmkv {
namespace bench {

void RunClientThread(Backend* backend, const Workload& workload, Control* ctl, const Gates* gates,
                     ThreadSlot* slot, uint64_t seed, uint64_t quota) {
  auto client_or = backend->NewClient();
  if (!client_or.ok()) {
    RecordFailure(ctl, absl::StrCat("client: ", client_or.status().ToString()));
    WriteBytes(gates->ready[1], 1);
    return;
  }
  std::unique_ptr<Client> client = std::move(*client_or);
  std::string value;
  value.reserve(workload.config().value_max + 64);
  OpStream stream(workload, seed);
  // --batch: one key buffer per key of a request (each Of() overwrites its
  // buffer), and the request's keys, values and results, made before the loop.
  const size_t batch = static_cast<size_t>(workload.config().batch);
  std::vector<KeyBuffer> key_buffers(batch, KeyBuffer(workload.config()));
  std::vector<absl::string_view> keys(batch), values(batch);
  std::vector<OpResult> results(batch);
  Histogram& hist = slot->hist;
  WriteBytes(gates->ready[1], 1);
  char go;
  while (read(gates->go[0], &go, 1) < 0 && errno == EINTR) {
  }
  int phase = kWait;  // the loop below acts on whichever phase it finds first

  uint64_t total = 0, requests = 0, ops = 0, gets = 0, hits = 0, misses = 0, puts = 0, errors = 0;
  bool measuring = false;
  uint64_t start = 0, prev = near::MonotonicNowNs();
  for (;;) {
    const int ph = ctl->phase.load(std::memory_order_relaxed);
    if (ph != phase) {
      phase = ph;
      if (ph == kStop) break;
      if (ph == kMeasure && !measuring) {
        measuring = true;
        if (quota == 0) break;
        start = prev = near::MonotonicNowNs();
      }
    }
    // A request of n keys: the first operation decides whether it gets or
    // puts; the last request of a --ops quota is cut to what is left.
    size_t n = batch;
    if (measuring && quota - ops < n) n = static_cast<size_t>(quota - ops);
    const Op first = stream.Next();
    if (batch == 1) {
      const absl::string_view key = key_buffers[0].Of(first.key);
      results[0] =
          first.get ? client->Get(key, &value) : client->Put(key, workload.Value(first.value_size));
    } else {
      keys[0] = key_buffers[0].Of(first.key);
      values[0] = workload.Value(first.value_size);
      for (size_t i = 1; i < n; ++i) {
        const Op op = stream.Next();
        keys[i] = key_buffers[i].Of(op.key);
        values[i] = workload.Value(op.value_size);
      }
      const absl::Span<OpResult> out(results.data(), n);
      if (first.get) {
        client->GetBatch(absl::Span<const absl::string_view>(keys.data(), n), out);
      } else {
        client->PutBatch(absl::Span<const absl::string_view>(keys.data(), n),
                         absl::Span<const absl::string_view>(values.data(), n), out);
      }
    }
    const uint64_t now = near::MonotonicNowNs();
    if (measuring) {
      hist.Record(now - prev);  // per request
      ops += n;
      (first.get ? gets : puts) += n;
      for (size_t i = 0; i < n; ++i) {
        const OpResult r = results[i];
        if (r == OpResult::kHit)
          ++hits;
        else if (r == OpResult::kMiss)
          ++misses;
        if (r == OpResult::kError && errors++ == 0) {
          std::snprintf(slot->error, sizeof(slot->error), "%s", client->LastError().c_str());
        }
      }
      if (ops == quota) {
        prev = now;
        break;
      }
    }
    prev = now;
    total += n;
    if ((++requests & 255) == 0) slot->progress.store(total, std::memory_order_relaxed);
  }
  slot->ops = ops;
  slot->gets = gets;
  slot->hits = hits;
  slot->misses = misses;
  slot->puts = puts;
  slot->errors = errors;
  slot->start_ns = start;
  slot->end_ns = measuring ? prev : start;
  client.reset();
  ctl->finished.fetch_add(1, std::memory_order_release);
}

}  // namespace bench
}  // namespace shmkv
