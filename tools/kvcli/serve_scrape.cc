#include "tools/kvcli/serve_scrape.h"

#include <time.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {
namespace {

int64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// "path /var/run/app.cache proj 1 (key 0x...)" -> "/var/run/app.cache".
std::string PathOf(const std::string& name) {
  if (!absl::StartsWith(name, "path ")) return "";
  const size_t end = name.rfind(" proj ");
  if (end == std::string::npos || end < 5) return "";
  return name.substr(5, end - 5);
}

}  // namespace

void Scraper::ReadStore(Store& store, const StoreInfo& info, StoreScrape& out,
                        std::map<std::pair<int, int64_t>, Walk>& walks) {
  out.info = info;
  absl::StatusOr<StoreStats> stats = store.Stats();
  if (!stats.ok()) {
    out.errors.push_back(absl::StrCat("counters: ", stats.status().message()));
    return;
  }
  out.stats = *stats;
  out.read = true;
  if (absl::StatusOr<std::vector<StripeStats>> stripes = store.StatsByStripe(); stripes.ok()) {
    out.stripes = std::move(*stripes);
  } else {
    out.errors.push_back(absl::StrCat("stripes: ", stripes.status().message()));
  }
  out.near = DescribeNearSync(store);
  const std::pair<int, int64_t> id{info.shm_id, info.created_at_ms};
  if (options_.walk_every == absl::ZeroDuration()) return;
  auto it = walks.find(id);
  const int64_t now_ns = MonotonicNs();
  if (it == walks.end() ||
      now_ns - it->second.at_mono_ns >= absl::ToInt64Nanoseconds(options_.walk_every)) {
    absl::StatusOr<EntrySizes> sizes = MeasureEntrySizes(store);
    absl::StatusOr<std::vector<LargeEntry>> largest = LargestEntries(store, options_.largest);
    if (sizes.ok() && largest.ok()) {
      Walk walk;
      walk.at_ms = absl::ToUnixMillis(absl::Now());
      walk.at_mono_ns = now_ns;
      walk.sizes = std::move(*sizes);
      walk.largest = std::move(*largest);
      it = walks.insert_or_assign(id, std::move(walk)).first;
    } else {
      out.errors.push_back(
          absl::StrCat("entry walk: ", (sizes.ok() ? largest.status() : sizes.status()).message()));
    }
  }
  if (it != walks.end()) {
    out.walked = true;
    out.walked_at_ms = it->second.at_ms;
    out.sizes = it->second.sizes;
    out.largest = it->second.largest;
  }
}

std::shared_ptr<const HostScrape> Scraper::Scrape() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t start_ns = MonotonicNs();
  if (last_ != nullptr && start_ns - last_mono_ns_ < absl::ToInt64Nanoseconds(options_.reuse)) {
    return last_;
  }
  auto host = std::make_shared<HostScrape>();
  host->time_ms = absl::ToUnixMillis(absl::Now());
  std::map<std::pair<int, int64_t>, Walk> walks;  // only the stores still there are kept
  absl::StatusOr<std::vector<SegmentInfo>> segments = ListSegments();
  if (!segments.ok()) {
    host->listing_error = std::string(segments.status().message());
    host->errors = 1;
  } else {
    for (const SegmentInfo& segment : *segments) {
      StoreScrape store;
      store.row =
          Inspect(segment, options_.lock_timeout, [&](Store& s, const StoreInfo& info, Row&) {
            auto old = walks_.find({info.shm_id, info.created_at_ms});
            if (old != walks_.end()) walks.insert(*old);
            ReadStore(s, info, store, walks);
          });
      // A segment with the shmkv magic that does not open (corrupt, another
      // layout, another user's) is a store all the same: reported, not hidden.
      if (store.row.status == "gone") continue;
      if (!store.row.is_store && segment.kind != SegmentKind::kStore) continue;
      store.key_hex = KeyHex(store.row.segment.key);
      store.path = PathOf(store.row.name);
      const bool unread = store.row.status != "ok" && store.row.status != "removed";
      if (unread || !store.errors.empty()) ++host->errors;
      host->stores.push_back(std::move(store));
    }
  }
  walks_ = std::move(walks);
  host->seconds = static_cast<double>(MonotonicNs() - start_ns) / 1e9;
  ++scrapes_;
  errors_total_ += host->errors;
  last_ = host;
  last_mono_ns_ = MonotonicNs();
  return host;
}

uint64_t Scraper::scrapes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return scrapes_;
}

uint64_t Scraper::errors_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return errors_total_;
}

}  // namespace kvcli
}  // namespace shmkv
