#include "kv/snapshot/snapshot.h"

#include <fcntl.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "kv/util/crc32c.h"
#include "kv/util/substr.h"
#include "kv/util/utf8.h"

namespace shmkv {
namespace {

namespace fmt = snapshot_format;
using util::Clip;
using util::Crc32c;
using util::Crc32cExtend;

// ---------------------------------------------------------------- helpers

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string Le32(uint32_t v) {
  std::string s;
  PutU32(&s, v);
  return s;
}

std::string Hex32(uint32_t v) { return absl::StrFormat("0x%08x", v); }

constexpr char kRerun[] = "; the file was cut short - re-run kvcli dump";

std::string EncodeFileHeader(uint64_t count) {
  std::string h(fmt::kMagic, fmt::kMagicSize);
  PutU32(&h, fmt::kVersion);
  PutU32(&h, 0);  // header flags
  PutU64(&h, count);
  PutU32(&h, Crc32c(h));
  return h;
}

}  // namespace

absl::Status ValidateSnapshotRecord(const SnapshotRecord& record) {
  if (record.key.empty()) {
    return absl::InvalidArgumentError("snapshot record has an empty key");
  }
  if (record.key.size() > kMaxSnapshotKeySize) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot record key is ", record.key.size(),
                                                   " bytes; the maximum is ", kMaxSnapshotKeySize));
  }
  if (record.value.size() > kMaxSnapshotValueSize) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot record value is ", record.value.size(),
                                                   " bytes; the maximum is ",
                                                   kMaxSnapshotValueSize));
  }
  if (record.ttl_remaining_ms < -1) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot record ttl_remaining_ms is ", record.ttl_remaining_ms,
                     "; it must be -1 (never expires) or at least 0"));
  }
  return absl::OkStatus();
}

// ================================================================ writer

SnapshotWriter::SnapshotWriter(std::string* sink) : string_sink_(sink) {}

SnapshotWriter::SnapshotWriter(std::FILE* sink) : file_sink_(sink) {
  // The header count can be patched only where a seek lands where we expect:
  // a seekable stream not in append mode (appends ignore the seek).
  const off_t pos = ftello(sink);
  const int fd = fileno(sink);
  if (pos >= 0 && fd >= 0) {
    const int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_APPEND) == 0) file_start_ = pos;
  }
}

absl::Status SnapshotWriter::Write(absl::string_view bytes) {
  if (string_sink_ != nullptr) {
    string_sink_->append(bytes.data(), bytes.size());
  } else if (!bytes.empty() &&
             std::fwrite(bytes.data(), 1, bytes.size(), file_sink_) != bytes.size()) {
    const int e = errno != 0 ? errno : EIO;
    error_ = absl::ErrnoToStatus(e, absl::StrCat("writing the snapshot failed at byte ", bytes_));
    return error_;
  }
  bytes_ += bytes.size();
  return absl::OkStatus();
}

absl::Status SnapshotWriter::EnsureHeader() {
  if (header_written_) return absl::OkStatus();
  header_written_ = true;
  if (string_sink_ != nullptr) string_start_ = string_sink_->size();
  return Write(EncodeFileHeader(fmt::kUnknownCount));
}

absl::Status SnapshotWriter::Add(const SnapshotRecord& record) {
  if (finished_) {
    return absl::FailedPreconditionError("SnapshotWriter::Add after Finish");
  }
  if (!error_.ok()) return error_;
  if (absl::Status s = ValidateSnapshotRecord(record); !s.ok()) return s;
  if (absl::Status s = EnsureHeader(); !s.ok()) return s;

  std::string fixed;
  fixed.reserve(fmt::kRecordFixedSize);
  fixed.push_back(fmt::kRecordTag);
  PutU32(&fixed, static_cast<uint32_t>(record.key.size()));
  PutU32(&fixed, static_cast<uint32_t>(record.value.size()));
  PutU64(&fixed, record.version);
  PutU32(&fixed, record.flags);
  PutU64(&fixed, static_cast<uint64_t>(record.ttl_remaining_ms));
  PutU32(&fixed, Crc32c(fixed));
  uint32_t crc = Crc32cExtend(Crc32c(fixed), record.key);
  crc = Crc32cExtend(crc, record.value);
  const std::string crc_bytes = Le32(crc);
  for (absl::string_view part : {absl::string_view(fixed), absl::string_view(record.key),
                                 absl::string_view(record.value), absl::string_view(crc_bytes)}) {
    if (absl::Status s = Write(part); !s.ok()) return s;
  }
  chain_crc_ = Crc32cExtend(chain_crc_, crc_bytes);
  ++records_;
  return absl::OkStatus();
}

absl::Status SnapshotWriter::PatchHeaderCount() {
  const std::string header = EncodeFileHeader(records_);
  if (string_sink_ != nullptr) {
    string_sink_->replace(string_start_, header.size(), header);
    return absl::OkStatus();
  }
  if (file_start_ < 0) return absl::OkStatus();
  if (std::fflush(file_sink_) != 0) {
    return absl::ErrnoToStatus(errno != 0 ? errno : EIO, "flushing the snapshot");
  }
  const off_t end = ftello(file_sink_);
  if (end < 0 || fseeko(file_sink_, file_start_, SEEK_SET) != 0) {
    // Not seekable after all: the header keeps "unknown", which is valid.
    return absl::OkStatus();
  }
  if (std::fwrite(header.data(), 1, header.size(), file_sink_) != header.size() ||
      std::fflush(file_sink_) != 0 || fseeko(file_sink_, end, SEEK_SET) != 0) {
    return absl::ErrnoToStatus(errno != 0 ? errno : EIO, "rewriting the snapshot's file header");
  }
  return absl::OkStatus();
}

absl::Status SnapshotWriter::Finish() {
  if (finished_) {
    return absl::FailedPreconditionError("SnapshotWriter::Finish called twice");
  }
  finished_ = true;
  if (!error_.ok()) return error_;
  if (absl::Status s = EnsureHeader(); !s.ok()) return s;
  std::string trailer;
  trailer.push_back(fmt::kTrailerTag);
  PutU64(&trailer, records_);
  PutU32(&trailer, chain_crc_);
  PutU32(&trailer, Crc32c(trailer));
  if (absl::Status s = Write(trailer); !s.ok()) return s;
  if (absl::Status s = PatchHeaderCount(); !s.ok()) return error_ = s;
  if (file_sink_ != nullptr && std::fflush(file_sink_) != 0) {
    return error_ = absl::ErrnoToStatus(errno != 0 ? errno : EIO, "flushing the snapshot");
  }
  return absl::OkStatus();
}

// ================================================================ reader

absl::StatusOr<SnapshotReader> SnapshotReader::Open(absl::string_view bytes) {
  SnapshotReader reader;
  reader.bytes_ = bytes;
  if (absl::Status s = reader.Init(); !s.ok()) return s;
  return reader;
}

absl::StatusOr<SnapshotReader> SnapshotReader::Open(std::FILE* file) {
  SnapshotReader reader;
  reader.file_ = file;
  if (absl::Status s = reader.Init(); !s.ok()) return s;
  return reader;
}

size_t SnapshotReader::Read(size_t n, std::string* out) {
  if (file_ == nullptr) {
    const size_t k = std::min<uint64_t>(n, bytes_.size() - offset_);
    out->append(bytes_.data() + offset_, k);
    offset_ += k;
    return k;
  }
  // Grow by at most 1 MiB ahead of the data actually read, so a forged length
  // cannot make us allocate much more than the file holds.
  constexpr size_t kChunk = size_t{1} << 20;
  size_t got = 0;
  while (got < n) {
    const size_t want = std::min(n - got, kChunk);
    const size_t old = out->size();
    out->resize(old + want);
    const size_t r = std::fread(&(*out)[old], 1, want, file_);
    out->resize(old + r);
    got += r;
    offset_ += r;
    if (r < want) {
      if (std::ferror(file_)) {
        io_error_ =
            absl::ErrnoToStatus(errno != 0 ? errno : EIO,
                                absl::StrCat("reading the snapshot failed at byte ", offset_));
      }
      break;
    }
  }
  return got;
}

absl::Status SnapshotReader::Fail(absl::Status status) {
  error_ = status;
  return status;
}

std::string SnapshotReader::RecordName() const {
  if (declared_.has_value()) {
    return absl::StrCat("record ", records_ + 1, " of ", *declared_);
  }
  return absl::StrCat("record ", records_ + 1);
}

absl::Status SnapshotReader::Truncated(absl::string_view what) const {
  return absl::DataLossError(
      absl::StrCat("snapshot truncated at byte ", offset_, ": ", what, kRerun));
}

absl::Status SnapshotReader::Init() {
  scratch_.clear();
  const size_t got = Read(fmt::kFileHeaderSize, &scratch_);
  if (!io_error_.ok()) return io_error_;
  if (got == 0) {
    return absl::DataLossError(
        "snapshot is empty (0 bytes): expected a file written by kvcli dump");
  }
  const size_t magic_seen = std::min(got, fmt::kMagicSize);
  if (absl::string_view(scratch_.data(), magic_seen) !=
      absl::string_view(fmt::kMagic, magic_seen)) {
    std::string hint;
    if (DetectSnapshotFormat(scratch_) == SnapshotFormat::kJsonl) {
      hint = " (it looks like a JSON-lines dump: read it with ParseJsonlLine)";
    }
    return absl::DataLossError(absl::StrCat("not a shmkv snapshot: bad magic at byte 0 (found \"",
                                            absl::CHexEscape(Clip(scratch_, 0, fmt::kMagicSize)),
                                            "\", expected \"", fmt::kMagic, "\")", hint));
  }
  if (got < fmt::kFileHeaderSize) {
    return Truncated(absl::StrCat("the ", fmt::kFileHeaderSize, "-byte file header is incomplete"));
  }
  const uint32_t stored = GetU32(scratch_.data() + 24);
  const uint32_t computed = Crc32c(Clip(scratch_, 0, 24));
  if (stored != computed) {
    return absl::DataLossError(
        absl::StrCat("snapshot corrupt at byte 0: the file header fails its "
                     "checksum (stored ",
                     Hex32(stored), ", computed ", Hex32(computed), ")"));
  }
  format_version_ = GetU32(scratch_.data() + 8);
  if (format_version_ != fmt::kVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot format version ", format_version_, " is not supported: this kvcli reads version ",
        fmt::kVersion, "; use the kvcli that wrote it or a newer one"));
  }
  const uint32_t flags = GetU32(scratch_.data() + 12);
  if (flags != 0) {
    return absl::DataLossError(absl::StrCat("snapshot corrupt at byte 12: reserved header flags ",
                                            Hex32(flags), " are set (version 1 defines none)"));
  }
  const uint64_t count = GetU64(scratch_.data() + 16);
  if (count != fmt::kUnknownCount) declared_ = count;
  return absl::OkStatus();
}

absl::StatusOr<bool> SnapshotReader::Next(SnapshotRecord* record) {
  if (!error_.ok()) return error_;
  if (done_) return false;
  const uint64_t start = offset_;
  scratch_.clear();
  Read(1, &scratch_);
  if (!io_error_.ok()) return Fail(io_error_);
  if (scratch_.empty()) {
    std::string what = absl::StrCat("the trailer is missing after record ", records_);
    if (declared_.has_value()) absl::StrAppend(&what, " of ", *declared_);
    return Fail(Truncated(what));
  }
  const char tag = scratch_[0];
  if (tag == fmt::kTrailerTag) return ReadTrailer(start);
  if (tag != fmt::kRecordTag) {
    return Fail(absl::DataLossError(
        absl::StrFormat("snapshot corrupt at byte %d: expected %s (tag 'R') or the trailer "
                        "(tag 'E'), found byte 0x%02x",
                        start, RecordName(), static_cast<unsigned char>(tag))));
  }
  if (declared_.has_value() && records_ >= *declared_) {
    return Fail(absl::DataLossError(
        absl::StrCat("snapshot corrupt at byte ", start, ": found record ", records_ + 1,
                     " but the file header says there are ", *declared_)));
  }

  auto incomplete = [&] {
    return Truncated(absl::StrCat(RecordName(), " (from byte ", start, ") is incomplete"));
  };
  Read(fmt::kRecordFixedSize - 1, &scratch_);
  if (!io_error_.ok()) return Fail(io_error_);
  if (scratch_.size() < fmt::kRecordFixedSize) return Fail(incomplete());
  const char* p = scratch_.data();
  const uint32_t stored_fixed = GetU32(p + 29);
  const uint32_t computed_fixed = Crc32c(Clip(scratch_, 0, 29));
  if (stored_fixed != computed_fixed) {
    return Fail(absl::DataLossError(
        absl::StrCat("snapshot corrupt at byte ", start, ": the header of ", RecordName(),
                     " fails its checksum (stored ", Hex32(stored_fixed), ", computed ",
                     Hex32(computed_fixed), ")")));
  }
  const uint32_t key_len = GetU32(p + 1);
  const uint32_t value_len = GetU32(p + 5);
  const int64_t ttl = static_cast<int64_t>(GetU64(p + 21));
  if (key_len == 0 || key_len > kMaxSnapshotKeySize) {
    return Fail(absl::DataLossError(absl::StrCat(
        "snapshot corrupt at byte ", start + 1, ": ", RecordName(), " claims a key of ", key_len,
        " bytes (must be 1 to ", kMaxSnapshotKeySize, ")")));
  }
  if (value_len > kMaxSnapshotValueSize) {
    return Fail(absl::DataLossError(absl::StrCat(
        "snapshot corrupt at byte ", start + 5, ": ", RecordName(), " claims a value of ",
        value_len, " bytes (the maximum is ", kMaxSnapshotValueSize, ")")));
  }
  if (ttl < -1) {
    return Fail(absl::DataLossError(absl::StrCat("snapshot corrupt at byte ", start + 21, ": ",
                                                 RecordName(), " has ttl_remaining_ms ", ttl,
                                                 " (must be -1 or at least 0)")));
  }
  const std::string fixed = scratch_;

  record->key.clear();
  record->value.clear();
  if (file_ == nullptr) {
    record->value.reserve(std::min<uint64_t>(value_len, bytes_.size() - offset_));
  }
  if (Read(key_len, &record->key) < key_len || Read(value_len, &record->value) < value_len) {
    if (!io_error_.ok()) return Fail(io_error_);
    return Fail(incomplete());
  }
  scratch_.clear();
  Read(4, &scratch_);
  if (!io_error_.ok()) return Fail(io_error_);
  if (scratch_.size() < 4) return Fail(incomplete());
  const uint32_t stored = GetU32(scratch_.data());
  uint32_t computed = Crc32cExtend(Crc32c(fixed), record->key);
  computed = Crc32cExtend(computed, record->value);
  if (stored != computed) {
    return Fail(absl::DataLossError(absl::StrCat(
        "snapshot corrupt at bytes ", start, "..", offset_ - 1, ": ", RecordName(),
        " fails its checksum (stored ", Hex32(stored), ", computed ", Hex32(computed), ")")));
  }
  record->version = GetU64(p + 9);
  record->flags = GetU32(p + 17);
  record->ttl_remaining_ms = ttl;
  chain_crc_ = Crc32cExtend(chain_crc_, scratch_);
  ++records_;
  return true;
}

absl::StatusOr<bool> SnapshotReader::ReadTrailer(uint64_t start) {
  Read(fmt::kTrailerSize - 1, &scratch_);
  if (!io_error_.ok()) return Fail(io_error_);
  if (scratch_.size() < fmt::kTrailerSize) {
    return Fail(Truncated(absl::StrCat("the trailer (from byte ", start, ") is incomplete")));
  }
  const uint32_t stored = GetU32(scratch_.data() + 13);
  const uint32_t computed = Crc32c(Clip(scratch_, 0, 13));
  if (stored != computed) {
    return Fail(absl::DataLossError(absl::StrCat(
        "snapshot corrupt at byte ", start, ": the trailer fails its checksum (stored ",
        Hex32(stored), ", computed ", Hex32(computed), ")")));
  }
  const uint64_t count = GetU64(scratch_.data() + 1);
  if (count != records_) {
    return Fail(
        absl::DataLossError(absl::StrCat("snapshot corrupt at byte ", start, ": the trailer says ",
                                         count, " records but ", records_, " precede it")));
  }
  if (declared_.has_value() && *declared_ != records_) {
    return Fail(absl::DataLossError(
        absl::StrCat("snapshot corrupt at byte ", start, ": the file header says ", *declared_,
                     " records but ", records_, " precede the trailer")));
  }
  const uint32_t chain = GetU32(scratch_.data() + 9);
  if (chain != chain_crc_) {
    return Fail(absl::DataLossError(
        absl::StrCat("snapshot corrupt at byte ", start + 9,
                     ": the trailer's checksum over all record checksums does not match "
                     "(stored ",
                     Hex32(chain), ", computed ", Hex32(chain_crc_),
                     "): records were dropped, duplicated or reordered")));
  }
  const uint64_t end = offset_;
  scratch_.clear();
  Read(1, &scratch_);
  if (!io_error_.ok()) return Fail(io_error_);
  if (!scratch_.empty()) {
    std::string extra = "more bytes";
    if (file_ == nullptr) extra = absl::StrCat(bytes_.size() - end, " more bytes");
    return Fail(absl::DataLossError(
        absl::StrCat("snapshot corrupt at byte ", end, ": ", extra, " follow the trailer")));
  }
  done_ = true;
  return false;
}

absl::StatusOr<uint64_t> VerifySnapshot(absl::string_view bytes) {
  absl::StatusOr<SnapshotReader> reader = SnapshotReader::Open(bytes);
  if (!reader.ok()) return reader.status();
  SnapshotRecord record;
  while (true) {
    absl::StatusOr<bool> more = reader->Next(&record);
    if (!more.ok()) return more.status();
    if (!*more) return reader->records_read();
  }
}

// ================================================================ JSON lines

namespace {

void AppendJsonString(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char c : s) {
    const unsigned char b = static_cast<unsigned char>(c);
    if (b == '"' || b == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (b < 0x20 || b == 0x7f) {
      out->append("\\u00");
      out->push_back(kHex[b >> 4]);
      out->push_back(kHex[b & 0xf]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
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
  absl::Status ParseHex4(uint32_t* unit);
  // An integer: *negative and its magnitude.
  absl::Status ParseInteger(bool* negative, uint64_t* magnitude);

  absl::string_view line_;
  size_t pos_ = 0;
};

absl::Status JsonlParser::ParseHex4(uint32_t* unit) {
  *unit = 0;
  for (int i = 0; i < 4; ++i, ++pos_) {
    if (AtEnd()) return Error(pos_, "\\u needs 4 hex digits");
    const char c = Peek();
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
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
    if (AtEnd()) return Error(escape, "unterminated escape");
    const char e = Peek();
    ++pos_;
    switch (e) {
      case '"':
        out->push_back('"');
        continue;
      case '\\':
        out->push_back('\\');
        continue;
      case '/':
        out->push_back('/');
        continue;
      case 'b':
        out->push_back('\b');
        continue;
      case 'f':
        out->push_back('\f');
        continue;
      case 'n':
        out->push_back('\n');
        continue;
      case 'r':
        out->push_back('\r');
        continue;
      case 't':
        out->push_back('\t');
        continue;
      case 'u':
        break;
      default:
        return Error(escape, "unknown escape in a string");
    }
    uint32_t cp = 0;
    if (absl::Status s = ParseHex4(&cp); !s.ok()) return s;
    if (cp >= 0xdc00 && cp <= 0xdfff) {
      return Error(escape, "lone low surrogate in a string");
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (pos_ + 1 >= line_.size() || line_[pos_] != '\\' || line_[pos_ + 1] != 'u') {
        return Error(escape, "high surrogate not followed by a low surrogate");
      }
      pos_ += 2;
      uint32_t low = 0;
      if (absl::Status s = ParseHex4(&low); !s.ok()) return s;
      if (low < 0xdc00 || low > 0xdfff) {
        return Error(escape, "high surrogate not followed by a low surrogate");
      }
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
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
  absl::optional<std::string> key, key_b64, value_b64;
  absl::optional<uint64_t> version;
  absl::optional<uint32_t> flags;
  absl::optional<int64_t> ttl_ms;
  bool first = true;
  while (true) {
    SkipWhitespace();
    if (!AtEnd() && Peek() == '}') {
      if (!first) return Error(pos_, "expected another member after ','");
      ++pos_;
      break;
    }
    const size_t name_at = pos_;
    std::string name;
    if (absl::Status s = ParseString(&name); !s.ok()) return s;
    if (absl::Status s = Expect(':'); !s.ok()) return s;
    SkipWhitespace();
    const size_t value_at = pos_;
    auto duplicate = [&] {
      return Error(name_at, absl::StrCat("field \"", name, "\" appears twice"));
    };
    if (name == "key" || name == "key_b64" || name == "value_b64") {
      absl::optional<std::string>& slot =
          name == "key" ? key : (name == "key_b64" ? key_b64 : value_b64);
      if (slot.has_value()) return duplicate();
      slot.emplace();
      if (absl::Status s = ParseString(&*slot); !s.ok()) return s;
      if (name != "key") {
        std::string decoded;
        if (!absl::Base64Unescape(*slot, &decoded) || absl::Base64Escape(decoded) != *slot) {
          return Error(value_at,
                       absl::StrCat("field \"", name, "\" is not standard base64 with padding"));
        }
        *slot = std::move(decoded);
      }
    } else if (name == "version" || name == "flags" || name == "ttl_ms") {
      bool negative = false;
      uint64_t magnitude = 0;
      if (absl::Status s = ParseInteger(&negative, &magnitude); !s.ok()) return s;
      if (negative && magnitude == 0) negative = false;  // "-0"
      if (name == "version") {
        if (version.has_value()) return duplicate();
        if (negative) return Error(value_at, "\"version\" cannot be negative");
        version = magnitude;
      } else if (name == "flags") {
        if (flags.has_value()) return duplicate();
        if (negative || magnitude > std::numeric_limits<uint32_t>::max()) {
          return Error(value_at, "\"flags\" must be 0 to 4294967295");
        }
        flags = static_cast<uint32_t>(magnitude);
      } else {
        if (ttl_ms.has_value()) return duplicate();
        if (negative ? magnitude != 1
                     : magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Error(value_at, "\"ttl_ms\" must be -1 (never expires) or 0 to 2^63-1");
        }
        ttl_ms = negative ? -1 : static_cast<int64_t>(magnitude);
      }
    } else {
      return Error(name_at,
                   absl::StrCat("unknown field \"", absl::CHexEscape(Clip(name, 0, 40)), "\""));
    }
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

  if (!key.has_value() && !key_b64.has_value()) {
    return Error(0, "the object has neither \"key_b64\" nor \"key\"");
  }
  if (key.has_value() && key_b64.has_value() && *key != *key_b64) {
    return Error(0, "\"key\" and \"key_b64\" name different keys");
  }
  if (!value_b64.has_value()) return Error(0, "the object has no \"value_b64\"");
  SnapshotRecord r;
  r.key = key_b64.has_value() ? std::move(*key_b64) : std::move(*key);
  r.value = std::move(*value_b64);
  r.version = version.value_or(0);
  r.flags = flags.value_or(0);
  r.ttl_remaining_ms = ttl_ms.value_or(-1);
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
    out->append("\"key\":");
    AppendJsonString(record.key, out);
    out->append(",");
  }
  absl::StrAppend(out, "\"key_b64\":\"", absl::Base64Escape(record.key), "\",\"value_b64\":\"",
                  absl::Base64Escape(record.value), "\",\"version\":", record.version,
                  ",\"flags\":", record.flags, ",\"ttl_ms\":", record.ttl_remaining_ms, "}\n");
  return absl::OkStatus();
}

absl::Status ParseJsonlLine(absl::string_view line, SnapshotRecord* record) {
  return JsonlParser(line).Parse(record);
}

SnapshotFormat DetectSnapshotFormat(absl::string_view head) {
  if (head.size() >= fmt::kMagicSize &&
      std::memcmp(head.data(), fmt::kMagic, fmt::kMagicSize) == 0) {
    return SnapshotFormat::kBinary;
  }
  for (const char c : head) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{' ? SnapshotFormat::kJsonl : SnapshotFormat::kUnknown;
  }
  return SnapshotFormat::kJsonl;
}

}  // namespace shmkv
