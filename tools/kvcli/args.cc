#include "tools/kvcli/args.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kv/util/escape.h"
#include "kv/util/parse.h"

namespace shmkv {
namespace kvcli {
namespace {

constexpr FlagInfo kFlags[] = {
    // Store selection (every command that opens a store).
    {"key", FlagKind::kValue, "KEY", "the store's System V IPC key, hex (0x5f3e0001) or decimal"},
    {"path", FlagKind::kValue, "FILE",
     "name the store by an existing file instead (ftok(3) turns it into the key)"},
    {"proj", FlagKind::kValue, "N", "ftok project id 1..255 used with --path (default 1)"},
    {"allow-foreign-owner", FlagKind::kSwitch, "",
     "open a store owned by another user (refused by default: it could be a squatter)"},
    {"lock-timeout", FlagKind::kValue, "DUR",
     "longest another process may keep a lock this command waits for (default 5s)"},
    // Output and key handling.
    {"json", FlagKind::kSwitch, "", "print JSON (fields: kvcli help json)"},
    {"escaped", FlagKind::kSwitch, "",
     "KEY arguments (and --prefix) are escaped as keys prints them: \\\\ and \\xHH"},
    {"help", FlagKind::kSwitch, "", "show help for the command"},
    // create (and load --create)
    {"capacity", FlagKind::kValue, "SIZE",
     "bytes for entries: keys, values and a 28-byte header each, rounded up to 8 bytes "
     "(default 64MiB)"},
    {"mode", FlagKind::kValue, "OCTAL",
     "permission bits of the segment (default 0600; 0660 shares with the group)"},
    {"max-value", FlagKind::kValue, "SIZE",
     "largest value accepted (default 1MiB, or what a small capacity allows; an explicit value it "
     "cannot hold is refused)"},
    {"max-key", FlagKind::kValue, "N", "longest key accepted, 1..4096 bytes (default 4096)"},
    {"stripes", FlagKind::kValueOrSwitch, "N",
     "lock stripes, rounded down to a power of two (default 64; small stores use fewer)"},
    {"items", FlagKind::kValue, "N",
     "expected number of entries, sizes the hash index (default capacity/64; at most capacity/32)"},
    {"default-ttl", FlagKind::kValue, "DUR",
     "TTL of writes that give none, or none (the default: entries never expire); 0 is refused"},
    {"no-evict", FlagKind::kSwitch, "",
     "refuse writes when full instead of evicting least recently used entries"},
    {"huge-pages", FlagKind::kSwitch, "",
     "put the segment in huge pages reserved with sysctl vm.nr_hugepages (fewer TLB misses)"},
    // stats
    {"watch", FlagKind::kOptionalValue, "SECONDS",
     "refresh every SECONDS (default 1; 500ms works too) until Ctrl-C, with rates"},
    {"count", FlagKind::kValue, "N", "with --watch: stop after N refreshes"},
    // get / put / incr / touch
    {"meta", FlagKind::kSwitch, "", "also print version, flags and TTL (on stderr)"},
    {"through", FlagKind::kValue, "ADDR",
     "read through the near cache in front of Redis at ADDR (unix:PATH or host:port)"},
    {"ttl", FlagKind::kValue, "DUR",
     "expire after DUR (30s, 5m, 2h); none = never; default: the store's default TTL"},
    {"if-absent", FlagKind::kSwitch, "", "store only if the key does not exist (else exit 1)"},
    {"if-present", FlagKind::kSwitch, "", "store only if the key exists (else exit 1)"},
    {"cas", FlagKind::kValue, "VERSION",
     "store only if the entry's version is VERSION (see get --meta; else exit 1)"},
    {"flags", FlagKind::kValue, "N", "32-bit number stored with the value (get --meta shows it)"},
    {"init", FlagKind::kValue, "N", "starting value when the key is missing (default 0)"},
    // keys
    {"prefix", FlagKind::kValue, "P", "only keys starting with P"},
    {"limit", FlagKind::kValue, "N", "stop after N keys"},
    {"long", FlagKind::kSwitch, "", "also show size, TTL, version and flags"},
    // keys, dump and del: selection and paging
    {"match", FlagKind::kValue, "GLOB",
     "only keys matching the byte glob GLOB (* ? [a-z] [!a-z], \\ escapes; * crosses /; "
     "a malformed glob is an error)"},
    {"cursor", FlagKind::kValue, "C",
     "print one page from cursor C (0 starts), then the next cursor (0: done)"},
    {"dry-run", FlagKind::kSwitch, "", "print what would be deleted; delete nothing"},
    // dump / load
    {"out", FlagKind::kValue, "FILE", "where to write the snapshot; - for stdout"},
    {"format", FlagKind::kValue, "FORMAT",
     "binary (checksummed, the default) or jsonl (one JSON object a line)"},
    {"in", FlagKind::kValue, "FILE", "snapshot to read (binary or jsonl, detected); - for stdin"},
    {"create", FlagKind::kSwitch, "",
     "create the store first (fails if it exists); takes the create flags"},
    {"allow-empty", FlagKind::kSwitch, "",
     "accept a file with no entries (empty, or blank lines only) and load nothing"},
    {"salvage", FlagKind::kSwitch, "",
     "skip damaged records (reporting each) and write the rest, to save a store before repair"},
    {"allow-evict", FlagKind::kSwitch, "",
     "let the load evict existing entries when the store is too small for all"},
    // check / flush / ls
    {"repair", FlagKind::kSwitch, "",
     "rebuild damaged indexes and drop unreadable entries (kvcli dump --salvage first)"},
    {"expired", FlagKind::kSwitch, "", "remove only expired entries, and print how many"},
    {"all", FlagKind::kSwitch, "",
     "also show segments that are not shmkv stores or cannot be read"},
    // stats views, bigkeys
    {"sizes", FlagKind::kSwitch, "",
     "histograms of key and value sizes (walks the store; copies no values)"},
    {"reset", FlagKind::kSwitch, "",
     "zero the counters (hits, misses, puts, ...); entries and bytes stay"},
    {"top", FlagKind::kValue, "N", "how many entries to list (default 10)"},
    // serve
    {"listen", FlagKind::kValue, "HOST:PORT",
     "where kvcli serve listens (default 127.0.0.1:9309; port 0 picks a free one)"},
    {"show-keys", FlagKind::kSwitch, "",
     "kvcli serve: show the largest entries' key names (values are never shown)"},
    {"sizes-every", FlagKind::kValue, "DUR",
     "kvcli serve: walk each store's keys for the entry sizes and largest entries at most this "
     "often, e.g. 10s (default 0: never, and they are not served)"},
    {"by", FlagKind::kValue, "ORDER",
     "what keys --top orders by: size (of the value; the only one)"},
};

// An argument that starts with '-' and is neither "-" (stdin) nor a
// negative number (incr's DELTA): most likely a flag typed with one dash.
bool LooksLikeFlag(absl::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-' || arg == "-h") return false;
  int64_t number = 0;
  return !util::ParseSigned(arg, &number);
}

}  // namespace

const FlagInfo* FindFlag(absl::string_view name) {
  for (const FlagInfo& flag : kFlags) {
    if (name == flag.name) return &flag;
  }
  return nullptr;
}

const std::string* ParsedArgs::Get(absl::string_view name) const {
  auto it = flags.find(std::string(name));
  return it == flags.end() ? nullptr : &it->second;
}

ParsedArgs SplitArgs(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  bool command_seen = false;
  bool flags_done = false;
  auto fail = [&parsed](std::string message) {
    if (parsed.error.empty()) parsed.error = std::move(message);
  };
  auto positional = [&](const std::string& arg) {
    if (!command_seen) {
      parsed.command = arg;
      command_seen = true;
    } else {
      parsed.positionals.push_back(arg);
    }
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done) {
      positional(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h") {
      parsed.help = true;
      continue;
    }
    if (arg.size() <= 2 || arg[0] != '-' || arg[1] != '-') {
      if (command_seen && LooksLikeFlag(arg)) {
        // "put k -ttl=30s" would store "-ttl=30s": refuse, unless after "--".
        fail(absl::StrCat("argument \"", Quote(arg),
                          "\" starts with - like a flag, but flags start with -- (-", Quote(arg),
                          "); if it is a KEY or VALUE, put -- before it"));
        continue;
      }
      positional(arg);
      continue;
    }
    absl::string_view body = absl::string_view(arg).substr(2);
    size_t eq = body.find('=');
    absl::string_view name = body.substr(0, eq);
    const bool has_value = eq != absl::string_view::npos;
    std::string value = has_value ? std::string(body.substr(eq + 1)) : std::string();
    const FlagInfo* info = FindFlag(name);
    if (info == nullptr) {
      fail(absl::StrCat("unknown flag --", Quote(name)));
      continue;
    }
    if (info->kind == FlagKind::kSwitch && has_value) {
      fail(absl::StrCat("--", info->name, " takes no value (remove \"=", Quote(value), "\")"));
      continue;
    }
    if (info->kind == FlagKind::kValue && !has_value) {
      if (i + 1 >= args.size()) {
        fail(absl::StrCat("--", info->name, " needs a value: --", info->name, "=",
                          info->value_name));
        continue;
      }
      value = args[++i];
    }
    if (info->kind == FlagKind::kValueOrSwitch && !has_value && i + 1 < args.size()) {
      uint64_t number = 0;
      if (util::ParseUnsigned(args[i + 1], UINT64_MAX, false, &number)) value = args[++i];
    }
    if (name == "help") {
      parsed.help = true;
      continue;
    }
    if (!parsed.flags.emplace(std::string(name), value).second) {
      fail(absl::StrCat("--", info->name, " is given twice"));
    }
  }
  return parsed;
}

bool ParseMode(absl::string_view text, int* out) {
  if (absl::StartsWith(text, "0o") || absl::StartsWith(text, "0O")) text.remove_prefix(2);
  if (text.empty() || text.size() > 4) return false;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return false;
    value = value * 8 + (c - '0');
  }
  if (value > 0777) return false;
  *out = value;
  return true;
}

std::string Quote(absl::string_view text) {
  constexpr size_t kMax = 64;
  if (text.size() <= kMax) return util::EscapeKey(text);
  return absl::StrCat(util::EscapeKey(text.substr(0, kMax)), "...");
}

std::string QuotedKey(absl::string_view key) { return absl::StrCat("\"", Quote(key), "\""); }

}  // namespace kvcli
}  // namespace shmkv
