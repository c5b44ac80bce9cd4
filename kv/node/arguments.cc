#include "kv/node/arguments.h"

#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kv/node/errors.h"
#include "kv/util/parse.h"
#include "shmkv/options.h"

namespace shmkv::node {
namespace {

constexpr double kMaxSafe = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

const char* TypeName(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return "a boolean";
    case napi_number:
      return "a number";
    case napi_string:
      return "a string";
    case napi_symbol:
      return "a symbol";
    case napi_function:
      return "a function";
    case napi_bigint:
      return "a bigint";
    default:
      return "an object";
  }
}

[[noreturn]] void WrongType(const Napi::Value& value, const char* what, const char* wanted) {
  ThrowType(value.Env(), absl::StrCat(what, " must be ", wanted, ", not ", TypeName(value)));
}

}  // namespace

Target TargetOf(const Napi::Env& env, const Napi::Value& target, const Napi::Value& offset,
                const char* what) {
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  // napi_get_typedarray_info fails for anything but a typed array.
  if (napi_get_typedarray_info(env, target, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    ThrowType(env, absl::StrCat(what, " must be a Buffer (Uint8Array) to copy the value into"));
  }
  const size_t skip = OffsetIn(env, offset, length);
  return Target{static_cast<char*>(data) + skip, length - skip};
}

size_t OffsetIn(const Napi::Env& env, const Napi::Value& offset, size_t length) {
  double at = 0;
  if (!offset.IsEmpty() && napi_get_value_double(env, offset, &at) != napi_ok) {
    if (!offset.IsUndefined()) {
      ThrowType(env, "offset must be a number (an index into the target Buffer)");
    }
    at = 0;
  }
  if (!(at >= 0) || at > static_cast<double>(length) || std::trunc(at) != at) {
    ThrowRange(env, absl::StrCat("offset=", at, " is not valid: give an integer 0..", length,
                                 " (the target Buffer's length)"));
  }
  return static_cast<size_t>(at);
}

bool IsBytes(const Napi::Value& value) {
  return value.IsString() || (value.IsTypedArray() &&
                              value.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array);
}

namespace {

// The UTF-8 of `n` UTF-16 units, written at `out`; returns its length, or
// SIZE_MAX when it would take more than `room` bytes. As V8 encodes a
// string (so as napi_get_value_string_utf8 and Buffer.from do): a surrogate
// pair is one 4-byte character, a lone surrogate is U+FFFD.
size_t Utf8Of(const char16_t* in, size_t n, char* out, size_t room) {
  char* o = out;
  char* const end = out + room;
  size_t i = 0;
  for (; n - i >= 8 && end - o >= 8; i += 8, o += 8) {  // ASCII, 8 at a time (vector code)
    char16_t units[8];
    char bytes[8];
    std::memcpy(units, in + i, sizeof(units));
    unsigned all = 0;
    for (int j = 0; j < 8; ++j) all |= units[j];
    if (all >= 0x80) break;
    for (int j = 0; j < 8; ++j) bytes[j] = static_cast<char>(units[j]);
    std::memcpy(o, bytes, sizeof(bytes));
  }
  for (; i < n; ++i) {
    uint32_t c = in[i];
    const bool pair = (c & 0xfc00) == 0xd800 && i + 1 < n && (in[i + 1] & 0xfc00) == 0xdc00;
    if (end - o < (c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3)) return SIZE_MAX;
    if (c < 0x80) {
      *o++ = static_cast<char>(c);
    } else if (c < 0x800) {
      *o++ = static_cast<char>(0xc0 | (c >> 6));
      *o++ = static_cast<char>(0x80 | (c & 0x3f));
    } else if (pair) {
      c = 0x10000 + ((c - 0xd800) << 10) + (in[++i] - 0xdc00);
      *o++ = static_cast<char>(0xf0 | (c >> 18));
      *o++ = static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      *o++ = static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      *o++ = static_cast<char>(0x80 | (c & 0x3f));
    } else {
      if ((c & 0xf800) == 0xd800) c = 0xfffd;  // a surrogate not in a pair
      *o++ = static_cast<char>(0xe0 | (c >> 12));
      *o++ = static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      *o++ = static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return static_cast<size_t>(o - out);
}

}  // namespace

Bytes::Bytes(const Napi::Value& value, const char* what) {
  // A string's UTF-16 units copied out (for a one-byte string, cheaper than
  // V8's own UTF-8 encoding of it) and encoded here, into the inline buffer
  // when it fits, else onto the heap; a string that did not fit the units'
  // buffer is encoded by Node-API onto the heap. (Node-API's Latin-1 copy
  // would be cheaper still, but is not exact: it keeps only the low byte of
  // a character past U+00FF, and nothing in Node-API tells whether a string
  // has one.)
  char16_t units[256];
  size_t count = 0;
  const napi_status status =
      napi_get_value_string_utf16(value.Env(), value, units, std::size(units), &count);
  if (status == napi_ok && count + 1 < std::size(units)) {
    size_t size = Utf8Of(units, count, inline_, sizeof(inline_));
    char* out = inline_;
    if (size == SIZE_MAX) {
      copy_.resize(count * 3);  // 3 bytes a unit at most
      out = copy_.data();
      size = Utf8Of(units, count, out, copy_.size());
    }
    view_ = absl::string_view(out, size);
    return;
  }
  if (status == napi_ok) {
    copy_ = value.As<Napi::String>().Utf8Value();
    view_ = copy_;
    return;
  }
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    Napi::Uint8Array array = value.As<Napi::Uint8Array>();
    view_ = absl::string_view(reinterpret_cast<const char*>(array.Data()), array.ByteLength());
    return;
  }
  WrongType(value, what, "a string or a Buffer (Uint8Array)");
}

Napi::Object OptionsObject(const Napi::Env& env, const Napi::Value& options, const char* what) {
  if (options.IsUndefined()) return Napi::Object();
  if (!options.IsObject() || options.IsArray() || options.IsFunction()) {
    WrongType(options, what, "an object");
  }
  (void)env;
  return options.As<Napi::Object>();
}

Napi::Value Field(const Napi::Object& options, const char* name) {
  if (options.IsEmpty()) return Napi::Value();
  return options.Get(name);
}

absl::Duration Ttl(const Napi::Value& value, const char* what) {
  if (value.IsEmpty() || value.IsUndefined()) return absl::ZeroDuration();
  if (!value.IsNumber()) WrongType(value, what, "a number of seconds");
  const double seconds = value.As<Napi::Number>().DoubleValue();
  if (std::isnan(seconds) || seconds <= 0) {
    ThrowRange(value.Env(), absl::StrCat(what, "=", seconds,
                                         " is not valid: give seconds > 0, Infinity (never "
                                         "expires) or leave it out (the store's default)"));
  }
  if (std::isinf(seconds)) return absl::InfiniteDuration();
  return TtlFromSeconds(seconds);
}

absl::Duration Timeout(const Napi::Value& value, const char* what, absl::Duration fallback) {
  if (value.IsEmpty() || value.IsUndefined()) return fallback;
  if (!value.IsNumber()) WrongType(value, what, "a number of seconds");
  const double seconds = value.As<Napi::Number>().DoubleValue();
  if (!(seconds > 0) || std::isinf(seconds)) {
    ThrowRange(value.Env(), absl::StrCat(what, "=", seconds, " is not valid: give seconds > 0"));
  }
  return absl::Seconds(seconds);
}

int64_t Int(const Napi::Value& value, const char* what, int64_t min, int64_t max,
            int64_t fallback) {
  if (value.IsEmpty() || value.IsUndefined()) return fallback;
  const std::string range = absl::StrCat(what, " is out of range: give ", min, "..", max);
  if (value.IsBigInt()) {
    bool lossless = false;
    const int64_t n = value.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless || n < min || n > max) ThrowRange(value.Env(), range);
    return n;
  }
  if (!value.IsNumber()) WrongType(value, what, "an integer (a number or a bigint)");
  const double d = value.As<Napi::Number>().DoubleValue();
  if (std::trunc(d) != d) {
    ThrowRange(value.Env(), absl::StrCat(what, "=", d, " is not an integer"));
  }
  if (std::fabs(d) > kMaxSafe) {
    ThrowRange(value.Env(),
               absl::StrCat(what, "=", d, " is not a safe integer: give it as a bigint"));
  }
  const int64_t n = static_cast<int64_t>(d);
  if (n < min || n > max) ThrowRange(value.Env(), range);
  return n;
}

uint64_t Unsigned(const Napi::Value& value, const char* what, uint64_t max) {
  const std::string range = absl::StrCat(what, " is out of range: give 0..", max);
  if (value.IsBigInt()) {
    int sign = 0;
    size_t words = 1;
    uint64_t word = 0;
    value.As<Napi::BigInt>().ToWords(&sign, &words, &word);
    // ToWords reports the words needed in `words` even when it filled fewer.
    if (sign != 0 || words > 1 || word > max) ThrowRange(value.Env(), range);
    return word;
  }
  const int64_t limit = max > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : max;
  return static_cast<uint64_t>(Int(value, what, 0, limit, 0));
}

bool Flag(const Napi::Value& value, const char* what, bool fallback) {
  if (value.IsEmpty() || value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) WrongType(value, what, "true or false");
  return value.As<Napi::Boolean>().Value();
}

std::string Text(const Napi::Value& value, const char* what, const std::string& fallback) {
  if (value.IsEmpty() || value.IsUndefined()) return fallback;
  if (!value.IsString()) WrongType(value, what, "a string");
  return value.As<Napi::String>().Utf8Value();
}

uint64_t Size(const Napi::Value& value, const char* what) {
  if (value.IsString()) {
    absl::StatusOr<uint64_t> parsed = util::ParseSize(value.As<Napi::String>().Utf8Value());
    if (!parsed.ok()) {
      ThrowRange(value.Env(), absl::StrCat(what, ": ", parsed.status().message()));
    }
    return *parsed;
  }
  if (!value.IsNumber() && !value.IsBigInt()) {
    WrongType(value, what, "a byte count (an integer or a string such as '64MiB')");
  }
  return Unsigned(value, what, std::numeric_limits<uint64_t>::max());
}

StoreName NameOf(const Napi::Env& env, const Napi::Object& options) {
  const Napi::Value key = Field(options, "key");
  const Napi::Value path = Field(options, "path");
  if (key.IsUndefined() == path.IsUndefined()) {
    ThrowType(env,
              "name the store with { key: 0x5f3e0001 } or with { path: FILE, proj: N }, "
              "not both");
  }
  absl::StatusOr<StoreName> name = absl::InvalidArgumentError("");
  if (!path.IsUndefined()) {
    const int proj = static_cast<int>(Int(Field(options, "proj"), "proj", 1, 255, 1));
    name = StoreName::FromPath(Text(path, "path", ""), proj);
  } else if (key.IsString()) {
    name = StoreName::ParseKey(key.As<Napi::String>().Utf8Value());
  } else {
    if (!key.IsNumber()) WrongType(key, "key", "a number or a string such as '0x5f3e0001'");
    const int64_t k = Int(key, "key (a System V key)", 1, 0xffffffffLL, 0);
    name = StoreName::FromKey(static_cast<key_t>(static_cast<uint32_t>(k)));
  }
  if (!name.ok()) Throw(env, name.status(), Context::kOpen);
  return *std::move(name);
}

Napi::Value Integer(const Napi::Env& env, int64_t n) {
  if (std::fabs(static_cast<double>(n)) <= kMaxSafe) {
    return Napi::Number::New(env, static_cast<double>(n));
  }
  return Napi::BigInt::New(env, n);
}

Napi::Value Seconds(const Napi::Env& env, absl::Duration d) {
  if (d == absl::InfiniteDuration()) {
    return Napi::Number::New(env, std::numeric_limits<double>::infinity());
  }
  return Napi::Number::New(env, absl::ToDoubleSeconds(d));
}

}  // namespace shmkv::node
