#include "bench/engine/workload_config.h"

#include <functional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "kv/util/parse.h"

namespace shmkv {
namespace bench {

std::string WorkloadConfig::ValueSizeText() const {
  return value_min == value_max ? absl::StrCat(value_min) : absl::StrCat(value_min, "-", value_max);
}

std::string WorkloadConfig::DistText() const {
  return zipf ? absl::StrCat("zipf:", zipf_theta) : "uniform";
}

namespace {

// --value-size: N, or MIN-MAX.
absl::Status SetValueSize(absl::string_view v, WorkloadConfig* c) {
  std::vector<absl::string_view> parts = absl::StrSplit(v, absl::MaxSplits('-', 1));
  auto lo = util::ParseSize(parts[0]);
  if (!lo.ok()) return lo.status();
  uint64_t hi = *lo;
  if (parts.size() == 2) {
    auto h = util::ParseSize(parts[1]);
    if (!h.ok()) return h.status();
    hi = *h;
  }
  if (hi < *lo) return absl::InvalidArgumentError("range is MIN-MAX");
  c->value_min = *lo;
  c->value_max = hi;
  return absl::OkStatus();
}

// --read-pct: 0..100, with or without a '%'.
absl::Status SetReadPct(absl::string_view v, WorkloadConfig* c) {
  double p;
  if (!absl::SimpleAtod(absl::StripSuffix(v, "%"), &p) || !(p >= 0 && p <= 100)) {
    return absl::InvalidArgumentError("must be 0..100");
  }
  c->read_pct = p;
  return absl::OkStatus();
}

// --dist: uniform, zipf or zipf:THETA.
absl::Status SetDist(absl::string_view v, WorkloadConfig* c) {
  if (v == "uniform") {
    c->zipf = false;
    return absl::OkStatus();
  }
  if (absl::ConsumePrefix(&v, "zipf")) {
    double theta = 0.99;
    if (!v.empty() && (!absl::ConsumePrefix(&v, ":") || !absl::SimpleAtod(v, &theta))) {
      return absl::InvalidArgumentError("use zipf or zipf:THETA");
    }
    if (!(theta > 0 && theta < 1))
      return absl::InvalidArgumentError("zipf theta must be in (0, 1)");
    c->zipf = true;
    c->zipf_theta = theta;
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("use uniform or zipf:THETA");
}

// --procs, --threads and --batch: a count in 1..1024.
std::function<absl::Status(absl::string_view)> PositiveInt(int* out) {
  return [out](absl::string_view v) -> absl::Status {
    auto n = util::ParseCount(v);
    if (!n.ok()) return n.status();
    if (*n < 1 || *n > 1024) return absl::InvalidArgumentError("must be 1..1024");
    *out = static_cast<int>(*n);
    return absl::OkStatus();
  };
}
static_assert(kMaxBatch == 1024, "--batch is parsed by PositiveInt");

}  // namespace

void AddWorkloadFlags(FlagSet* flags, WorkloadConfig* c) {
  flags->Value("procs", "N", "client processes (default 1)", PositiveInt(&c->procs));
  flags->Value("threads", "N", "threads per process (default 1)", PositiveInt(&c->threads));
  flags->Count("keys", "distinct keys, e.g. 1M (default 100k)", &c->keys);
  flags->ByteSize("key-size", "key length: prefix + zero-padded number (default 16)", &c->key_size);
  flags->Value("value-size", "N|MIN-MAX", "value size, fixed or uniform in a range (default 100)",
               [c](absl::string_view v) { return SetValueSize(v, c); });
  flags->Value("read-pct", "P", "percent of operations that are Get, the rest Put (default 95)",
               [c](absl::string_view v) { return SetReadPct(v, c); });
  flags->Value("dist", "uniform|zipf[:THETA]", "key popularity (default uniform; zipf theta 0.99)",
               [c](absl::string_view v) { return SetDist(v, c); });
  flags->Value("batch", "N",
               "keys per request: gets and puts of N keys each (GetBatch/PutBatch; default 1, "
               "one key per call); ops count keys, latencies are per request",
               PositiveInt(&c->batch));
  flags->Value("duration", "TIME", "measured time, e.g. 10s (default 10s)",
               [c](absl::string_view v) {
                 auto d = util::ParseDuration(v);
                 if (!d.ok()) return d.status();
                 c->duration = *d;
                 c->ops = 0;
                 return absl::OkStatus();
               });
  flags->Count("ops", "measure exactly N operations in all instead of a duration", &c->ops);
  flags->Duration("warmup", "unmeasured run before measuring (default 2s)", &c->warmup);
  flags->String("prefix", "TEXT", "key prefix (default kvb:)", &c->prefix);
  flags->Integer("seed", "random seed (default 42)", 0, UINT64_MAX, &c->seed);
  flags->Bool("json", "print one JSON object as the last stdout line (the report goes to stderr)",
              &c->json);
  flags->Bool("quiet", "no progress output", &c->quiet);
  flags->Bool("no-preload", "do not write every key before the run",
              [c](bool b) { c->preload = !b; });
  flags->Bool("no-prefault",
              "clients do not map in the existing pages of shared memory before the run "
              "(then the run includes first-touch page faults)",
              [c](bool b) { c->prefault = !b; });
}

absl::Status Validate(const WorkloadConfig& c) {
  if (c.keys == 0) return absl::InvalidArgumentError("--keys must be at least 1");
  if (c.key_size == 0 || c.key_size > 4096)
    return absl::InvalidArgumentError("--key-size must be 1..4096");
  const size_t digits = absl::StrCat(c.keys - 1).size();
  if (c.prefix.size() + digits > c.key_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--key-size=%d cannot hold the prefix \"%s\" and %d digits for %d keys",
                        c.key_size, c.prefix, digits, c.keys));
  }
  if (c.keys > (uint64_t{1} << 40) / c.key_size) return absl::InvalidArgumentError("too many keys");
  if (c.value_max > (size_t{256} << 20))
    return absl::InvalidArgumentError("--value-size at most 256M");
  if (c.batch < 1 || c.batch > kMaxBatch) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--batch must be 1..%d keys per request, not %d", kMaxBatch, c.batch));
  }
  if (c.procs * c.threads > 4096)
    return absl::InvalidArgumentError("--procs x --threads at most 4096");
  if (c.ops == 0 && c.duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--duration must be positive (or give --ops)");
  }
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace shmkv
