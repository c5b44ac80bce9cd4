// kvcli serve's view of the host: every shmkv store as kvcli ls finds it,
// with its counters, per-stripe figures, entry sizes, largest entries and
// kvsync's state. The only file of kvcli serve that calls the statistics of
// shmkv/store.h and shmkv/admin.h.
#ifndef SHMKV_TOOLS_KVCLI_SERVE_SCRAPE_H_
#define SHMKV_TOOLS_KVCLI_SERVE_SCRAPE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "shmkv/admin.h"
#include "shmkv/store.h"
#include "shmkv/store_stats.h"
#include "tools/kvcli/host_stores.h"
#include "tools/kvcli/near_sync.h"

namespace shmkv {
namespace kvcli {

// One store as a scrape saw it.
struct StoreScrape {
  Row row;              // what kvcli ls shows: key, ids, owner, status, detail
  std::string key_hex;  // "0x5f3e0001"
  std::string path;     // the ftok path it was created under, escaped; "" if by key
  bool read = false;    // info, stats and stripes below were read
  StoreInfo info;
  StoreStats stats;
  std::vector<StripeStats> stripes;
  // From the last walk of the entries (at most one per ScrapeOptions::walk_every).
  bool walked = false;
  int64_t walked_at_ms = 0;
  EntrySizes sizes;
  std::vector<LargeEntry> largest;
  NearSyncView near;
  // What could not be read although the store opened (one line each).
  std::vector<std::string> errors;
};

struct HostScrape {
  int64_t time_ms = 0;              // wall clock, Unix milliseconds
  double seconds = 0;               // how long the scrape took
  std::string listing_error;        // the host's segments could not be listed
  std::vector<StoreScrape> stores;  // sorted by key, then shm id
  uint64_t errors = 0;              // stores not read, and failed reads
};

struct ScrapeOptions {
  absl::Duration lock_timeout = absl::Seconds(1);
  // Requests that arrive within `reuse` of the last scrape share it, so a
  // burst of scrapes reads the stores once.
  absl::Duration reuse = absl::Milliseconds(500);
  // Entry sizes and the largest entries come from a walk that holds each
  // stripe's lock a short chunk at a time while its keys are read (a stats
  // call takes no stripe lock); a store is walked at most this often, and
  // never when it is zero, the default.
  absl::Duration walk_every = absl::ZeroDuration();
  size_t largest = 10;
};

class Scraper {
 public:
  explicit Scraper(const ScrapeOptions& options) : options_(options) {}
  // The host now (or the scrape of less than `reuse` ago). One scrape at a
  // time; callers wait for the one under way.
  std::shared_ptr<const HostScrape> Scrape();
  // Scrapes, and stores not read, since the start (for /metrics).
  uint64_t scrapes() const;
  uint64_t errors_total() const;

 private:
  struct Walk {
    int64_t at_ms = 0;
    int64_t at_mono_ns = 0;
    EntrySizes sizes;
    std::vector<LargeEntry> largest;
  };
  void ReadStore(Store& store, const StoreInfo& info, StoreScrape& out,
                 std::map<std::pair<int, int64_t>, Walk>& walks);

  const ScrapeOptions options_;
  // std::mutex, not absl::Mutex: TSan sees only instrumented locks, and
  // Debian's Abseil is not built with it.
  mutable std::mutex mu_;
  std::shared_ptr<const HostScrape> last_;
  int64_t last_mono_ns_ = 0;
  uint64_t scrapes_ = 0, errors_total_ = 0;
  // By shm id and creation time: a store destroyed and made again is new.
  std::map<std::pair<int, int64_t>, Walk> walks_;
};

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_SERVE_SCRAPE_H_
