// SnapshotWriter: the binary format (doc/snapshot_format.md).
#include <fcntl.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kv/snapshot/encoding.h"
#include "kv/snapshot/snapshot.h"
#include "kv/util/crc32c.h"

namespace shmkv {
namespace {

namespace fmt = snapshot_format;
using snapshot_encoding::PutU32;
using snapshot_encoding::PutU64;
using util::Crc32c;
using util::Crc32cExtend;

std::string Le32(uint32_t v) {
  std::string s;
  PutU32(&s, v);
  return s;
}

std::string EncodeFileHeader(uint64_t count) {
  std::string h(fmt::kMagic, fmt::kMagicSize);
  PutU32(&h, fmt::kVersion);
  PutU32(&h, 0);  // header flags
  PutU64(&h, count);
  PutU32(&h, Crc32c(h));
  return h;
}

}  // namespace

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

}  // namespace shmkv
