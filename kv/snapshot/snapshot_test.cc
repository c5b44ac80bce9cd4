#include "kv/snapshot/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kv/util/crc32c.h"

// From snapshot_fuzzer.cc, linked into this test.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace shmkv {
namespace {

namespace fmt = snapshot_format;
using ::shmkv::util::Crc32c;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

SnapshotRecord Rec(std::string key, std::string value, uint64_t version = 1, uint32_t flags = 0,
                   int64_t ttl = -1) {
  SnapshotRecord r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.version = version;
  r.flags = flags;
  r.ttl_remaining_ms = ttl;
  return r;
}

std::string Encode(const std::vector<SnapshotRecord>& records) {
  std::string out;
  SnapshotWriter writer(&out);
  for (const SnapshotRecord& r : records) EXPECT_TRUE(writer.Add(r).ok());
  EXPECT_TRUE(writer.Finish().ok());
  return out;
}

// Reads everything; the status is OK only if the trailer verified.
absl::Status ReadAll(absl::StatusOr<SnapshotReader> reader, std::vector<SnapshotRecord>* records) {
  if (!reader.ok()) return reader.status();
  while (true) {
    SnapshotRecord r;
    absl::StatusOr<bool> more = reader->Next(&r);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
    records->push_back(std::move(r));
  }
}

absl::Status ReadBytes(absl::string_view bytes, std::vector<SnapshotRecord>* records = nullptr) {
  std::vector<SnapshotRecord> ignored;
  return ReadAll(SnapshotReader::Open(bytes), records ? records : &ignored);
}

absl::Status ReadViaFile(absl::string_view bytes, std::vector<SnapshotRecord>* records = nullptr) {
  std::string copy(bytes);
  std::FILE* f = fmemopen(copy.data(), copy.size(), "rb");
  if (f == nullptr) return absl::InternalError("fmemopen");
  std::vector<SnapshotRecord> ignored;
  absl::Status s = ReadAll(SnapshotReader::Open(f), records ? records : &ignored);
  std::fclose(f);
  return s;
}

std::vector<SnapshotRecord> SampleRecords() {
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  return {
      Rec("user:1", "alice", 7, 0, -1),
      Rec("empty-value", "", 1, 2, 0),
      Rec(std::string("\0bin\xff", 5), all_bytes, UINT64_MAX, UINT32_MAX, INT64_MAX),
      Rec(std::string(kMaxSnapshotKeySize, 'k'), std::string(1 << 20, 'v'), 3, 4, 5000),
      Rec("caf\xc3\xa9", "\n\r\t\"\\", 0, 0, 123),
  };
}

TEST(Snapshot, RoundTripSamples) {
  const std::vector<SnapshotRecord> records = SampleRecords();
  const std::string bytes = Encode(records);
  std::vector<SnapshotRecord> back;
  ASSERT_TRUE(ReadBytes(bytes, &back).ok());
  EXPECT_EQ(back, records);
  back.clear();
  ASSERT_TRUE(ReadViaFile(bytes, &back).ok());
  EXPECT_EQ(back, records);
  EXPECT_EQ(VerifySnapshot(bytes).value(), records.size());
}

TEST(Snapshot, RoundTripManyRandomRecords) {
  std::mt19937_64 rng(42);
  std::vector<SnapshotRecord> records;
  for (int i = 0; i < 2000; ++i) {
    SnapshotRecord r;
    r.key = absl::StrCat("k", i, ":");
    const size_t extra_key = rng() % 40;
    for (size_t k = 0; k < extra_key; ++k) r.key += static_cast<char>(rng());
    const size_t value_len = rng() % 4 == 0 ? 0 : rng() % 300;
    for (size_t k = 0; k < value_len; ++k) r.value += static_cast<char>(rng());
    r.version = rng();
    r.flags = static_cast<uint32_t>(rng());
    r.ttl_remaining_ms = rng() % 3 == 0 ? -1 : static_cast<int64_t>(rng() >> 1);
    records.push_back(std::move(r));
  }
  const std::string bytes = Encode(records);
  absl::StatusOr<SnapshotReader> reader = SnapshotReader::Open(bytes);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->format_version(), 1u);
  EXPECT_EQ(reader->declared_records(), absl::optional<uint64_t>(records.size()));
  std::vector<SnapshotRecord> back;
  ASSERT_TRUE(ReadAll(std::move(reader), &back).ok());
  EXPECT_EQ(back, records);
}

TEST(Snapshot, EmptySnapshot) {
  const std::string bytes = Encode({});
  EXPECT_EQ(bytes.size(), fmt::kFileHeaderSize + fmt::kTrailerSize);
  EXPECT_EQ(VerifySnapshot(bytes).value(), 0u);
  EXPECT_EQ(DetectSnapshotFormat(bytes), SnapshotFormat::kBinary);
}

TEST(Snapshot, LayoutOfOneRecord) {
  const std::string bytes = Encode({Rec("ab", "xyz", 0x0102030405060708, 9, -1)});
  ASSERT_EQ(bytes.size(), 28u + 33 + 2 + 3 + 4 + 17);
  EXPECT_EQ(bytes.substr(0, 8), "SHMKVSNP");
  EXPECT_EQ(bytes.substr(8, 8), std::string("\x01\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(bytes.substr(16, 8), std::string("\x01\0\0\0\0\0\0\0", 8));  // count
  EXPECT_EQ(bytes[28], 'R');
  EXPECT_EQ(bytes.substr(29, 8), std::string("\x02\0\0\0\x03\0\0\0", 8));
  EXPECT_EQ(bytes.substr(37, 8), "\x08\x07\x06\x05\x04\x03\x02\x01");
  EXPECT_EQ(bytes.substr(45, 4), std::string("\x09\0\0\0", 4));
  EXPECT_EQ(bytes.substr(49, 8), std::string(8, '\xff'));
  EXPECT_EQ(bytes.substr(61, 5), "abxyz");
  EXPECT_EQ(bytes[70], 'E');
}

// The example in doc/snapshot_format.md.
TEST(Snapshot, DocumentedExample) {
  const std::string expected = absl::HexStringToBytes(
      "53484d4b56534e50010000000000000001000000000000003ddafa2e"
      "520200000003000000070000000000000000000000ffffffffffffffffc57b0508"
      "616278797ae47bae29"
      "450100000000000000f5de06b136977def");
  EXPECT_EQ(Encode({Rec("ab", "xyz", 7, 0, -1)}), expected);
}

TEST(Snapshot, FileSinkPatchesTheHeaderCount) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  const std::vector<SnapshotRecord> records = SampleRecords();
  SnapshotWriter writer(f);
  for (const SnapshotRecord& r : records) ASSERT_TRUE(writer.Add(r).ok());
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_EQ(writer.records_written(), records.size());
  EXPECT_EQ(static_cast<uint64_t>(ftello(f)), writer.bytes_written());
  std::rewind(f);
  absl::StatusOr<SnapshotReader> reader = SnapshotReader::Open(f);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->declared_records(), absl::optional<uint64_t>(records.size()));
  std::vector<SnapshotRecord> back;
  ASSERT_TRUE(ReadAll(std::move(reader), &back).ok());
  EXPECT_EQ(back, records);
  std::fclose(f);
}

TEST(Snapshot, AppendModeAndPipeSinksLeaveTheCountUnknown) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(dir ? dir : "/tmp", "/append_mode.snap");
  std::FILE* f = std::fopen(path.c_str(), "wb+");
  ASSERT_NE(f, nullptr);
  std::fputs("prefix", f);  // the snapshot starts at byte 6
  std::fclose(f);
  f = std::fopen(path.c_str(), "ab");
  ASSERT_NE(f, nullptr);
  {
    SnapshotWriter writer(f);
    ASSERT_TRUE(writer.Add(Rec("a", "1")).ok());
    ASSERT_TRUE(writer.Finish().ok());
  }
  std::fclose(f);
  f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  char prefix[6];
  ASSERT_EQ(std::fread(prefix, 1, 6, f), 6u);
  absl::StatusOr<SnapshotReader> reader = SnapshotReader::Open(f);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->declared_records(), absl::nullopt);
  std::vector<SnapshotRecord> back;
  ASSERT_TRUE(ReadAll(std::move(reader), &back).ok());
  EXPECT_EQ(back, std::vector<SnapshotRecord>{Rec("a", "1")});
  std::fclose(f);
  std::remove(path.c_str());

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::FILE* w = fdopen(fds[1], "wb");
  std::FILE* r = fdopen(fds[0], "rb");
  ASSERT_NE(w, nullptr);
  ASSERT_NE(r, nullptr);
  {
    SnapshotWriter writer(w);
    ASSERT_TRUE(writer.Add(Rec("b", "2")).ok());
    ASSERT_TRUE(writer.Finish().ok());  // small enough for the pipe buffer
  }
  std::fclose(w);
  reader = SnapshotReader::Open(r);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->declared_records(), absl::nullopt);
  back.clear();
  ASSERT_TRUE(ReadAll(std::move(reader), &back).ok());
  EXPECT_EQ(back, std::vector<SnapshotRecord>{Rec("b", "2")});
  std::fclose(r);
}

TEST(Snapshot, WriterRejectsBadRecordsAndMisuse) {
  std::string out;
  SnapshotWriter writer(&out);
  EXPECT_TRUE(absl::IsInvalidArgument(writer.Add(Rec("", "v"))));
  EXPECT_TRUE(
      absl::IsInvalidArgument(writer.Add(Rec(std::string(kMaxSnapshotKeySize + 1, 'k'), "v"))));
  EXPECT_TRUE(absl::IsInvalidArgument(writer.Add(Rec("k", "v", 1, 0, -2))));
  EXPECT_TRUE(out.empty());  // nothing written for a rejected record
  ASSERT_TRUE(writer.Add(Rec("k", "v")).ok());
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(writer.Add(Rec("k", "v"))));
  EXPECT_TRUE(absl::IsFailedPrecondition(writer.Finish()));
  EXPECT_EQ(VerifySnapshot(out).value(), 1u);
}

TEST(Snapshot, WriterAppendsAfterExistingSinkContents) {
  std::string out = "xyz";
  SnapshotWriter writer(&out);
  out += "more";  // written before the header goes out
  ASSERT_TRUE(writer.Add(Rec("k", "v")).ok());
  ASSERT_TRUE(writer.Finish().ok());
  ASSERT_EQ(out.substr(0, 7), "xyzmore");
  absl::StatusOr<SnapshotReader> reader =
      SnapshotReader::Open(absl::string_view(out.data() + 7, out.size() - 7));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->declared_records(), absl::optional<uint64_t>(1));
}

TEST(Snapshot, UnfinishedWriterLeavesATruncatedFile) {
  std::string out;
  {
    SnapshotWriter writer(&out);
    ASSERT_TRUE(writer.Add(Rec("k", "v")).ok());
  }
  absl::Status s = ReadBytes(out);
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_EQ(Msg(s), absl::StrCat("snapshot truncated at byte ", out.size(),
                                 ": the trailer is missing after record 1; the "
                                 "file was cut short - re-run kvcli dump"));
}

TEST(Snapshot, TruncationAtEveryByteIsDataLoss) {
  const std::string bytes =
      Encode({Rec("alpha", "one"), Rec("b", ""), Rec("\x01\x02", "\xff\xfe\xfd", 9, 9, 9)});
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    const absl::string_view prefix(bytes.data(), cut);
    for (bool via_file : {false, true}) {
      if (via_file && cut == 0) continue;  // fmemopen refuses empty buffers
      const absl::Status s = via_file ? ReadViaFile(prefix) : ReadBytes(prefix);
      ASSERT_TRUE(absl::IsDataLoss(s)) << "cut " << cut << ": " << s;
      if (cut == 0) {
        EXPECT_THAT(Msg(s), HasSubstr("empty"));
      } else {
        EXPECT_THAT(Msg(s), StartsWith(absl::StrCat("snapshot truncated at byte ", cut, ": ")));
        EXPECT_THAT(Msg(s), HasSubstr("re-run kvcli dump"));
      }
    }
  }
}

TEST(Snapshot, TruncatedRecordMessage) {
  const std::string bytes = Encode({Rec("alpha", "one"), Rec("beta", "two")});
  // The second record starts at 28 + (33 + 5 + 3 + 4) = 73; cut inside it.
  absl::Status s = ReadBytes(absl::string_view(bytes.data(), 80));
  EXPECT_EQ(Msg(s),
            "snapshot truncated at byte 80: record 2 of 2 (from byte 73) is "
            "incomplete; the file was cut short - re-run kvcli dump");
}

TEST(Snapshot, EveryFlippedBitIsDataLoss) {
  const std::string bytes = Encode({Rec("alpha", "one", 5, 6, 7), Rec("b", "")});
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string flipped = bytes;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    const absl::Status s = ReadBytes(flipped);
    ASSERT_TRUE(absl::IsDataLoss(s)) << "bit " << bit << ": " << s;
    ASSERT_TRUE(absl::IsDataLoss(ReadViaFile(flipped))) << "bit " << bit;
  }
}

TEST(Snapshot, ChecksumMessagesNameTheRecordAndOffset) {
  std::string bytes = Encode({Rec("alpha", "one"), Rec("beta", "two")});
  bytes[73 + 33] ^= 1;  // a key byte of record 2
  absl::Status s = ReadBytes(bytes);
  EXPECT_THAT(Msg(s), StartsWith("snapshot corrupt at bytes 73..116: record 2 of 2 "
                                 "fails its checksum (stored 0x"));
}

TEST(Snapshot, ReorderedDroppedAndDuplicatedRecords) {
  const std::vector<SnapshotRecord> records = {Rec("a", "1"), Rec("b", "2"), Rec("c", "3")};
  const std::string bytes = Encode(records);
  const size_t rec = 33 + 1 + 1 + 4;  // each record is 39 bytes
  const std::string header = bytes.substr(0, 28);
  const std::string r1 = bytes.substr(28, rec), r2 = bytes.substr(28 + rec, rec),
                    r3 = bytes.substr(28 + 2 * rec, rec);
  const std::string trailer = bytes.substr(28 + 3 * rec);
  ASSERT_EQ(trailer.size(), fmt::kTrailerSize);

  absl::Status s = ReadBytes(header + r2 + r1 + r3 + trailer);
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_THAT(Msg(s), HasSubstr("reordered"));

  s = ReadBytes(header + r1 + r3 + trailer);
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_THAT(Msg(s), HasSubstr("the trailer says 3 records but 2 precede it"));

  s = ReadBytes(header + r1 + r2 + r3 + r3 + trailer);
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_THAT(Msg(s), HasSubstr("found record 4 but the file header says there are 3"));
}

TEST(Snapshot, TrailingBytesAreDataLoss) {
  const std::string bytes = Encode({Rec("a", "1")}) + "junk";
  absl::Status s = ReadBytes(bytes);
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_THAT(Msg(s), HasSubstr("4 more bytes follow the trailer"));
  EXPECT_TRUE(absl::IsDataLoss(ReadViaFile(bytes)));
}

// A file header with a valid checksum but the given fields.
std::string Header(uint32_t version, uint32_t flags, uint64_t count) {
  std::string h = "SHMKVSNP";
  for (uint64_t v : {uint64_t{version}, uint64_t{flags}}) {
    for (int i = 0; i < 4; ++i) h += static_cast<char>(v >> (8 * i));
  }
  for (int i = 0; i < 8; ++i) h += static_cast<char>(count >> (8 * i));
  const uint32_t crc = Crc32c(h);
  for (int i = 0; i < 4; ++i) h += static_cast<char>(crc >> (8 * i));
  return h;
}

TEST(Snapshot, HeaderChecks) {
  absl::Status s = ReadBytes(Header(2, 0, 0));
  EXPECT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_THAT(Msg(s), HasSubstr("format version 2 is not supported"));

  s = ReadBytes(Header(1, 4, 0));
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_THAT(Msg(s), HasSubstr("reserved header flags"));

  s = ReadBytes("GARBAGE!and more bytes to fill a header");
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_THAT(Msg(s), StartsWith("not a shmkv snapshot: bad magic at byte 0"));

  s = ReadBytes("{\"key_b64\":\"YQ==\",\"value_b64\":\"\"}\n");
  EXPECT_THAT(Msg(s), HasSubstr("JSON-lines"));

  s = ReadBytes("");
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_THAT(Msg(s), HasSubstr("empty"));
}

// A record whose fixed part has a valid checksum but the given lengths.
std::string ForgedRecordStart(uint32_t key_len, uint32_t value_len, int64_t ttl) {
  std::string r(1, 'R');
  for (uint64_t v : {uint64_t{key_len}, uint64_t{value_len}}) {
    for (int i = 0; i < 4; ++i) r += static_cast<char>(v >> (8 * i));
  }
  r += std::string(12, '\0');  // version, flags
  for (int i = 0; i < 8; ++i) r += static_cast<char>(static_cast<uint64_t>(ttl) >> (8 * i));
  const uint32_t crc = Crc32c(r);
  for (int i = 0; i < 4; ++i) r += static_cast<char>(crc >> (8 * i));
  return r;
}

TEST(Snapshot, ForgedLengthsAreCappedAndTruncationIsCaught) {
  const std::string header = Header(1, 0, fmt::kUnknownCount);
  absl::Status s = ReadBytes(header + ForgedRecordStart(0, 1, -1));
  EXPECT_THAT(Msg(s), HasSubstr("claims a key of 0 bytes"));
  s = ReadBytes(header + ForgedRecordStart(4097, 1, -1));
  EXPECT_THAT(Msg(s), HasSubstr("claims a key of 4097 bytes"));
  s = ReadBytes(header + ForgedRecordStart(1, 0xffffffffu, -1));
  EXPECT_THAT(Msg(s), HasSubstr("claims a value of 4294967295 bytes"));
  s = ReadBytes(header + ForgedRecordStart(1, 1, -5));
  EXPECT_THAT(Msg(s), HasSubstr("ttl_remaining_ms -5"));
  // The largest allowed value, in a file that holds 10 bytes of it: the
  // readers stop at the end of the data (the FILE reader reads in chunks).
  const std::string big = header + ForgedRecordStart(1, 1u << 30, -1) + "k" + "0123456789";
  s = ReadBytes(big);
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_THAT(Msg(s), StartsWith(absl::StrCat("snapshot truncated at byte ", big.size(),
                                              ": record 1 (from byte 28) is incomplete")));
  EXPECT_TRUE(absl::IsDataLoss(ReadViaFile(big)));
}

TEST(Snapshot, ErrorsAreSticky) {
  std::string bytes = Encode({Rec("a", "1"), Rec("b", "2")});
  bytes[28 + 39 + 34] ^= 0x10;  // the value of record 2
  absl::StatusOr<SnapshotReader> reader = SnapshotReader::Open(bytes);
  ASSERT_TRUE(reader.ok());
  SnapshotRecord r;
  EXPECT_TRUE(reader->Next(&r).value());
  absl::StatusOr<bool> bad = reader->Next(&r);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(reader->Next(&r).status(), bad.status());
}

TEST(Jsonl, ExactLine) {
  std::string line;
  ASSERT_TRUE(WriteJsonl(Rec("user:1", "hi", 7, 3, -1), &line).ok());
  EXPECT_EQ(line,
            "{\"key\":\"user:1\",\"key_b64\":\"dXNlcjox\",\"value_b64\":\"aGk=\","
            "\"version\":7,\"flags\":3,\"ttl_ms\":-1}\n");
  line.clear();
  ASSERT_TRUE(WriteJsonl(Rec("a\"\\\n\x7f", "", 0, 0, 0), &line).ok());
  EXPECT_THAT(line, StartsWith("{\"key\":\"a\\\"\\\\\\u000a\\u007f\",\"key_b64\":"));
  line.clear();
  ASSERT_TRUE(WriteJsonl(Rec("\xff", ""), &line).ok());  // not UTF-8: no "key"
  EXPECT_THAT(line, StartsWith("{\"key_b64\":\"/w==\",\"value_b64\":\"\","));
  EXPECT_TRUE(absl::IsInvalidArgument(WriteJsonl(Rec("", "v"), &line)));
}

TEST(Jsonl, RoundTrip) {
  std::vector<SnapshotRecord> records = SampleRecords();
  records.push_back(Rec(std::string("\0\x01\x1f", 3), std::string("\0", 1), 1, 2, 3));
  records.push_back(Rec("\xf0\x9f\x98\x80 emoji", "x", 0, 0, -1));
  records.push_back(Rec("\xed\xa0\x80 surrogate bytes", "x"));
  for (const SnapshotRecord& r : records) {
    std::string line;
    ASSERT_TRUE(WriteJsonl(r, &line).ok());
    SnapshotRecord back;
    ASSERT_TRUE(ParseJsonlLine(line, &back).ok()) << line.substr(0, 100);
    EXPECT_EQ(back, r);
  }
}

TEST(Jsonl, LenientForms) {
  SnapshotRecord r;
  ASSERT_TRUE(
      ParseJsonlLine(" { \"ttl_ms\" : 5 ,\t\"value_b64\":\"eA==\", \"key\":\"k\" }\r\n", &r).ok());
  EXPECT_EQ(r, Rec("k", "x", 0, 0, 5));
  ASSERT_TRUE(ParseJsonlLine("{\"key\":\"\\u00e9\\ud83d\\ude00\\/\",\"value_b64\":\"\"}", &r).ok());
  EXPECT_EQ(r.key, "\xc3\xa9\xf0\x9f\x98\x80/");
  EXPECT_EQ(r.ttl_remaining_ms, -1);
  ASSERT_TRUE(ParseJsonlLine("{\"key_b64\":\"YQ==\",\"key\":\"a\",\"value_b64\":\"\","
                             "\"version\":18446744073709551615,\"flags\":4294967295,"
                             "\"ttl_ms\":9223372036854775807}",
                             &r)
                  .ok());
  EXPECT_EQ(r, Rec("a", "", UINT64_MAX, UINT32_MAX, INT64_MAX));
}

TEST(Jsonl, Rejects) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty line"},
      {"[]", "expected '{'"},
      {"{}", "neither"},
      {"{\"key\":\"a\"}", "no \"value_b64\""},
      {"{\"key\":\"a\",\"key_b64\":\"Yg==\",\"value_b64\":\"\"}", "different keys"},
      {"{\"key\":\"a\",\"key\":\"a\",\"value_b64\":\"\"}", "appears twice"},
      {"{\"key\":\"a\",\"value_b64\":\"\",\"extra\":1}", "unknown field \"extra\""},
      {"{\"key\":\"a\",\"value_b64\":\"eA\"}", "not standard base64"},
      {"{\"key\":\"a\",\"value_b64\":\"e A==\"}", "not standard base64"},
      {"{\"key\":\"a\",\"value_b64\":\"\",\"version\":1.5}", "integers"},
      {"{\"key\":\"a\",\"value_b64\":\"\",\"version\":1e3}", "integers"},
      {"{\"key\":\"a\",\"value_b64\":\"\",\"version\":01}", "leading zeros"},
      {"{\"key\":\"a\",\"value_b64\":\"\",\"version\":-1}", "cannot be negative"},
      {"{\"key\":\"a\",\"value_b64\":\"\",\"version\":18446744073709551616}", "out of range"},
      {"{\"key\":\"a\",\"value_b64\":\"\",\"flags\":4294967296}", "\"flags\" must be"},
      {"{\"key\":\"a\",\"value_b64\":\"\",\"ttl_ms\":-2}", "\"ttl_ms\" must be"},
      {"{\"key\":\"a\",\"value_b64\":\"\",\"ttl_ms\":\"5\"}", "expected an integer"},
      {"{\"key\":1,\"value_b64\":\"\"}", "expected a string"},
      {"{\"key\":\"a\",\"value_b64\":\"\",}", "another member"},
      {"{\"key\":\"a\" \"value_b64\":\"\"}", "expected ',' or '}'"},
      {"{\"key\":\"a\",\"value_b64\":\"\"} x", "after the object"},
      {"{\"key\":\"a\",\"value_b64\":\"\"}\n{}", "after the object"},
      {"{\"key\":\"a\\q\",\"value_b64\":\"\"}", "unknown escape"},
      {"{\"key\":\"\\ud800\",\"value_b64\":\"\"}", "low surrogate"},
      {"{\"key\":\"\\udc00\",\"value_b64\":\"\"}", "lone low surrogate"},
      {"{\"key\":\"\\u12\",\"value_b64\":\"\"}", "4 hex digits"},
      {"{\"key\":\"a\tb\",\"value_b64\":\"\"}", "control character"},
      {"{\"key\":\"\xff\",\"value_b64\":\"\"}", "invalid UTF-8"},
      {"{\"key\":\"\",\"value_b64\":\"\"}", "the key is 0 bytes"},
      {"{\"key\":\"abc", "unterminated string"},
  };
  for (const auto& [line, fragment] : cases) {
    SnapshotRecord r;
    absl::Status s = ParseJsonlLine(line, &r);
    EXPECT_TRUE(absl::IsDataLoss(s)) << line << " -> " << s;
    EXPECT_THAT(Msg(s), HasSubstr(fragment)) << line;
    EXPECT_THAT(Msg(s), StartsWith("bad snapshot line at byte ")) << line;
  }
}

TEST(Jsonl, EveryPrefixOfALineIsRejected) {
  std::string line;
  ASSERT_TRUE(WriteJsonl(Rec("user:\xc3\xa9", "value", 12, 34, 56), &line).ok());
  line.pop_back();  // the newline; the object ends at '}'
  for (size_t cut = 0; cut < line.size(); ++cut) {
    SnapshotRecord r;
    EXPECT_TRUE(absl::IsDataLoss(ParseJsonlLine(line.substr(0, cut), &r))) << cut;
  }
}

TEST(DetectSnapshotFormat, Forms) {
  EXPECT_EQ(DetectSnapshotFormat(Encode({})), SnapshotFormat::kBinary);
  EXPECT_EQ(DetectSnapshotFormat("  {\"key\""), SnapshotFormat::kJsonl);
  EXPECT_EQ(DetectSnapshotFormat(""), SnapshotFormat::kJsonl);
  EXPECT_EQ(DetectSnapshotFormat("SHMKV"), SnapshotFormat::kUnknown);
  EXPECT_EQ(DetectSnapshotFormat("hello"), SnapshotFormat::kUnknown);
}

// Runs the fuzzer's invariants over a few inputs, so they are checked by
// every `bazel test` and not only by tools/run_fuzzers.sh.
TEST(SnapshotFuzzer, SeedInputs) {
  std::vector<std::string> seeds = {
      "",
      "garbage",
      Encode({}),
      Encode({Rec("a", "1"), Rec("b", "", 2, 3, 4)}),
      "{\"key\":\"a\",\"key_b64\":\"YQ==\",\"value_b64\":\"eA==\",\"version\":"
      "1}",
      std::string(200, '\x05'),
  };
  std::string forged = Encode({Rec("a", "1")});
  forged[28 + 5] = 9;  // a value length the checksum repair will accept
  seeds.push_back(forged);
  for (const std::string& seed : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
  }
}

std::string ReadSeed(const std::string& name) {
  const char* root = std::getenv("TEST_SRCDIR");
  const std::string path =
      absl::StrCat(root ? root : ".", "/shmkv/kv/snapshot/snapshot_fuzzer_corpus/", name);
  std::string bytes;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) bytes.append(buf, n);
    std::fclose(f);
  }
  return bytes;
}

// The checked-in seed corpus stays in step with the format.
TEST(SnapshotFuzzer, SeedCorpusIsValid) {
  for (const char* name : {"empty", "two_records", "unknown_count"}) {
    const std::string bytes = ReadSeed(name);
    ASSERT_FALSE(bytes.empty()) << name;
    EXPECT_TRUE(VerifySnapshot(bytes).ok()) << name << ": " << VerifySnapshot(bytes).status();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  const std::string line = ReadSeed("jsonl_line");
  SnapshotRecord r;
  EXPECT_TRUE(ParseJsonlLine(line, &r).ok());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(line.data()), line.size());
}

}  // namespace
}  // namespace shmkv
