// SnapshotReader and VerifySnapshot: the binary format, every checksum and
// length verified (doc/snapshot_format.md).
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "kv/snapshot/encoding.h"
#include "kv/snapshot/snapshot.h"
#include "kv/util/crc32c.h"
#include "kv/util/substr.h"

namespace shmkv {
namespace {

namespace fmt = snapshot_format;
using snapshot_encoding::GetU32;
using snapshot_encoding::GetU64;
using util::Clip;
using util::Crc32c;
using util::Crc32cExtend;

std::string Hex32(uint32_t v) { return absl::StrFormat("0x%08x", v); }

constexpr char kRerun[] = "; the file was cut short - re-run kvcli dump";

}  // namespace

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
  if (absl::Status s = ReadRecordFixed(start); !s.ok()) return Fail(s);
  if (absl::Status s = ReadRecordBody(start, record); !s.ok()) return Fail(s);
  ++records_;
  return true;
}

absl::Status SnapshotReader::ReadRecordFixed(uint64_t start) {
  Read(fmt::kRecordFixedSize - 1, &scratch_);
  if (!io_error_.ok()) return io_error_;
  if (scratch_.size() < fmt::kRecordFixedSize) {
    return Truncated(absl::StrCat(RecordName(), " (from byte ", start, ") is incomplete"));
  }
  const char* p = scratch_.data();
  const uint32_t stored_fixed = GetU32(p + 29);
  const uint32_t computed_fixed = Crc32c(Clip(scratch_, 0, 29));
  if (stored_fixed != computed_fixed) {
    return absl::DataLossError(absl::StrCat("snapshot corrupt at byte ", start, ": the header of ",
                                            RecordName(), " fails its checksum (stored ",
                                            Hex32(stored_fixed), ", computed ",
                                            Hex32(computed_fixed), ")"));
  }
  const uint32_t key_len = GetU32(p + 1);
  const uint32_t value_len = GetU32(p + 5);
  const int64_t ttl = static_cast<int64_t>(GetU64(p + 21));
  if (key_len == 0 || key_len > kMaxSnapshotKeySize) {
    return absl::DataLossError(absl::StrCat("snapshot corrupt at byte ", start + 1, ": ",
                                            RecordName(), " claims a key of ", key_len,
                                            " bytes (must be 1 to ", kMaxSnapshotKeySize, ")"));
  }
  if (value_len > kMaxSnapshotValueSize) {
    return absl::DataLossError(absl::StrCat("snapshot corrupt at byte ", start + 5, ": ",
                                            RecordName(), " claims a value of ", value_len,
                                            " bytes (the maximum is ", kMaxSnapshotValueSize, ")"));
  }
  if (ttl < -1) {
    return absl::DataLossError(absl::StrCat("snapshot corrupt at byte ", start + 21, ": ",
                                            RecordName(), " has ttl_remaining_ms ", ttl,
                                            " (must be -1 or at least 0)"));
  }
  return absl::OkStatus();
}

absl::Status SnapshotReader::ReadRecordBody(uint64_t start, SnapshotRecord* record) {
  const std::string fixed = scratch_;
  const char* p = fixed.data();
  const uint32_t key_len = GetU32(p + 1);
  const uint32_t value_len = GetU32(p + 5);
  auto incomplete = [&] {
    return Truncated(absl::StrCat(RecordName(), " (from byte ", start, ") is incomplete"));
  };
  record->key.clear();
  record->value.clear();
  if (file_ == nullptr) {
    record->value.reserve(std::min<uint64_t>(value_len, bytes_.size() - offset_));
  }
  if (Read(key_len, &record->key) < key_len || Read(value_len, &record->value) < value_len) {
    if (!io_error_.ok()) return io_error_;
    return incomplete();
  }
  scratch_.clear();
  Read(4, &scratch_);
  if (!io_error_.ok()) return io_error_;
  if (scratch_.size() < 4) return incomplete();
  const uint32_t stored = GetU32(scratch_.data());
  uint32_t computed = Crc32cExtend(Crc32c(fixed), record->key);
  computed = Crc32cExtend(computed, record->value);
  if (stored != computed) {
    return absl::DataLossError(absl::StrCat("snapshot corrupt at bytes ", start, "..", offset_ - 1,
                                            ": ", RecordName(), " fails its checksum (stored ",
                                            Hex32(stored), ", computed ", Hex32(computed), ")"));
  }
  record->version = GetU64(p + 9);
  record->flags = GetU32(p + 17);
  record->ttl_remaining_ms = static_cast<int64_t>(GetU64(p + 21));
  chain_crc_ = Crc32cExtend(chain_crc_, scratch_);
  return absl::OkStatus();
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

}  // namespace shmkv
