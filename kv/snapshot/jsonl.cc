// The JSON-lines format: WriteJsonl and ParseJsonlLine.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "kv/snapshot/snapshot.h"
#include "kv/util/base64.h"
#include "kv/util/escape.h"
#include "kv/util/json.h"
#include "kv/util/substr.h"
#include "kv/util/utf8.h"

namespace shmkv {
namespace {

using util::Clip;

// The members of a line's object, as they are found.
struct Fields {
  absl::optional<std::string> key, key_b64, value_b64;
  absl::optional<uint64_t> version;
  absl::optional<uint32_t> flags;
  absl::optional<int64_t> ttl_ms;
};

// Appends code point `cp` (below 0x110000) in UTF-8.
void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// A parser for exactly one flat JSON object with string and integer members.
class JsonlParser {
 public:
  explicit JsonlParser(absl::string_view line) : line_(line) {}

  absl::Status Parse(SnapshotRecord* record);

 private:
  absl::Status Error(size_t at, absl::string_view what) const {
    return absl::DataLossError(absl::StrCat("bad snapshot line at byte ", at, ": ", what));
  }
  bool AtEnd() const { return pos_ >= line_.size(); }
  char Peek() const { return line_[pos_]; }
  void SkipWhitespace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }
  absl::Status Expect(char c) {
    SkipWhitespace();
    if (AtEnd())
      return Error(pos_,
                   absl::StrCat("expected '", std::string(1, c), "', found the end of the line"));
    if (Peek() != c) return Error(pos_, absl::StrCat("expected '", std::string(1, c), "'"));
    ++pos_;
    return absl::OkStatus();
  }
  absl::Status ParseString(std::string* out);
  // After a backslash at `escape`: the escaped character, appended to *out.
  absl::Status ParseEscape(size_t escape, std::string* out);
  // After the u of a unicode escape at `escape`: the code point, a surrogate
  // pair read whole.
  absl::Status ParseUnicodeEscape(size_t escape, uint32_t* cp);
  absl::Status ParseHex4(uint32_t* unit);
  // An integer: *negative and its magnitude.
  absl::Status ParseInteger(bool* negative, uint64_t* magnitude);
  // One member, "name": value, into *fields.
  absl::Status ParseMember(Fields* fields);
  absl::Status ParseStringField(const std::string& name, size_t name_at, Fields* fields);
  absl::Status ParseIntegerField(const std::string& name, size_t name_at, Fields* fields);
  // The record the members describe, checked.
  absl::Status BuildRecord(Fields& fields, SnapshotRecord* record) const;

  absl::string_view line_;
  size_t pos_ = 0;
};

absl::Status JsonlParser::ParseHex4(uint32_t* unit) {
  *unit = 0;
  for (int i = 0; i < 4; ++i, ++pos_) {
    if (AtEnd()) return Error(pos_, "\\u needs 4 hex digits");
    const int d = util::HexDigitValue(Peek());
    if (d < 0) return Error(pos_, "\\u needs 4 hex digits");
    *unit = *unit * 16 + static_cast<uint32_t>(d);
  }
  return absl::OkStatus();
}

absl::Status JsonlParser::ParseString(std::string* out) {
  SkipWhitespace();
  if (AtEnd() || Peek() != '"') return Error(pos_, "expected a string");
  const size_t open = pos_++;
  out->clear();
  while (true) {
    if (AtEnd()) {
      return Error(open, "unterminated string (the line ends inside it)");
    }
    const unsigned char b = static_cast<unsigned char>(Peek());
    if (b == '"') {
      ++pos_;
      return absl::OkStatus();
    }
    if (b < 0x20) return Error(pos_, "unescaped control character in a string");
    if (b >= 0x80) {
      const size_t n = util::Utf8SequenceLength(line_, pos_);
      if (n == 0) return Error(pos_, "invalid UTF-8 in a string");
      out->append(line_.data() + pos_, n);
      pos_ += n;
      continue;
    }
    if (b != '\\') {
      out->push_back(static_cast<char>(b));
      ++pos_;
      continue;
    }
    const size_t escape = pos_++;
    if (absl::Status s = ParseEscape(escape, out); !s.ok()) return s;
  }
}

absl::Status JsonlParser::ParseEscape(size_t escape, std::string* out) {
  if (AtEnd()) return Error(escape, "unterminated escape");
  const char e = Peek();
  ++pos_;
  switch (e) {
    case '"':
    case '\\':
    case '/':
      out->push_back(e);
      return absl::OkStatus();
    case 'b':
      out->push_back('\b');
      return absl::OkStatus();
    case 'f':
      out->push_back('\f');
      return absl::OkStatus();
    case 'n':
      out->push_back('\n');
      return absl::OkStatus();
    case 'r':
      out->push_back('\r');
      return absl::OkStatus();
    case 't':
      out->push_back('\t');
      return absl::OkStatus();
    case 'u':
      break;
    default:
      return Error(escape, "unknown escape in a string");
  }
  uint32_t cp = 0;
  if (absl::Status s = ParseUnicodeEscape(escape, &cp); !s.ok()) return s;
  AppendUtf8(cp, out);
  return absl::OkStatus();
}

absl::Status JsonlParser::ParseUnicodeEscape(size_t escape, uint32_t* cp) {
  if (absl::Status s = ParseHex4(cp); !s.ok()) return s;
  if (*cp >= 0xdc00 && *cp <= 0xdfff) {
    return Error(escape, "lone low surrogate in a string");
  }
  if (*cp < 0xd800 || *cp > 0xdbff) return absl::OkStatus();
  if (pos_ + 1 >= line_.size() || line_[pos_] != '\\' || line_[pos_ + 1] != 'u') {
    return Error(escape, "high surrogate not followed by a low surrogate");
  }
  pos_ += 2;
  uint32_t low = 0;
  if (absl::Status s = ParseHex4(&low); !s.ok()) return s;
  if (low < 0xdc00 || low > 0xdfff) {
    return Error(escape, "high surrogate not followed by a low surrogate");
  }
  *cp = 0x10000 + ((*cp - 0xd800) << 10) + (low - 0xdc00);
  return absl::OkStatus();
}

absl::Status JsonlParser::ParseInteger(bool* negative, uint64_t* magnitude) {
  SkipWhitespace();
  const size_t start = pos_;
  *negative = !AtEnd() && Peek() == '-';
  if (*negative) ++pos_;
  if (AtEnd() || Peek() < '0' || Peek() > '9') {
    return Error(start, "expected an integer");
  }
  if (Peek() == '0' && pos_ + 1 < line_.size() && line_[pos_ + 1] >= '0' &&
      line_[pos_ + 1] <= '9') {
    return Error(start, "leading zeros are not allowed in a number");
  }
  uint64_t v = 0;
  while (!AtEnd() && Peek() >= '0' && Peek() <= '9') {
    if (__builtin_mul_overflow(v, uint64_t{10}, &v) ||
        __builtin_add_overflow(v, static_cast<uint64_t>(Peek() - '0'), &v)) {
      return Error(start, "number out of range");
    }
    ++pos_;
  }
  if (!AtEnd() && (Peek() == '.' || Peek() == 'e' || Peek() == 'E')) {
    return Error(start, "numbers must be integers (no fraction or exponent)");
  }
  *magnitude = v;
  return absl::OkStatus();
}

absl::Status JsonlParser::Parse(SnapshotRecord* record) {
  SkipWhitespace();
  if (AtEnd()) return Error(pos_, "empty line: expected a JSON object");
  if (absl::Status s = Expect('{'); !s.ok()) return s;
  Fields fields;
  bool first = true;
  while (true) {
    SkipWhitespace();
    if (!AtEnd() && Peek() == '}') {
      if (!first) return Error(pos_, "expected another member after ','");
      ++pos_;
      break;
    }
    if (absl::Status s = ParseMember(&fields); !s.ok()) return s;
    first = false;
    SkipWhitespace();
    if (AtEnd()) return Error(pos_, "the line ends inside the object");
    if (Peek() == ',') {
      ++pos_;
      continue;
    }
    if (Peek() == '}') {
      ++pos_;
      break;
    }
    return Error(pos_, "expected ',' or '}'");
  }
  SkipWhitespace();
  if (!AtEnd()) return Error(pos_, "unexpected text after the object");
  return BuildRecord(fields, record);
}

absl::Status JsonlParser::ParseMember(Fields* fields) {
  const size_t name_at = pos_;
  std::string name;
  if (absl::Status s = ParseString(&name); !s.ok()) return s;
  if (absl::Status s = Expect(':'); !s.ok()) return s;
  SkipWhitespace();
  if (name == "key" || name == "key_b64" || name == "value_b64") {
    return ParseStringField(name, name_at, fields);
  }
  if (name == "version" || name == "flags" || name == "ttl_ms") {
    return ParseIntegerField(name, name_at, fields);
  }
  return Error(name_at,
               absl::StrCat("unknown field \"", absl::CHexEscape(Clip(name, 0, 40)), "\""));
}

absl::Status JsonlParser::ParseStringField(const std::string& name, size_t name_at,
                                           Fields* fields) {
  const size_t value_at = pos_;
  absl::optional<std::string>& slot =
      name == "key" ? fields->key : (name == "key_b64" ? fields->key_b64 : fields->value_b64);
  if (slot.has_value()) {
    return Error(name_at, absl::StrCat("field \"", name, "\" appears twice"));
  }
  slot.emplace();
  if (absl::Status s = ParseString(&*slot); !s.ok()) return s;
  if (name == "key") return absl::OkStatus();
  std::string decoded;
  if (!absl::Base64Unescape(*slot, &decoded) || absl::Base64Escape(decoded) != *slot) {
    return Error(value_at,
                 absl::StrCat("field \"", name, "\" is not standard base64 with padding"));
  }
  *slot = std::move(decoded);
  return absl::OkStatus();
}

absl::Status JsonlParser::ParseIntegerField(const std::string& name, size_t name_at,
                                            Fields* fields) {
  const size_t value_at = pos_;
  bool negative = false;
  uint64_t magnitude = 0;
  if (absl::Status s = ParseInteger(&negative, &magnitude); !s.ok()) return s;
  if (negative && magnitude == 0) negative = false;  // "-0"
  const bool duplicate = name == "version" ? fields->version.has_value()
                         : name == "flags" ? fields->flags.has_value()
                                           : fields->ttl_ms.has_value();
  if (duplicate) return Error(name_at, absl::StrCat("field \"", name, "\" appears twice"));
  if (name == "version") {
    if (negative) return Error(value_at, "\"version\" cannot be negative");
    fields->version = magnitude;
  } else if (name == "flags") {
    if (negative || magnitude > std::numeric_limits<uint32_t>::max()) {
      return Error(value_at, "\"flags\" must be 0 to 4294967295");
    }
    fields->flags = static_cast<uint32_t>(magnitude);
  } else {
    if (negative ? magnitude != 1
                 : magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Error(value_at, "\"ttl_ms\" must be -1 (never expires) or 0 to 2^63-1");
    }
    fields->ttl_ms = negative ? -1 : static_cast<int64_t>(magnitude);
  }
  return absl::OkStatus();
}

absl::Status JsonlParser::BuildRecord(Fields& fields, SnapshotRecord* record) const {
  if (!fields.key.has_value() && !fields.key_b64.has_value()) {
    return Error(0, "the object has neither \"key_b64\" nor \"key\"");
  }
  if (fields.key.has_value() && fields.key_b64.has_value() && *fields.key != *fields.key_b64) {
    return Error(0, "\"key\" and \"key_b64\" name different keys");
  }
  if (!fields.value_b64.has_value()) return Error(0, "the object has no \"value_b64\"");
  SnapshotRecord r;
  r.key = fields.key_b64.has_value() ? std::move(*fields.key_b64) : std::move(*fields.key);
  r.value = std::move(*fields.value_b64);
  r.version = fields.version.value_or(0);
  r.flags = fields.flags.value_or(0);
  r.ttl_remaining_ms = fields.ttl_ms.value_or(-1);
  if (r.key.empty() || r.key.size() > kMaxSnapshotKeySize) {
    return Error(0, absl::StrCat("the key is ", r.key.size(), " bytes (must be 1 to ",
                                 kMaxSnapshotKeySize, ")"));
  }
  if (r.value.size() > kMaxSnapshotValueSize) {
    return Error(0, absl::StrCat("the value is ", r.value.size(), " bytes (the maximum is ",
                                 kMaxSnapshotValueSize, ")"));
  }
  *record = std::move(r);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteJsonl(const SnapshotRecord& record, std::string* out) {
  if (absl::Status s = ValidateSnapshotRecord(record); !s.ok()) return s;
  out->append("{");
  if (util::IsUtf8(record.key)) {
    // Well-formed UTF-8, so JsonString escapes only '"', '\\' and control
    // characters.
    absl::StrAppend(out, "\"key\":", util::JsonString(record.key), ",");
  }
  absl::StrAppend(out, "\"key_b64\":\"", util::Base64(record.key), "\",\"value_b64\":\"",
                  util::Base64(record.value), "\",\"version\":", record.version,
                  ",\"flags\":", record.flags, ",\"ttl_ms\":", record.ttl_remaining_ms, "}\n");
  return absl::OkStatus();
}

absl::Status ParseJsonlLine(absl::string_view line, SnapshotRecord* record) {
  return JsonlParser(line).Parse(record);
}

}  // namespace shmkv
