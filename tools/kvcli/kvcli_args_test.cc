// kvcli's command line, in process and without stores: help, usage errors
// and flag validation run as dry runs (RunOptions::dry_run). The black-box
// tests with real stores are tests/kvcli_*_test.sh.
#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/kvcli/dry_run.h"
#include "tools/kvcli/kvcli.h"

// From kvcli_fuzzer.cc, linked into this test.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace shmkv {
namespace kvcli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

int Lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

void ExpectUsageError(const std::vector<std::string>& args, const std::string& fragment) {
  DryRunResult r = DryRunKvcli(args);
  EXPECT_EQ(r.status, kExitUsage) << r.err;
  EXPECT_THAT(r.err, StartsWith("kvcli: ")) << r.err;
  EXPECT_THAT(r.err, HasSubstr(fragment));
  EXPECT_THAT(r.err, HasSubstr("\nusage: "));
  EXPECT_EQ(Lines(r.err), 2) << r.err;
  EXPECT_EQ(r.out, "");
}

void ExpectValid(const std::vector<std::string>& args) {
  DryRunResult r = DryRunKvcli(args);
  EXPECT_EQ(r.status, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(KvcliHelp, OverviewListsEveryCommand) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"help"}, {"--help"}, {"-h"}}) {
    DryRunResult r = DryRunKvcli(args);
    EXPECT_EQ(r.status, kExitOk);
    EXPECT_EQ(r.err, "");
    for (const char* command : {"create", "info", "stats", "get", "put", "del", "incr", "touch",
                                "keys", "dump", "load", "check", "flush", "destroy", "ls"}) {
      EXPECT_THAT(r.out, HasSubstr(std::string("\n  ") + command + " ")) << command;
    }
    EXPECT_THAT(r.out, HasSubstr("Exit status"));
    EXPECT_THAT(r.out, HasSubstr("kvcli help json"));
  }
}

TEST(KvcliHelp, CommandHelpThroughHelpAndFlag) {
  for (const char* command : {"create", "info", "stats", "get", "put", "del", "incr", "touch",
                              "keys", "dump", "load", "check", "flush", "destroy", "ls"}) {
    DryRunResult a = DryRunKvcli({"help", command});
    DryRunResult b = DryRunKvcli({command, "--help"});
    EXPECT_EQ(a.status, kExitOk);
    EXPECT_EQ(b.status, kExitOk);
    EXPECT_EQ(a.out, b.out);
    EXPECT_THAT(a.out, StartsWith(std::string("usage: kvcli ") + command + " "));
    EXPECT_THAT(a.out, HasSubstr("Exit status"));
  }
  // --help wins over anything else on the line.
  EXPECT_EQ(DryRunKvcli({"put", "--bogus", "--help"}).status, kExitOk);
}

TEST(KvcliHelp, JsonTopicNamesTheStatsFields) {
  DryRunResult r = DryRunKvcli({"help", "json"});
  EXPECT_EQ(r.status, kExitOk);
  for (const char* field :
       {"items", "hits", "misses", "puts", "deletes", "evictions", "expirations", "bytes_used",
        "capacity", "index_entries", "index_limit", "attached_processes", "key_b64",
        "remaining_problems", "others_count"}) {
    EXPECT_THAT(r.out, HasSubstr(field));
  }
}

TEST(KvcliHelp, UnknownTopic) {
  DryRunResult r = DryRunKvcli({"help", "frobnicate"});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("kvcli: help: no command or topic \"frobnicate\""));
}

TEST(KvcliUsage, NoCommand) {
  DryRunResult r = DryRunKvcli({});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("kvcli: no command given"));
  EXPECT_EQ(Lines(r.err), 2);
}

TEST(KvcliUsage, UnknownCommandSuggestsTheRightOne) {
  DryRunResult r = DryRunKvcli({"set", "--key=0x1", "a", "b"});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_THAT(r.err, StartsWith("kvcli: unknown command \"set\"; did you mean kvcli put?"));
  r = DryRunKvcli({"frob"});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("kvcli help lists the commands"));
}

TEST(KvcliUsage, StoreSelection) {
  ExpectUsageError({"info"}, "which store?");
  ExpectUsageError({"info", "--key=0x1", "--path=/"}, "not both");
  ExpectUsageError({"info", "--key=0"}, "--key");
  ExpectUsageError({"info", "--key=0x1g"}, "--key");
  ExpectUsageError({"info", "--key=-1"}, "--key");
  ExpectUsageError({"info", "--key=0x1", "--proj=2"}, "--proj goes with --path");
  ExpectUsageError({"info", "--path=/", "--proj=0"}, "--proj");
  ExpectUsageError({"info", "--path=/", "--proj=256"}, "--proj");
  ExpectUsageError({"info", "--key=0x1", "--lock-timeout=0"}, "--lock-timeout");
  ExpectUsageError({"info", "--key=0x1", "--lock-timeout=soon"}, "--lock-timeout");
  ExpectValid({"info", "--key=0x5f3e0001"});
  ExpectValid({"info", "--key=1597898753"});
  ExpectValid({"info", "--key", "0x5f3e0001", "--lock-timeout=500ms", "--allow-foreign-owner"});
  ExpectValid({"--key=0x5f3e0001", "info"});
  ExpectValid({"info", "--path=/", "--proj=7"});
  DryRunResult r = DryRunKvcli({"info", "--path=/no/such/file/for/kvcli"});
  EXPECT_EQ(r.status, kExitStore);
  EXPECT_THAT(r.err, StartsWith("kvcli: info: cannot derive a key from /no/such/file/for/kvcli"));
  EXPECT_EQ(Lines(r.err), 1);
}

TEST(KvcliUsage, FlagSyntax) {
  ExpectUsageError({"get", "--key=0x1", "k", "--nope"}, "unknown flag --nope");
  ExpectUsageError({"get", "--key=0x1", "k", "--ttl=1s"}, "--ttl does not apply to get");
  ExpectUsageError({"get", "--key=0x1", "--key=0x2", "k"}, "--key is given twice");
  ExpectUsageError({"get", "--key=0x1", "k", "--meta=yes"}, "--meta takes no value");
  ExpectUsageError({"get", "k", "--key"}, "--key needs a value");
  ExpectUsageError({"get", "--key=0x1"}, "missing KEY");
  ExpectUsageError({"del", "--key=0x1", "a", "b"}, "unexpected argument \"b\"");
  ExpectUsageError({"get", "--key=0x1", "a", "b", "--meta"}, "--meta takes one KEY");
  ExpectUsageError({"get", "--key=0x1", "a", "-x"}, "flags start with --");
  ExpectUsageError({"info", "--key=0x1", "extra"}, "info takes only flags");
  // A key or value with one leading dash is a mistyped flag unless after "--".
  ExpectUsageError({"put", "--key=0x1", "k", "-ttl=30s"}, "put -- before it");
  ExpectUsageError({"put", "--key=0x1", "-k", "v"}, "starts with - like a flag");
  ExpectValid({"put", "--key=0x1", "--", "k", "-ttl=30s"});
  ExpectValid({"put", "--key=0x1", "k", "-"});
  ExpectValid({"incr", "--key=0x1", "k", "-5"});
  // "--" ends the flags, so keys may look like flags.
  ExpectValid({"get", "--key=0x1", "--", "--weird-key"});
  ExpectValid({"get", "--key=0x1", "--meta", "--json", "k"});
}

TEST(KvcliUsage, Keys) {
  ExpectUsageError({"get", "--key=0x1", ""}, "KEY is empty");
  ExpectUsageError({"get", "--key=0x1", std::string(4097, 'k')}, "at most 4096");
  ExpectUsageError({"get", "--key=0x1", "--escaped", "bad\\q"}, "--escaped");
  ExpectValid({"get", "--key=0x1", "--escaped", "a\\x00b\\\\"});
  ExpectValid({"get", "--key=0x1", std::string(4096, 'k')});
}

TEST(KvcliUsage, Put) {
  ExpectUsageError({"put", "--key=0x1", "k"}, "missing VALUE");
  ExpectUsageError({"put", "--key=0x1", "k", "v", "--ttl=0"}, "--ttl=none");
  ExpectUsageError({"put", "--key=0x1", "k", "v", "--ttl=-5s"}, "--ttl");
  ExpectUsageError({"put", "--key=0x1", "k", "v", "--ttl=1h30m"}, "--ttl");
  // Below the store's resolution a TTL would expire at once: refused, not
  // rounded, like --ttl=0.
  ExpectUsageError({"put", "--key=0x1", "k", "v", "--ttl=0.0001ms"}, "at least 1ms");
  ExpectUsageError({"put", "--key=0x1", "k", "v", "--ttl=999us"}, "--ttl");
  ExpectUsageError({"put", "--key=0x1", "k", "v", "--ttl=0.0009s"}, "at least 1ms");
  ExpectUsageError({"touch", "--key=0x1", "k", "--ttl=0.5ms"}, "at least 1ms");
  ExpectUsageError({"create", "--key=0x1", "--capacity=1MiB", "--default-ttl=0.5ms"},
                   "--default-ttl=none");
  ExpectValid({"put", "--key=0x1", "k", "v", "--ttl=1ms"});
  ExpectUsageError({"put", "--key=0x1", "k", "v", "--if-absent", "--if-present"}, "at most one");
  ExpectUsageError({"put", "--key=0x1", "k", "v", "--if-absent", "--cas=3"}, "at most one");
  ExpectUsageError({"put", "--key=0x1", "k", "v", "--cas=x"}, "--cas");
  ExpectUsageError({"put", "--key=0x1", "k", "v", "--flags=4294967296"}, "--flags");
  ExpectValid({"put", "--key=0x1", "k", "v", "--ttl=30s", "--flags=0xffffffff"});
  ExpectValid({"put", "--key=0x1", "k", "-", "--ttl=none", "--if-present"});
  ExpectValid({"put", "--key=0x1", "k", "v", "--cas=18446744073709551615"});
}

TEST(KvcliUsage, IncrAndTouch) {
  ExpectValid({"incr", "--key=0x1", "n"});
  ExpectValid({"incr", "--key=0x1", "n", "-5", "--init=-100", "--ttl=5m"});
  ExpectValid({"incr", "--key=0x1", "n", "-9223372036854775808"});
  ExpectUsageError({"incr", "--key=0x1", "n", "9223372036854775808"}, "DELTA");
  ExpectUsageError({"incr", "--key=0x1", "n", "+5"}, "DELTA");
  ExpectUsageError({"incr", "--key=0x1", "n", "--init=1.5"}, "--init");
  ExpectUsageError({"touch", "--key=0x1", "n"}, "missing --ttl");
  ExpectValid({"touch", "--key=0x1", "n", "--ttl=none"});
}

TEST(KvcliUsage, Create) {
  ExpectValid({"create", "--key=0x1"});
  ExpectValid({"create", "--key=0x1", "--capacity=64MiB", "--mode=0660", "--max-value=4KiB",
               "--max-key=200", "--stripes=8", "--items=1000", "--default-ttl=1h", "--no-evict",
               "--huge-pages"});
  ExpectUsageError({"create", "--key=0x1", "--capacity=12XB"}, "--capacity");
  ExpectUsageError({"create", "--key=0x1", "--capacity=0"}, "--capacity");
  ExpectUsageError({"create", "--key=0x1", "--mode=0999"}, "--mode");
  ExpectUsageError({"create", "--key=0x1", "--mode=01777"}, "--mode");
  ExpectUsageError({"create", "--key=0x1", "--max-key=4097"}, "--max-key");
  ExpectUsageError({"create", "--key=0x1", "--stripes=0"}, "--stripes");
  ExpectUsageError({"create", "--key=0x1", "--default-ttl=forever"}, "--default-ttl");
}

TEST(KvcliUsage, StatsKeysDumpLoad) {
  ExpectValid({"stats", "--key=0x1", "--watch"});
  ExpectValid({"stats", "--key=0x1", "--watch=500ms", "--count=3", "--json"});
  ExpectValid({"stats", "--key=0x1", "--watch=2"});
  ExpectUsageError({"stats", "--key=0x1", "--count=3"}, "--count goes with --watch");
  ExpectUsageError({"stats", "--key=0x1", "--watch=0"}, "--watch");
  ExpectUsageError({"stats", "--key=0x1", "--watch", "--count=0"}, "--count");
  ExpectValid({"keys", "--key=0x1", "--prefix=user:", "--limit=10", "--long", "--json"});
  ExpectUsageError({"keys", "--key=0x1", "--limit=0"}, "--limit");
  ExpectUsageError({"keys", "--key=0x1", "--prefix=\\z", "--escaped"}, "--prefix");
  ExpectValid({"dump", "--key=0x1", "--out=x.snap", "--format=jsonl"});
  ExpectUsageError({"dump", "--key=0x1"}, "missing --out");
  ExpectUsageError({"dump", "--key=0x1", "--out=x", "--format=xml"}, "--format");
  ExpectValid({"load", "--key=0x1", "--in=x.snap"});
  ExpectValid({"load", "--key=0x1", "--in=-", "--create", "--capacity=1MiB"});
  ExpectUsageError({"load", "--key=0x1"}, "missing --in");
  ExpectUsageError({"load", "--key=0x1", "--in=x", "--capacity=1MiB"}, "add --create");
  ExpectValid({"check", "--key=0x1", "--repair", "--json"});
  ExpectValid({"flush", "--key=0x1", "--expired"});
  ExpectValid({"destroy", "--key=0x1"});
  ExpectValid({"ls", "--all", "--json"});
  ExpectUsageError({"ls", "--key=0x1"}, "--key does not apply to ls");
}

TEST(KvcliUsage, ControlCharactersStayOnOneLine) {
  DryRunResult r = DryRunKvcli({"get", "--key=0x1\n2", "k"});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_EQ(Lines(r.err), 2) << r.err;
  r = DryRunKvcli({std::string("bad\ncommand")});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_EQ(Lines(r.err), 2) << r.err;
  r = DryRunKvcli({"info", "--path=/no/such\ndir"});
  EXPECT_EQ(r.status, kExitStore);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
}

// The fuzzer's invariants over seed argument lists.
TEST(KvcliFuzzerSeeds, HoldTheContract) {
  const std::vector<std::vector<std::string>> seeds = {
      {},
      {""},
      {"", ""},
      {"help"},
      {"help", "put", "extra"},
      {"--"},
      {"--", "get"},
      {"-h", "x"},
      {"--=", "get"},
      {"get", "--key=0x1", "--", ""},
      {"put", "--key", "0x1", "k", "-"},
      {"stats", "--key=0x1", "--watch="},
      {"stats", "--key=0x1", "--watch=1e9"},
      {"create", "--key=0xffffffff", "--capacity=16EiB"},
      {"create", "--key=4294967296"},
      {"load", "--key=1", "--in=", "--create"},
      {"keys", "--key=1", "--prefix="},
      {"incr", "--key=1", "k", "-"},
      {"info", "--path=", "--proj=1"},
      {"info", std::string("--path=\xff\xfe", 9)},
      {std::string("\x01\x02--key", 7)},
  };
  for (const std::vector<std::string>& seed : seeds) {
    std::string input;
    for (size_t i = 0; i < seed.size(); ++i) {
      if (i > 0) input += '\0';
      input += seed[i];
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
}

}  // namespace
}  // namespace kvcli
}  // namespace shmkv
