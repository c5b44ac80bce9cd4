#include "tools/kvcli/serve_render.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "kv/util/escape.h"
#include "shmkv/admin.h"
#include "shmkv/near/sync_state.h"
#include "tools/kvcli/json.h"
#include "tools/kvcli/output.h"
#include "tools/kvcli/prometheus.h"
#include "tools/kvcli/stats_views.h"

namespace shmkv {
namespace kvcli {
namespace {

// Finite upper bounds of the entry-size histograms: 0, 1, 3, 7, ... 2^27-1
// (128 MiB); larger sizes count in +Inf only.
constexpr size_t kSizeBounds = 28;

// A removed store (destroyed while processes stay attached) has lost its
// key: every one shows as 0x00000000, so its shm id tells them apart.
PromLabels StoreLabels(const StoreScrape& s) {
  PromLabels labels{{"store", s.key_hex}};
  if (!s.path.empty()) labels.push_back({"path", s.path});
  if (s.row.status == "removed") {
    labels.push_back({"shm_id", absl::StrCat(s.row.segment.shm_id)});
  }
  return labels;
}

PromLabels With(PromLabels labels, const char* name, std::string value) {
  labels.push_back({name, std::move(value)});
  return labels;
}

void WriteStores(PrometheusWriter& out, const HostScrape& host) {
  out.Family("shmkv_store_up", "gauge",
             "1 when the store could be read; 0 otherwise (status says why).");
  for (const StoreScrape& s : host.stores) {
    out.Sample("shmkv_store_up", With(StoreLabels(s), "status", s.row.status),
               static_cast<uint64_t>(s.read ? 1 : 0));
  }
  std::vector<LabelledStats> read;
  for (const StoreScrape& s : host.stores) {
    if (s.read) read.push_back({StoreLabels(s), s.stats});
  }
  WriteStatsFamilies(out, read);
}

void WriteStripes(PrometheusWriter& out, const HostScrape& host) {
  out.Family("shmkv_stripe_lock_waits_total", "counter",
             "Lock acquisitions of one stripe that found its lock held.");
  for (const StoreScrape& s : host.stores) {
    for (const StripeStats& st : s.stripes) {
      out.Sample("shmkv_stripe_lock_waits_total",
                 With(StoreLabels(s), "stripe", absl::StrCat(st.stripe)), st.stats.lock_waits);
    }
  }
  out.Family("shmkv_stripe_fill_ratio", "gauge",
             "How full one stripe is: the larger of its arena and index shares in use (0 to 1).");
  for (const StoreScrape& s : host.stores) {
    for (const StripeStats& st : s.stripes) {
      out.Sample("shmkv_stripe_fill_ratio", With(StoreLabels(s), "stripe", absl::StrCat(st.stripe)),
                 static_cast<double>(FillPpm(st.stats)) / 1e6);
    }
  }
}

void WriteHistogram(PrometheusWriter& out, const char* name, const char* help,
                    const HostScrape& host, SizeHistogram EntrySizes::*which) {
  out.Family(name, "histogram", help);
  const std::string bucket = absl::StrCat(name, "_bucket");
  for (const StoreScrape& s : host.stores) {
    if (!s.walked) continue;
    const SizeHistogram& h = s.sizes.*which;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kSizeBounds; ++i) {
      if (i < h.buckets.size()) cumulative += h.buckets[i].count;
      const uint64_t le = i == 0 ? 0 : (uint64_t{1} << i) - 1;
      out.Sample(bucket, With(StoreLabels(s), "le", absl::StrCat(le)), cumulative);
    }
    out.Sample(bucket, With(StoreLabels(s), "le", "+Inf"), h.count);
    out.Sample(absl::StrCat(name, "_sum"), StoreLabels(s), h.bytes);
    out.Sample(absl::StrCat(name, "_count"), StoreLabels(s), h.count);
  }
}

void WriteNearSync(PrometheusWriter& out, const HostScrape& host) {
  std::vector<const StoreScrape*> synced;
  for (const StoreScrape& s : host.stores) {
    if (s.near.readable) synced.push_back(&s);
  }
  if (synced.empty()) return;
  out.Family("shmkv_near_sync_info", "gauge",
             "1 for a store kvsync keeps in sync with Redis, labelled with its phase.");
  for (const StoreScrape* s : synced) {
    PromLabels labels = With(StoreLabels(*s), "phase", near::SyncPhaseName(s->near.state.phase));
    out.Sample("shmkv_near_sync_info", With(std::move(labels), "redis", s->near.state.redis),
               uint64_t{1});
  }
  out.Family("shmkv_near_sync_serving", "gauge",
             "1 when near-cache readers serve from the store, 0 when they go to Redis.");
  for (const StoreScrape* s : synced) {
    out.Sample("shmkv_near_sync_serving", StoreLabels(*s),
               static_cast<uint64_t>(s->near.health.serving ? 1 : 0));
  }
  out.Family("shmkv_near_sync_heartbeat_age_seconds", "gauge", "Age of kvsync's last heartbeat.");
  for (const StoreScrape* s : synced) {
    out.Sample("shmkv_near_sync_heartbeat_age_seconds", StoreLabels(*s),
               absl::ToDoubleSeconds(s->near.health.heartbeat_age));
  }
  struct Counter {
    const char* name;
    const char* help;
    uint64_t near::SyncState::*field;
  };
  constexpr Counter kCounters[] = {
      {"shmkv_near_sync_invalidations_total", "Keys invalidated by Redis and deleted here.",
       &near::SyncState::invalidations},
      {"shmkv_near_sync_flushes_total", "FLUSHALL and FLUSHDB messages applied.",
       &near::SyncState::flushes},
      {"shmkv_near_sync_resyncs_total", "Times sync was re-established after a loss.",
       &near::SyncState::resyncs},
  };
  for (const Counter& c : kCounters) {
    out.Family(c.name, "counter", c.help);
    for (const StoreScrape* s : synced) out.Sample(c.name, StoreLabels(*s), s->near.state.*c.field);
  }
}

}  // namespace

std::string MetricsText(const HostScrape& host, uint64_t scrapes, uint64_t errors_total) {
  PrometheusWriter out;
  WriteStores(out, host);
  WriteStripes(out, host);
  WriteHistogram(out, "shmkv_value_size_bytes", "Sizes of the live entries' values.", host,
                 &EntrySizes::values);
  WriteHistogram(out, "shmkv_key_size_bytes", "Sizes of the live entries' keys.", host,
                 &EntrySizes::keys);
  WriteNearSync(out, host);
  out.Family("shmkv_scrape_duration_seconds", "gauge", "How long reading the host's stores took.");
  out.Sample("shmkv_scrape_duration_seconds", {}, host.seconds);
  out.Family("shmkv_scrape_errors", "gauge",
             "Stores this scrape could not read (or read only in part).");
  out.Sample("shmkv_scrape_errors", {}, host.errors);
  out.Family("shmkv_scrape_errors_total", "counter",
             "Stores not read (or read only in part), summed over every scrape.");
  out.Sample("shmkv_scrape_errors_total", {}, errors_total);
  out.Family("shmkv_scrapes_total", "counter", "Scrapes of the host's stores.");
  out.Sample("shmkv_scrapes_total", {}, scrapes);
  out.Family("shmkv_exporter_build_info", "gauge",
             "Always 1: the shmkv version of this kvcli and the store layout it reads.");
  out.Sample("shmkv_exporter_build_info",
             {{"version", SHMKV_VERSION_STRING},
              {"layout_version", absl::StrCat(SupportedLayoutVersion())}},
             uint64_t{1});
  return out.text();
}

namespace {

JsonObject Summary(const StoreScrape& s) {
  JsonObject json;
  json.Str("key", s.key_hex)
      .U64("key_decimal", static_cast<uint32_t>(s.row.segment.key))
      .I64("shm_id", s.row.segment.shm_id)
      .Str("name", s.row.name)
      .Str("path", s.path)
      .Str("status", s.row.status)
      .Str("detail", s.row.detail)
      .U64("owner_uid", s.row.segment.owner_uid)
      .Str("owner", UserName(s.row.segment.owner_uid))
      .Str("mode", ModeText(s.row.segment.mode))
      .U64("attached_processes", s.row.segment.attached_processes)
      .U64("segment_bytes", s.row.segment.segment_bytes)
      .StrArray("errors", s.errors);
  if (s.read) {
    json.Raw("stats", StatsJson(s.stats).Build());
  } else {
    json.Null("stats");
  }
  json.Raw("near_sync", s.near.json.empty() ? "null" : s.near.json);
  return json;
}

JsonObject Host(const HostScrape& host) {
  JsonObject json;
  json.I64("time_ms", host.time_ms).Double("scrape_seconds", host.seconds, 6);
  if (host.listing_error.empty()) {
    json.Null("listing_error");
  } else {
    json.Str("listing_error", host.listing_error);
  }
  return json;
}

std::string LargestJson(const StoreScrape& s, bool show_keys) {
  std::vector<std::string> rows;
  for (const LargeEntry& e : s.largest) {
    JsonObject row;
    if (show_keys) {
      row.Str("key", util::EscapeKey(e.key));
    } else {
      row.Null("key");
    }
    row.U64("key_size", e.key_size)
        .U64("value_size", e.value_size)
        .I64("ttl_ms", TtlMillis(e.ttl_remaining));
    rows.push_back(row.Build());
  }
  JsonObject json;
  json.Bool("keys_shown", show_keys).Array("entries", rows);
  return json.Build();
}

std::string StripesJson(const StoreScrape& s) {
  std::vector<std::string> rows;
  for (const StripeStats& st : s.stripes) {
    JsonObject row;
    row.U64("stripe", st.stripe);
    row = StatsJson(st.stats, std::move(row));
    row.Double("fill", static_cast<double>(FillPpm(st.stats)) / 1e6, 6);
    rows.push_back(row.Build());
  }
  return absl::StrCat("[", absl::StrJoin(rows, ","), "]");
}

}  // namespace

std::string StoresJson(const HostScrape& host) {
  std::vector<std::string> stores;
  for (const StoreScrape& s : host.stores) stores.push_back(Summary(s).Build());
  return Host(host).Array("stores", stores).Build() + "\n";
}

std::string StoreJson(const HostScrape& host, const StoreScrape& s, bool show_keys) {
  JsonObject json = Host(host);
  json.Raw("store", Summary(s).Build());
  if (s.read) {
    JsonObject info;
    info.U64("layout_version", s.info.layout_version)
        .U64("capacity", s.info.capacity)
        .U64("lock_stripes", s.info.lock_stripes)
        .U64("max_key_size", s.info.max_key_size)
        .U64("max_value_size", s.info.max_value_size)
        .Bool("evict", s.info.evict)
        .I64("default_ttl_ms", absl::ToInt64Milliseconds(s.info.default_ttl))
        .I64("created_at_ms", s.info.created_at_ms)
        .U64("creator_uid", s.info.creator_uid);
    json.Raw("info", info.Build()).Raw("stripes", StripesJson(s));
  } else {
    json.Null("info").Raw("stripes", "[]");
  }
  if (s.walked) {
    JsonObject sizes;
    sizes.I64("walked_at_ms", s.walked_at_ms)
        .Raw("keys", HistogramJson(s.sizes.keys))
        .Raw("values", HistogramJson(s.sizes.values));
    json.Raw("sizes", sizes.Build()).Raw("largest", LargestJson(s, show_keys));
  } else {
    json.Null("sizes").Null("largest");
  }
  return json.Build() + "\n";
}

}  // namespace kvcli
}  // namespace shmkv
