#include "kv/python/arguments.h"

#include <cmath>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kv/python/errors.h"
#include "kv/util/parse.h"

namespace shmkv::python {

absl::Duration Ttl(const py::object& ttl, const char* what) {
  if (ttl.is_none()) return absl::ZeroDuration();
  const double seconds = ttl.cast<double>();
  if (std::isnan(seconds) || seconds <= 0) {
    RaiseInvalid(absl::StrCat(what, "=", seconds,
                              " is not valid: give seconds > 0, math.inf (never expires) or None "
                              "(the store's default)"));
  }
  return std::isinf(seconds) ? absl::InfiniteDuration() : absl::Seconds(seconds);
}

py::object Seconds(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return py::none();
  return py::float_(absl::ToDoubleSeconds(d));
}

uint64_t Size(const py::object& value, const char* what) {
  if (py::isinstance<py::str>(value)) {
    absl::StatusOr<uint64_t> parsed = util::ParseSize(value.cast<std::string>());
    if (!parsed.ok()) RaiseInvalid(absl::StrCat(what, ": ", parsed.status().message()));
    return *parsed;
  }
  const long long n = value.cast<long long>();
  if (n < 0) RaiseInvalid(absl::StrCat(what, "=", n, " is negative"));
  return static_cast<uint64_t>(n);
}

StoreName NameOf(const py::object& key, const py::object& path, int proj) {
  if (key.is_none() == path.is_none()) {
    RaiseInvalid("name the store with key=0x5f3e0001 or with path=FILE (and proj=N), not both");
  }
  absl::StatusOr<StoreName> name = absl::InvalidArgumentError("");
  if (!path.is_none()) {
    name = StoreName::FromPath(path.cast<std::string>(), proj);
  } else if (py::isinstance<py::str>(key)) {
    name = StoreName::ParseKey(key.cast<std::string>());
  } else {
    const long long k = key.cast<long long>();
    if (k <= 0 || k > 0xffffffffLL) {
      RaiseInvalid(absl::StrCat("key=", k, " is not a System V key: give 1..0xffffffff"));
    }
    name = StoreName::FromKey(static_cast<key_t>(static_cast<uint32_t>(k)));
  }
  if (!name.ok()) Raise(name.status(), Context::kOpen);
  return *std::move(name);
}

}  // namespace shmkv::python
