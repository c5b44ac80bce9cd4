// Snapshots: what `kvcli dump` writes and `kvcli load` reads.
//
// Two formats hold the same records:
//  - binary (doc/snapshot_format.md): checksummed, detects truncation and
//    corruption; written by SnapshotWriter, read by SnapshotReader.
//  - JSON lines: one object per entry, for people and scripts; written by
//    WriteJsonl, read line by line with ParseJsonlLine. It has no checksums
//    and no trailer, so a file cut at a line boundary is not detected.
// DetectSnapshotFormat tells them apart from the first bytes.
//
// Every malformed input is an absl::DataLoss error naming the byte offset and
// what is wrong; readers never crash and never allocate more than the input
// holds (lengths are capped by kMaxSnapshotKeySize / kMaxSnapshotValueSize).
#ifndef SHMKV_KV_SNAPSHOT_SNAPSHOT_H_
#define SHMKV_KV_SNAPSHOT_SNAPSHOT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace shmkv {

// Limits on one record. The key limit equals the store's kMaxKeySizeLimit
// (kv/options.h); keys are never empty.
inline constexpr size_t kMaxSnapshotKeySize = 4096;
inline constexpr size_t kMaxSnapshotValueSize = size_t{1} << 30;

struct SnapshotRecord {
  std::string key;    // 1..kMaxSnapshotKeySize bytes
  std::string value;  // 0..kMaxSnapshotValueSize bytes
  uint64_t version = 0;
  uint32_t flags = 0;
  // Milliseconds the entry had left when dumped; -1 = never expires. Other
  // negative values are invalid.
  int64_t ttl_remaining_ms = -1;

  friend bool operator==(const SnapshotRecord& a, const SnapshotRecord& b) {
    return a.key == b.key && a.value == b.value && a.version == b.version && a.flags == b.flags &&
           a.ttl_remaining_ms == b.ttl_remaining_ms;
  }
  friend bool operator!=(const SnapshotRecord& a, const SnapshotRecord& b) { return !(a == b); }
};

// OK if `record` is within the limits above, else InvalidArgument.
absl::Status ValidateSnapshotRecord(const SnapshotRecord& record);

// Writes the binary format. The file header goes out with the first Add or
// Finish; nothing is complete until Finish returns OK: a snapshot without its
// trailer is reported as truncated by every reader.
//
// The header's record count is filled in at Finish for a string sink, and for
// a seekable FILE* not opened for appending; otherwise it says "unknown" and
// only the trailer holds the count (both are valid files).
class SnapshotWriter {
 public:
  // Appends to *sink, which must outlive the writer.
  explicit SnapshotWriter(std::string* sink);
  // Writes at the stream's position; the caller keeps ownership and closes
  // it. Finish flushes it.
  explicit SnapshotWriter(std::FILE* sink);

  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  // InvalidArgument for a record out of limits (nothing is written); an I/O
  // failure is returned as the errno's status and is then sticky.
  absl::Status Add(const SnapshotRecord& record);
  // Writes the trailer (and patches the header count, see above). Calls after
  // Finish fail with FailedPrecondition.
  absl::Status Finish();

  uint64_t records_written() const { return records_; }
  uint64_t bytes_written() const { return bytes_; }

 private:
  absl::Status EnsureHeader();
  absl::Status Write(absl::string_view bytes);
  absl::Status PatchHeaderCount();

  std::string* string_sink_ = nullptr;
  std::FILE* file_sink_ = nullptr;
  size_t string_start_ = 0;  // header offset in *string_sink_
  int64_t file_start_ = -1;  // header offset in *file_sink_, -1 if not seekable
  bool header_written_ = false;
  bool finished_ = false;
  absl::Status error_;  // sticky I/O error
  uint64_t records_ = 0;
  uint64_t bytes_ = 0;
  uint32_t chain_crc_ = 0;  // running CRC-32C over the record checksums
};

// Reads the binary format, verifying every checksum and length. Offsets in
// messages count from the first byte of the snapshot (for a FILE*, from its
// position at Open).
class SnapshotReader {
 public:
  // Reads from `bytes`, which must outlive the reader (nothing is copied).
  static absl::StatusOr<SnapshotReader> Open(absl::string_view bytes);
  // Streams from `file` (not closed by the reader). Memory use stays within
  // one record, however large the file.
  static absl::StatusOr<SnapshotReader> Open(std::FILE* file);

  // Reads the next record into *record: true, or false once the trailer has
  // been read and verified (then the whole snapshot is good). An error is
  // sticky. Records come back before the trailer is checked; a caller that
  // must not act on a bad file should run VerifySnapshot first.
  absl::StatusOr<bool> Next(SnapshotRecord* record);

  // The header's record count, or nullopt if the writer could not fill it in.
  absl::optional<uint64_t> declared_records() const { return declared_; }
  uint64_t records_read() const { return records_; }
  uint64_t offset() const { return offset_; }
  uint32_t format_version() const { return format_version_; }

 private:
  SnapshotReader() = default;
  absl::Status Init();
  // Reads up to n bytes, appending to *out; returns how many were read. For
  // a FILE, a read error other than end-of-file sets io_error_.
  size_t Read(size_t n, std::string* out);
  absl::Status Fail(absl::Status status);
  std::string RecordName() const;  // "record 7 of 10" / "record 7"
  absl::Status Truncated(absl::string_view what) const;
  absl::StatusOr<bool> ReadTrailer(uint64_t start);
  // The record from `start`, after its tag: its fixed part, checked and
  // left in scratch_; then its key, value and checksum. The error Next
  // reports, or OK.
  absl::Status ReadRecordFixed(uint64_t start);
  absl::Status ReadRecordBody(uint64_t start, SnapshotRecord* record);

  absl::string_view bytes_;
  std::FILE* file_ = nullptr;
  uint64_t offset_ = 0;
  absl::Status io_error_;
  absl::Status error_;  // sticky
  bool done_ = false;
  uint32_t format_version_ = 0;
  absl::optional<uint64_t> declared_;
  uint64_t records_ = 0;
  uint32_t chain_crc_ = 0;
  std::string scratch_;
};

// Reads a whole binary snapshot and checks everything, trailer included,
// without keeping the records. Returns the record count.
absl::StatusOr<uint64_t> VerifySnapshot(absl::string_view bytes);

// Appends one JSON line (ending in '\n') for `record`:
//   {"key":"user:1","key_b64":"dXNlcjox","value_b64":"...","version":7,
//    "flags":0,"ttl_ms":-1}
// "key" is present only when the key is well-formed UTF-8 (control
// characters, '"' and '\' escaped); "key_b64" and "value_b64" (standard
// base64 with padding) always are. InvalidArgument for a record out of limits.
absl::Status WriteJsonl(const SnapshotRecord& record, std::string* out);

// Parses one line of the JSON-lines format into *record. Accepts the fields
// above in any order, with JSON whitespace around tokens and a trailing "\n"
// or "\r\n"; each field at most once; unknown fields are refused. The key
// comes from "key_b64" or "key" (at least one; if both, they must agree).
// "value_b64" is required; "version" and "flags" default to 0 and "ttl_ms" to
// -1. Numbers are JSON integers (no fraction or exponent). Any violation is a
// DataLoss error naming the byte offset within the line.
absl::Status ParseJsonlLine(absl::string_view line, SnapshotRecord* record);

enum class SnapshotFormat { kBinary, kJsonl, kUnknown };
// Binary if `head` starts with the file magic, JSON lines if its first
// non-whitespace byte is '{' (or it is all whitespace), else unknown.
SnapshotFormat DetectSnapshotFormat(absl::string_view head);

// Layout constants of binary format version 1 (doc/snapshot_format.md).
namespace snapshot_format {
inline constexpr char kMagic[] = "SHMKVSNP";  // 8 bytes, no terminator stored
inline constexpr size_t kMagicSize = 8;
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kFileHeaderSize = 28;
inline constexpr uint64_t kUnknownCount = ~uint64_t{0};
inline constexpr char kRecordTag = 'R';
inline constexpr size_t kRecordFixedSize = 33;  // tag .. fixed_crc
inline constexpr char kTrailerTag = 'E';
inline constexpr size_t kTrailerSize = 17;
}  // namespace snapshot_format

}  // namespace shmkv

#endif  // SHMKV_KV_SNAPSHOT_SNAPSHOT_H_
