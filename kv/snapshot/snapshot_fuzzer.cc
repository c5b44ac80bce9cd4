// libFuzzer target for kv/snapshot: feeds arbitrary bytes to SnapshotReader
// (from memory and from a FILE*) and to ParseJsonlLine, and aborts when a
// reader crashes, returns an unexpected error code, or a round trip through
// the writers does not give the same records back.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kv/snapshot/snapshot.h"
#include "kv/util/crc32c.h"

namespace {

using ::shmkv::SnapshotReader;
using ::shmkv::SnapshotRecord;
using ::shmkv::SnapshotWriter;
namespace fmt = ::shmkv::snapshot_format;

void Check(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "snapshot_fuzzer: invariant failed: %s\n", what);
  std::abort();
}

bool ExpectedCode(const absl::Status& s) {
  // FailedPrecondition only for a well-formed header of another version.
  return absl::IsDataLoss(s) || absl::IsFailedPrecondition(s);
}

struct ReadResult {
  absl::Status status;  // OK when the whole snapshot verified
  std::vector<SnapshotRecord> records;
};

ReadResult ReadAll(absl::StatusOr<SnapshotReader> reader) {
  ReadResult result;
  if (!reader.ok()) {
    result.status = reader.status();
    return result;
  }
  uint64_t last_offset = reader->offset();
  while (true) {
    SnapshotRecord record;
    absl::StatusOr<bool> more = reader->Next(&record);
    if (!more.ok()) {
      result.status = more.status();
      // Errors are sticky.
      SnapshotRecord again;
      absl::StatusOr<bool> repeat = reader->Next(&again);
      Check(!repeat.ok() && repeat.status() == more.status(), "sticky error");
      return result;
    }
    if (!*more) {
      absl::StatusOr<bool> repeat = reader->Next(&record);
      Check(repeat.ok() && !*repeat, "Next after the end stays false");
      return result;
    }
    Check(reader->offset() > last_offset, "every record consumes bytes");
    last_offset = reader->offset();
    Check(shmkv::ValidateSnapshotRecord(record).ok(), "records are within limits");
    result.records.push_back(std::move(record));
  }
}

ReadResult ReadFromMemory(absl::string_view bytes) { return ReadAll(SnapshotReader::Open(bytes)); }

ReadResult ReadFromFile(absl::string_view bytes) {
  std::string copy(bytes);
  std::FILE* f = fmemopen(copy.data(), copy.size(), "rb");
  Check(f != nullptr, "fmemopen");
  ReadResult result = ReadAll(SnapshotReader::Open(f));
  std::fclose(f);
  return result;
}

// Both readers must agree, and errors must carry an expected code.
ReadResult ReadBoth(absl::string_view bytes) {
  ReadResult mem = ReadFromMemory(bytes);
  Check(mem.status.ok() || ExpectedCode(mem.status), "reader error code");
  if (!bytes.empty()) {  // fmemopen refuses an empty buffer
    ReadResult file = ReadFromFile(bytes);
    Check(file.status.code() == mem.status.code(), "FILE and memory readers agree");
    Check(file.records == mem.records, "FILE and memory readers read the same");
  }
  if (mem.status.ok()) {
    absl::StatusOr<uint64_t> n = shmkv::VerifySnapshot(bytes);
    Check(n.ok() && *n == mem.records.size(), "VerifySnapshot agrees");
  }
  return mem;
}

std::string Write(const std::vector<SnapshotRecord>& records) {
  std::string out;
  SnapshotWriter writer(&out);
  for (const SnapshotRecord& r : records) Check(writer.Add(r).ok(), "Add");
  Check(writer.Finish().ok(), "Finish");
  return out;
}

void CheckJsonlRoundTrip(const SnapshotRecord& record) {
  std::string line;
  Check(shmkv::WriteJsonl(record, &line).ok(), "WriteJsonl");
  Check(!line.empty() && line.back() == '\n' && line.find('\n') == line.size() - 1,
        "WriteJsonl writes exactly one line");
  SnapshotRecord back;
  Check(shmkv::ParseJsonlLine(line, &back).ok(), "ParseJsonlLine(WriteJsonl)");
  Check(back == record, "JSONL round trip");
}

// Whatever records a successful read returns, writing them again and reading
// that back gives the same records.
void CheckRewrite(const std::vector<SnapshotRecord>& records) {
  const std::string again = Write(records);
  ReadResult reread = ReadBoth(again);
  Check(reread.status.ok(), "rewritten snapshot reads back");
  Check(reread.records == records, "rewritten snapshot has the same records");
  for (const SnapshotRecord& r : records) CheckJsonlRoundTrip(r);
}

void PutU32At(std::string* s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * i));
}

uint32_t U32At(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

uint64_t U64At(const std::string& s, size_t at) {
  return U32At(s, at) | (uint64_t{U32At(s, at + 4)} << 32);
}

// Rewrites the magic and every checksum the input's structure implies, so
// mutations reach the checks behind them (lengths, counts, trailing bytes).
// The trailer's count and chain are filled in only when they hold the
// placeholders kUnknownCount and 0, so their mismatches stay reachable too;
// records that run to the end of the input get a trailer appended.
std::string RepairChecksums(absl::string_view input) {
  std::string s(input);
  if (s.size() < fmt::kFileHeaderSize) return s;
  std::memcpy(&s[0], fmt::kMagic, fmt::kMagicSize);
  PutU32At(&s, 24, shmkv::util::Crc32c(absl::string_view(s.data(), 24)));
  size_t pos = fmt::kFileHeaderSize;
  uint32_t chain = 0;
  uint64_t count = 0;
  while (pos < s.size()) {
    if (s[pos] == fmt::kRecordTag && s.size() - pos >= fmt::kRecordFixedSize) {
      PutU32At(&s, pos + 29, shmkv::util::Crc32c(absl::string_view(s.data() + pos, 29)));
      const uint64_t body = uint64_t{U32At(s, pos + 1)} + U32At(s, pos + 5);
      const uint64_t end = pos + fmt::kRecordFixedSize + body;
      if (end + 4 > s.size()) break;
      const uint32_t crc = shmkv::util::Crc32c(absl::string_view(s.data() + pos, end - pos));
      PutU32At(&s, end, crc);
      chain = shmkv::util::Crc32cExtend(chain, absl::string_view(s.data() + end, 4));
      ++count;
      pos = end + 4;
    } else if (s[pos] == fmt::kTrailerTag && s.size() - pos >= fmt::kTrailerSize) {
      if (U64At(s, pos + 1) == fmt::kUnknownCount) {
        PutU32At(&s, pos + 1, static_cast<uint32_t>(count));
        PutU32At(&s, pos + 5, static_cast<uint32_t>(count >> 32));
      }
      if (U32At(s, pos + 9) == 0) PutU32At(&s, pos + 9, chain);
      PutU32At(&s, pos + 13, shmkv::util::Crc32c(absl::string_view(s.data() + pos, 13)));
      break;
    } else {
      break;
    }
  }
  if (pos == s.size()) {
    // The records run to the end: add the trailer a complete file would have.
    s.push_back(fmt::kTrailerTag);
    s.append(12, '\0');
    PutU32At(&s, pos + 1, static_cast<uint32_t>(count));
    PutU32At(&s, pos + 5, static_cast<uint32_t>(count >> 32));
    PutU32At(&s, pos + 9, chain);
    s.append(4, '\0');
    PutU32At(&s, pos + 13, shmkv::util::Crc32c(absl::string_view(s.data() + pos, 13)));
  }
  return s;
}

// Builds records from the input bytes, writes them, and checks that they read
// back, and that a cut or a flipped bit the input picks is detected.
void CheckSynthesized(absl::string_view input) {
  std::vector<SnapshotRecord> records;
  size_t i = 0;
  auto next = [&]() -> unsigned {
    return i < input.size() ? static_cast<unsigned char>(input[i++]) : 0u;
  };
  const unsigned n = next() % 6;
  for (unsigned r = 0; r < n; ++r) {
    SnapshotRecord rec;
    const size_t key_len = 1 + next() % 24;
    const size_t value_len = next() % 64;
    for (size_t k = 0; k < key_len; ++k) rec.key.push_back(static_cast<char>(next()));
    for (size_t k = 0; k < value_len; ++k) rec.value.push_back(static_cast<char>(next()));
    rec.version = next() * 0x0101010101010101ull;
    rec.flags = next() * 0x01010101u;
    const unsigned t = next();
    rec.ttl_remaining_ms = t < 64 ? -1 : static_cast<int64_t>(t) * 1000;
    records.push_back(std::move(rec));
  }
  const std::string file = Write(records);
  ReadResult back = ReadBoth(file);
  Check(back.status.ok() && back.records == records, "synthesized round trip");
  for (const SnapshotRecord& r : records) CheckJsonlRoundTrip(r);

  const size_t cut = (next() | (next() << 8)) % file.size();
  ReadResult truncated = ReadBoth(absl::string_view(file.data(), cut));
  Check(absl::IsDataLoss(truncated.status), "a cut snapshot is DataLoss");
  std::string flipped = file;
  const size_t bit = (next() | (next() << 8)) % (file.size() * 8);
  flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
  ReadResult corrupt = ReadBoth(flipped);
  Check(absl::IsDataLoss(corrupt.status), "a flipped bit is DataLoss");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);

  ReadResult raw = ReadBoth(input);
  if (raw.status.ok()) CheckRewrite(raw.records);

  const std::string repaired = RepairChecksums(input);
  ReadResult fixed = ReadBoth(repaired);
  if (fixed.status.ok()) CheckRewrite(fixed.records);

  SnapshotRecord record;
  const absl::Status parsed = shmkv::ParseJsonlLine(input, &record);
  if (parsed.ok()) {
    Check(shmkv::ValidateSnapshotRecord(record).ok(), "JSONL record within limits");
    CheckJsonlRoundTrip(record);
  } else {
    Check(absl::IsDataLoss(parsed), "ParseJsonlLine error code");
  }

  (void)shmkv::DetectSnapshotFormat(input);
  CheckSynthesized(input);
  return 0;
}
