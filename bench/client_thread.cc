#include "bench/client_thread.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "bench/clock.h"

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
  KeyBuffer key_buffer(workload.config());
  Histogram& hist = slot->hist;
  WriteBytes(gates->ready[1], 1);
  char go;
  while (read(gates->go[0], &go, 1) < 0 && errno == EINTR) {
  }
  int phase = kWait;  // the loop below acts on whichever phase it finds first

  uint64_t total = 0, ops = 0, gets = 0, hits = 0, misses = 0, puts = 0, errors = 0;
  bool measuring = false;
  uint64_t start = 0, prev = MonotonicNanos();
  for (;;) {
    const int ph = ctl->phase.load(std::memory_order_relaxed);
    if (ph != phase) {
      phase = ph;
      if (ph == kStop) break;
      if (ph == kMeasure && !measuring) {
        measuring = true;
        if (quota == 0) break;
        start = prev = MonotonicNanos();
      }
    }
    const Op op = stream.Next();
    const absl::string_view key = key_buffer.Of(op.key);
    const OpResult r =
        op.get ? client->Get(key, &value) : client->Put(key, workload.Value(op.value_size));
    const uint64_t now = MonotonicNanos();
    if (measuring) {
      hist.Record(now - prev);
      ++ops;
      if (op.get) {
        ++gets;
        if (r == OpResult::kHit)
          ++hits;
        else if (r == OpResult::kMiss)
          ++misses;
      } else {
        ++puts;
      }
      if (r == OpResult::kError && errors++ == 0) {
        std::snprintf(slot->error, sizeof(slot->error), "%s", client->LastError().c_str());
      }
      if (ops == quota) {
        prev = now;
        break;
      }
    }
    prev = now;
    if ((++total & 255) == 0) slot->progress.store(total, std::memory_order_relaxed);
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
