// Context: error reporting, output, flag values and the store selection
// shared by every kvcli command.
#include "tools/kvcli/context.h"

#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kv/util/escape.h"
#include "kv/util/parse.h"
#include "shmkv/admin.h"
#include "tools/kvcli/flag_terms.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {
namespace {

std::string StatusText(const absl::Status& status) {
  if (!status.message().empty()) return std::string(status.message());
  return absl::StatusCodeToString(status.code());
}

// Applies `parse` to a flag's value, if the flag is given; the error names
// the flag.
template <typename T>
absl::Status ParseFlag(absl::string_view flag, const std::string* text,
                       absl::StatusOr<T> (*parse)(absl::string_view), T* out) {
  if (text == nullptr) return absl::OkStatus();
  absl::StatusOr<T> value = parse(*text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", value.status().message()));
  }
  *out = *value;
  return absl::OkStatus();
}

}  // namespace

std::string Context::Terms(absl::string_view message) const {
  return InKvcliTerms(message, name_.has_value() ? &*name_ : nullptr);
}

int Context::Usage(absl::string_view message) {
  std::fprintf(err_, "kvcli: %s: %s\n%s\n", spec_.name, OneLine(Terms(message)).c_str(),
               UsageLine(spec_).c_str());
  return kExitUsage;
}

int Context::Fail(int code, absl::string_view message) {
  std::fprintf(err_, "kvcli: %s: %s\n", spec_.name, OneLine(Terms(message)).c_str());
  return code;
}

void Context::Warn(absl::string_view message) {
  std::fprintf(err_, "kvcli: warning: %s\n", OneLine(Terms(message)).c_str());
}

int Context::StoreFailure(const absl::Status& status) {
  if (absl::IsInvalidArgument(status)) return Usage(StatusText(status));
  if (IsStoreDestroyed(status)) {
    return Fail(kExitStore, absl::StrCat("the store at ", name().ToString(),
                                         " was destroyed while this command ran; nothing more "
                                         "was done: run the command again (kvcli ls lists the "
                                         "stores)"));
  }
  return Fail(kExitStore, StatusText(status));
}

bool Context::Write(absl::string_view bytes) {
  if (bytes.empty()) return true;
  if (std::fwrite(bytes.data(), 1, bytes.size(), out_) != bytes.size()) write_failed_ = true;
  return !write_failed_;
}

bool Context::FlushOut() {
  if (std::fflush(out_) != 0 || std::ferror(out_)) write_failed_ = true;
  return !write_failed_;
}

absl::Status Context::SizeFlag(absl::string_view flag, uint64_t* out) const {
  return ParseFlag(flag, Get(flag), util::ParseSize, out);
}

absl::Status Context::DurationFlag(absl::string_view flag, absl::Duration* out) const {
  return ParseFlag(flag, Get(flag), util::ParseDuration, out);
}

absl::Status Context::TtlFlag(absl::string_view flag, absl::Duration* out) const {
  const std::string* text = Get(flag);
  if (text == nullptr) return absl::OkStatus();
  if (*text == "none" || *text == "never" || *text == "inf") {
    *out = absl::InfiniteDuration();
    return absl::OkStatus();
  }
  absl::Duration ttl;
  if (absl::Status s = DurationFlag(flag, &ttl); !s.ok()) return s;
  if (ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", Quote(*text),
                                                   ": a TTL must be positive (e.g. 30s); use --",
                                                   flag, "=none for no expiry"));
  }
  // The store counts expiry in whole milliseconds: a shorter TTL would
  // expire at once, so it is refused rather than silently rounded.
  if (ttl < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", Quote(*text),
                     ": a TTL below 1ms is too short, the store counts TTLs in milliseconds; "
                     "give at least 1ms (e.g. 30s), or --",
                     flag, "=none for no expiry"));
  }
  *out = ttl;
  return absl::OkStatus();
}

absl::Status Context::UnsignedFlag(absl::string_view flag, uint64_t max, bool allow_hex,
                                   uint64_t* out) const {
  const std::string* text = Get(flag);
  if (text == nullptr) return absl::OkStatus();
  if (!util::ParseUnsigned(*text, max, allow_hex, out)) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=\"", Quote(*text),
                                                   "\" is not a whole number from 0 to ", max,
                                                   allow_hex ? " (decimal, or hex with 0x)" : ""));
  }
  return absl::OkStatus();
}

absl::Status Context::SignedFlag(absl::string_view flag, int64_t* out) const {
  const std::string* text = Get(flag);
  if (text == nullptr) return absl::OkStatus();
  if (!util::ParseSigned(*text, out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=\"", Quote(*text), "\" is not a whole number (e.g. 100 or -5)"));
  }
  return absl::OkStatus();
}

absl::Status Context::KeyArg(size_t index, std::string* key) const {
  const std::string& text = arg(index);
  if (Has("escaped")) {
    absl::StatusOr<std::string> raw = util::UnescapeKey(text);
    if (!raw.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("KEY (--escaped): ", raw.status().message()));
    }
    *key = *std::move(raw);
  } else {
    *key = text;
  }
  if (key->empty()) return absl::InvalidArgumentError("KEY is empty; keys are 1 to 4096 bytes");
  if (key->size() > kMaxKeySizeLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("KEY is ", key->size(), " bytes; keys are at most ", kMaxKeySizeLimit));
  }
  return absl::OkStatus();
}

int Context::ResolveStore() {
  const std::string* key = Get("key");
  const std::string* path = Get("path");
  const std::string* proj = Get("proj");
  if (key != nullptr && path != nullptr) return Usage("give --key or --path, not both");
  if (key == nullptr && path == nullptr) {
    return Usage(
        "which store? add --key=0x5f3e0001 (its System V key) or --path=FILE; kvcli ls lists "
        "the stores on this host");
  }
  if (proj != nullptr && path == nullptr) return Usage("--proj goes with --path");
  if (key != nullptr) {
    absl::StatusOr<key_t> parsed = util::ParseIpcKey(*key);
    if (!parsed.ok()) return Usage(absl::StrCat("--key: ", parsed.status().message()));
    absl::StatusOr<StoreName> name = StoreName::FromKey(*parsed);
    if (!name.ok()) return Usage(absl::StrCat("--key: ", name.status().message()));
    name_ = *std::move(name);
  } else {
    uint64_t proj_id = 1;
    if (proj != nullptr && (!util::ParseUnsigned(*proj, 255, false, &proj_id) || proj_id == 0)) {
      return Usage(absl::StrCat("--proj=\"", Quote(*proj), "\" is not a project id from 1 to 255"));
    }
    if (path->empty()) return Usage("--path is empty; give the file that names the store");
    absl::StatusOr<StoreName> name = StoreName::FromPath(*path, static_cast<int>(proj_id));
    if (!name.ok()) {
      if (absl::IsInvalidArgument(name.status())) {
        return Usage(absl::StrCat("--path: ", name.status().message()));
      }
      return Fail(kExitStore, name.status().message());
    }
    name_ = *std::move(name);
  }
  open_options_ = Options();
  open_options_.allow_foreign_owner = Has("allow-foreign-owner");
  if (absl::Status s = DurationFlag("lock-timeout", &open_options_.lock_timeout); !s.ok()) {
    return Usage(s.message());
  }
  if (open_options_.lock_timeout <= absl::ZeroDuration()) {
    return Usage("--lock-timeout must be positive (e.g. 5s)");
  }
  return kExitOk;
}

int Context::ResolveCreateOptions(Options* options) {
  uint64_t capacity = options->capacity_bytes;
  uint64_t max_value = options->max_value_size;
  uint64_t max_key = options->max_key_size;
  uint64_t stripes = options->lock_stripes;
  uint64_t items = options->expected_items;
  absl::Status s = SizeFlag("capacity", &capacity);
  if (s.ok()) s = SizeFlag("max-value", &max_value);
  if (s.ok()) s = SizeFlag("max-key", &max_key);
  if (s.ok() && Has("stripes") && Get("stripes")->empty()) {
    s = absl::InvalidArgumentError("--stripes needs a value: --stripes=N (e.g. --stripes=16)");
  }
  if (s.ok()) s = UnsignedFlag("stripes", UINT32_MAX, false, &stripes);
  if (s.ok()) s = UnsignedFlag("items", UINT64_MAX, false, &items);
  if (!s.ok()) return Usage(s.message());
  if (capacity == 0) return Usage("--capacity must be more than 0 (e.g. 64MiB)");
  if (max_key == 0 || max_key > kMaxKeySizeLimit) {
    return Usage(absl::StrCat("--max-key must be from 1 to ", kMaxKeySizeLimit));
  }
  if (stripes == 0) return Usage("--stripes must be at least 1");
  if (const std::string* mode = Get("mode"); mode != nullptr) {
    if (!ParseMode(*mode, &options->mode)) {
      return Usage(absl::StrCat("--mode=\"", Quote(*mode),
                                "\" is not octal permission bits up to 0777 (e.g. 0600, 0660)"));
    }
  }
  // As for --ttl: a positive duration, or none; 0 is refused, not read as
  // "never".
  absl::Duration default_ttl = absl::ZeroDuration();
  if (absl::Status d = TtlFlag("default-ttl", &default_ttl); !d.ok()) return Usage(d.message());
  options->default_ttl =
      default_ttl == absl::InfiniteDuration() ? absl::ZeroDuration() : default_ttl;
  options->capacity_bytes = capacity;
  options->max_value_size = max_value;
  options->max_key_size = max_key;
  options->lock_stripes = static_cast<uint32_t>(stripes);
  options->expected_items = items;
  options->evict = !Has("no-evict");
  options->huge_pages = Has("huge-pages");
  // What cannot be built is a usage error; so is a --max-value the capacity
  // would silently lower.
  absl::StatusOr<StorePlan> plan = PlanStore(*options);
  if (!plan.ok()) return Usage(plan.status().message());
  if (Has("max-value") && plan->max_value_size < max_value) {
    return Usage(absl::StrCat("--max-value=", *Get("max-value"), " is more than a store of ",
                              capacity, " bytes takes: its values can be up to ",
                              plan->max_value_size,
                              " bytes (a stripe holds at least 4 of its largest entries); raise "
                              "--capacity or lower --max-value"));
  }
  return kExitOk;
}

absl::StatusOr<std::unique_ptr<Store>> Context::Open(OpenMode mode, const Options& options) {
  return Store::Open(*name_, options, mode);
}

int Context::WithStore(absl::FunctionRef<int(Store&)> run) {
  if (dry_run()) return kExitOk;
  absl::StatusOr<std::unique_ptr<Store>> store = Open(OpenMode::kAttach, open_options_);
  if (!store.ok()) return StoreFailure(store.status());
  return run(**store);
}

int Context::Finish(absl::string_view failure) {
  return FlushOut() ? kExitOk : Fail(kExitStore, failure);
}

absl::Status Context::PrefixFlag(std::string* prefix) const {
  prefix->clear();
  const std::string* text = Get("prefix");
  if (text == nullptr) return absl::OkStatus();
  if (!Has("escaped")) {
    *prefix = *text;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> raw = util::UnescapeKey(*text);
  if (!raw.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--prefix (--escaped): ", raw.status().message()));
  }
  *prefix = *std::move(raw);
  return absl::OkStatus();
}

}  // namespace kvcli
}  // namespace shmkv
