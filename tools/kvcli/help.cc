#include "tools/kvcli/help.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/kvcli/args.h"
#include "tools/kvcli/kvcli.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {
namespace {

constexpr const char* kStoreFlags[] = {"key", "path", "proj", "allow-foreign-owner",
                                       "lock-timeout"};

// `flags` followed by the create flags.
std::vector<FlagUse> WithCreateFlags(std::vector<FlagUse> flags) {
  for (const char* name : kCreateFlags) flags.push_back(FlagUse{name});
  return flags;
}

std::vector<CommandSpec> BuildCommands() {
  std::vector<CommandSpec> c;
  c.push_back(
      {"create",
       "--key=KEY|--path=FILE [--capacity=SIZE] [--mode=OCTAL] [--max-value=SIZE] "
       "[--max-key=N] [--stripes=N] [--items=N] [--default-ttl=DUR] [--no-evict] "
       "[--huge-pages]",
       "create a store (fails if one exists)",
       "Creates a new, empty store. Fails (exit 3) if a store or any other\n"
       "segment already exists at that key. The settings are fixed for the life\n"
       "of the store; kvcli info shows them. Prints one line describing it.\n"
       "Settings no store can honour (a --max-value the capacity cannot hold,\n"
       "--items beyond what the capacity can ever hold, a capacity over the\n"
       "32 GiB limit) are refused with exit 2 and create nothing.",
       "kvcli create --key=0x5f3e0001 --capacity=64MiB\n"
       "kvcli create --path=/var/run/app.cache --capacity=1GiB --mode=0660 --default-ttl=1h",
       true, WithCreateFlags({}), 0, 0});
  c.push_back({"info",
               "--key=KEY|--path=FILE [--json]",
               "show settings, owner, size and attached processes",
               "Shows the store's name, System V ids, layout version, capacity and\n"
               "limits, creation time and creator, owner and mode, the number of\n"
               "entries, how many processes are attached (not counting kvcli itself),\n"
               "and warnings about host settings that would remove the store. A store\n"
               "kept in sync with Redis by kvsync (doc/near_cache.md) also shows kvsync's\n"
               "state: its pid and phase, whether readers serve from the store, the\n"
               "heartbeat's age, and the invalidations, flushes and resyncs applied\n"
               "(stats shows the same line).",
               "kvcli info --key=0x5f3e0001\nkvcli info --key=0x5f3e0001 --json",
               true,
               {{"json"}},
               0,
               0});
  c.push_back(
      {"stats",
       "--key=KEY|--path=FILE [--json|--format=text|prometheus] [--watch[=SECONDS]] "
       "[--count=N] [--sizes [--prefix=P]|--stripes|--reset]",
       "show counters; --watch refreshes them like top",
       "Prints the store's counters: entries, bytes, hits, misses, puts,\n"
       "deletes, evictions, expirations, lock waits. Counters start at zero\n"
       "when the store is created or --reset.\n"
       "With --watch the numbers refresh in place (on a terminal; otherwise each\n"
       "refresh is printed after the previous one) and show rates per second\n"
       "and the hit ratio of the last interval. Ctrl-C ends it (exit 0).\n"
       "With --watch --json each refresh is one JSON line.\n"
       "--format=prometheus prints the counters in the Prometheus text format\n"
       "(metric names: doc/metrics.md), for a textfile collector or a scrape.\n"
       "--sizes walks the store (one lock stripe at a time, copying no values)\n"
       "and prints histograms of key and value sizes in power-of-two classes\n"
       "(of the keys starting with --prefix, if given).\n"
       "--stripes prints one line per lock stripe (entries, bytes, evictions,\n"
       "lock waits, hits, misses, puts) and names the hottest and fullest one.\n"
       "--reset zeroes the counters (not entries or bytes), each stripe under\n"
       "its lock, so writers may keep going; it prints one line.",
       "kvcli stats --key=0x5f3e0001\n"
       "kvcli stats --key=0x5f3e0001 --watch\n"
       "kvcli stats --key=0x5f3e0001 --watch=500ms --count=10 --json\n"
       "kvcli stats --key=0x5f3e0001 --format=prometheus > /var/lib/node_exporter/shmkv.prom\n"
       "kvcli stats --key=0x5f3e0001 --sizes\n"
       "kvcli stats --key=0x5f3e0001 --stripes --json",
       true,
       {{"json"},
        {"watch"},
        {"count"},
        {"format", "text (the default) or prometheus (the Prometheus text exposition format)"},
        {"sizes"},
        {"prefix", "with --sizes: only entries whose key starts with P"},
        {"escaped", "--prefix is escaped as keys prints keys: \\\\ and \\xHH"},
        {"stripes", "one line per lock stripe, and which stripe is hottest and fullest", true},
        {"reset"}},
       0,
       0});
  c.push_back({"get",
               "--key=KEY|--path=FILE KEY... [--meta] [--json] [--escaped] [--through=ADDR]",
               "print a value (raw bytes, no newline added), or several",
               "Writes the value of KEY to stdout exactly as stored: binary values are\n"
               "safe, and no newline is added. Exit 1 if the key does not exist (or\n"
               "has expired).\n"
               "--meta adds one line on stderr: version, flags, TTL left and size.\n"
               "--json prints one JSON object instead, with the value in base64.\n"
               "With several keys they are read in one batch, and each key found prints\n"
               "one line: the key and the value, each escaped as kvcli keys prints keys,\n"
               "with a tab between them (--json: its object, with \"found\": true). Each\n"
               "missing key is named on stderr (--json: also an object with \"found\":\n"
               "false); the others are printed all the same, and the exit is 1.\n"
               "--through=ADDR reads each key as a program using the near cache does\n"
               "(doc/near_cache.md): from the store when kvsync keeps it in sync with\n"
               "the Redis at ADDR, else from Redis, filling the store on a miss; exit 1\n"
               "if Redis has no such key. --json adds how it was served (\"path\": hit,\n"
               "filled, shared or direct, and \"bypass_reason\").",
               "kvcli get --key=0x5f3e0001 user:42\n"
               "kvcli get --key=0x5f3e0001 user:42 --meta > value.bin\n"
               "kvcli get --key=0x5f3e0001 user:1 user:2 user:3 --json\n"
               "kvcli get --key=0x5f3e0001 --through=unix:/run/redis/redis.sock user:42 --json",
               true,
               {{"meta", "one KEY only: print version, flags, TTL and size on stderr"},
                {"json", "print a JSON object per key with the value (base64) and its metadata"},
                {"escaped"},
                {"through"}},
               1,
               SIZE_MAX});
  c.push_back(
      {"put",
       "--key=KEY|--path=FILE KEY VALUE|- [--ttl=DUR|none] "
       "[--if-absent|--if-present|--cas=VERSION] [--flags=N] [--escaped]",
       "store a value (VALUE - reads stdin)",
       "Stores VALUE under KEY, replacing any value. With - as VALUE the value\n"
       "is read from stdin byte for byte (binary data is fine). A KEY or VALUE\n"
       "starting with - (other than - and negative numbers) is refused as a\n"
       "mistyped flag (exit 2) unless it follows --: kvcli put -- KEY -VALUE.\n"
       "Prints nothing on success. Exit 1 when a condition (--if-absent, --if-present, --cas)\n"
       "is not met; exit 3 when the value is over the store's --max-value or the\n"
       "store is full and created with --no-evict.",
       "kvcli put --key=0x5f3e0001 greeting hello --ttl=30s\n"
       "kvcli put --key=0x5f3e0001 image:1 - < photo.jpg\n"
       "kvcli put --key=0x5f3e0001 lock:job ME --if-absent --ttl=5m",
       true,
       {{"ttl"}, {"if-absent"}, {"if-present"}, {"cas"}, {"flags"}, {"escaped"}},
       2,
       2});
  c.push_back({"del",
               "--key=KEY|--path=FILE KEY [--escaped] | --prefix=P [--match=GLOB] [--dry-run] | "
               "--match=GLOB [--dry-run]",
               "delete an entry, or every entry with a prefix or matching a glob",
               "Deletes KEY. Prints nothing on success; exit 1 if the key does not exist.\n"
               "With --prefix and/or --match instead of KEY, deletes every live entry\n"
               "selected (both must match when both are given) and prints how many it\n"
               "deleted. It works through the store a short chunk at a time, so other\n"
               "processes keep working; entries written meanwhile may or may not go.\n"
               "--dry-run prints the keys that would go (as keys prints them) and how\n"
               "many, and deletes nothing. An empty --prefix alone is refused: kvcli\n"
               "flush deletes everything.",
               "kvcli del --key=0x5f3e0001 user:42\n"
               "kvcli del --key=0x5f3e0001 --prefix=session: --dry-run\n"
               "kvcli del --key=0x5f3e0001 --match='tmp:*:2026-*'",
               true,
               {{"escaped"},
                {"prefix", "delete every key starting with P"},
                {"match", "delete every key matching GLOB (with --prefix: both must match)"},
                {"dry-run"}},
               0,
               1});
  c.push_back(
      {"incr",
       "--key=KEY|--path=FILE KEY [DELTA] [--init=N] [--ttl=DUR|none] [--escaped]",
       "add to a decimal counter and print the result",
       "Adds DELTA (default 1; may be negative) to the decimal number stored at\n"
       "KEY and prints the new value. A missing key is created holding\n"
       "--init plus DELTA, with --ttl (the TTL applies only on creation). The\n"
       "result wraps around on 64-bit overflow. Exit 1 if the value is not a\n"
       "number.",
       "kvcli incr --key=0x5f3e0001 visits\n"
       "kvcli incr --key=0x5f3e0001 stock:7 -3 --init=100",
       true,
       {{"init"}, {"ttl", "TTL of the entry when incr creates it; none = never"}, {"escaped"}},
       1,
       2});
  c.push_back(
      {"touch",
       "--key=KEY|--path=FILE KEY --ttl=DUR|none [--escaped]",
       "change an entry's TTL",
       "Sets the TTL of KEY, counted from now; --ttl=none makes it never expire.\n"
       "Prints nothing; exit 1 if the key does not exist.",
       "kvcli touch --key=0x5f3e0001 session:9 --ttl=30m",
       true,
       {{"ttl", "the new TTL, counted from now (required); none = never expire"}, {"escaped"}},
       1,
       1});
  c.push_back(
      {"keys",
       "--key=KEY|--path=FILE [--prefix=P] [--match=GLOB] [--limit=N | --cursor=C [--count=N] | "
       "--top=N [--by=size]] [--long] [--json] [--escaped]",
       "list keys, one a line",
       "Prints the live keys, one a line, in no particular order (pipe to sort).\n"
       "A key is printed as is unless it holds a backslash or bytes that are not\n"
       "printable ASCII: those are escaped as \\\\ and \\xHH (give such a key back to\n"
       "get/put/del with --escaped). --long adds columns: size, TTL left,\n"
       "version, flags. --json prints one JSON object a line.\n"
       "The store is read a short chunk at a time (values are never read), so\n"
       "writers wait microseconds, not for the whole listing. A key present for\n"
       "the whole listing is printed exactly once; keys written meanwhile may or\n"
       "may not be.\n"
       "--cursor=C prints one page of at most --count keys (default 10) from\n"
       "cursor C, then a last line \"next cursor: N\" (with --json a last object\n"
       "{\"next_cursor\":\"N\"}). Start with 0 and pass N back; N = 0 means done.\n"
       "The same guarantee holds across the pages of one walk.\n"
       "--top=N lists the N entries with the largest values instead, largest\n"
       "first, as kvcli bigkeys does (--prefix narrows it; --by=size is the only\n"
       "order).",
       "kvcli keys --key=0x5f3e0001 --prefix=user: --limit=20\n"
       "kvcli keys --key=0x5f3e0001 --match='user:*:cart' --long | sort -k5\n"
       "kvcli keys --key=0x5f3e0001 --cursor=0 --count=100",
       true,
       {{"prefix"},
        {"match"},
        {"limit"},
        {"cursor"},
        {"count", "with --cursor: the most keys in one page (default 10)"},
        {"top", "list the N entries with the largest values, largest first"},
        {"by"},
        {"long"},
        {"json", "print one JSON object per key, a line each"},
        {"escaped", "--prefix is escaped as keys prints keys: \\\\ and \\xHH"}},
       0,
       0});
  c.push_back({"dump",
               "--key=KEY|--path=FILE --out=FILE|- [--format=binary|jsonl] [--prefix=P] "
               "[--match=GLOB]",
               "write every entry (or those selected) to a snapshot file",
               "Writes every live entry (key, value, remaining TTL, version, flags) to\n"
               "a snapshot that kvcli load reads back, even into a new store. Writers may\n"
               "keep working meanwhile: entries changed during the dump may or may not be\n"
               "in it. A file is written under a temporary name and renamed when\n"
               "complete, so a failed dump never leaves a partial FILE. The binary format\n"
               "is checksummed; jsonl is for people and scripts (values in base64).\n"
               "Prints how many entries were written (on stderr with --out=-).\n"
               "--prefix and --match dump only the entries whose keys they select.",
               "kvcli dump --key=0x5f3e0001 --out=cache.snap\n"
               "kvcli dump --key=0x5f3e0001 --out=- --format=jsonl | head\n"
               "kvcli dump --key=0x5f3e0001 --out=users.snap --match='user:*'",
               true,
               {{"out"}, {"format"}, {"prefix"}, {"match"}, {"escaped"}},
               0,
               0});
  c.push_back(
      {"load", "--key=KEY|--path=FILE --in=FILE|- [--create [--capacity=SIZE] [create flags]]",
       "read a snapshot into a store",
       "Reads a snapshot written by kvcli dump (binary or jsonl, detected) and\n"
       "stores each entry with its remaining TTL and flags, replacing existing\n"
       "values (versions are new). The whole file is verified first, and checked\n"
       "against the store's limits and free space, so a damaged snapshot or one\n"
       "the store cannot hold beside its entries loads nothing (exit 3): existing\n"
       "entries are never evicted for it unless --allow-evict. Each TTL is what was left at dump "
       "time (the time\n"
       "since is not subtracted); entries whose TTL had run out are skipped, and\n"
       "a TTL too long to express as a Unix time in ms never expires.\n"
       "A file with no entries (empty, /dev/null, blank lines) is refused unless\n"
       "--allow-empty: a binary snapshot always has a header, even of an empty store.\n"
       "The store must exist, or pass --create (with the create flags) to\n"
       "create it first. Prints how many entries were loaded.\n"
       "--in=- reads stdin into a temporary file first (it is read twice); more\n"
       "than 16 times the store's capacity (plus 1 MiB) is no snapshot of it and\n"
       "is refused, loading nothing.",
       "kvcli load --key=0x5f3e0001 --in=cache.snap\n"
       "kvcli load --key=0x5f3e0002 --in=cache.snap --create --capacity=256MiB",
       true, WithCreateFlags({{"in"}, {"create"}, {"allow-empty"}, {"allow-evict"}}), 0, 0});
  c.push_back({"check",
               "--key=KEY|--path=FILE [--repair] [--json]",
               "verify the store's structure; --repair fixes it",
               "Verifies the whole store under its store-wide lock (other processes wait)\n"
               "and prints each problem found. --repair also rebuilds damaged indexes\n"
               "from the entry logs and drops entries it cannot read, printing each\n"
               "repair. Exit 0 if no problem remains, 3 if problems remain.\n"
               "It checks structure (headers, log bounds, record framing, the index),\n"
               "not the value bytes: a value overwritten in place by a stray write is\n"
               "not detected (records carry no checksum).\n"
               "A lock held by a live process past --lock-timeout is not damage: check\n"
               "stops, names the process holding it and exits 3 without advising repair.",
               "kvcli check --key=0x5f3e0001\nkvcli check --key=0x5f3e0001 --repair",
               true,
               {{"repair"}, {"json"}},
               0,
               0});
  c.push_back({"flush",
               "--key=KEY|--path=FILE [--expired]",
               "remove every entry (or only the expired ones)",
               "Removes every entry and prints how many the store held; the store\n"
               "itself, its settings and counters stay. With --expired, removes only\n"
               "entries whose TTL has run out (otherwise reclaimed lazily) and prints\n"
               "how many.",
               "kvcli flush --key=0x5f3e0001 --expired",
               true,
               {{"expired"}},
               0,
               0});
  c.push_back({"destroy",
               "--key=KEY|--path=FILE",
               "remove the store",
               "Removes the store's segment and semaphore set: its contents are gone.\n"
               "Processes still attached keep working on their detached copy until they\n"
               "exit; new opens find no store. A segment that is not a shmkv store is\n"
               "left alone (exit 3).",
               "kvcli destroy --key=0x5f3e0001",
               true,
               {},
               0,
               0});
  c.push_back(
      {"ls",
       "[--all] [--json]",
       "list every shmkv store on this host",
       "Lists the shmkv stores on this host from /proc/sysvipc/shm: key, shm id,\n"
       "segment size, entries, attached processes (besides kvcli), owner and\n"
       "mode. kvcli attaches to each store only to read its info and counters.\n"
       "Segments that are not shmkv stores, or that this user may not read, are\n"
       "only counted unless --all lists them too.",
       "kvcli ls\nkvcli ls --all --json",
       false,
       {{"all"}, {"json"}, {"lock-timeout", "longest wait for each store's lock (default 1s)"}},
       0,
       0});
  c.push_back({"bigkeys",
               "--key=KEY|--path=FILE [--top=N] [--prefix=P] [--json] [--escaped]",
               "list the entries with the largest values",
               "Walks the store (one lock stripe at a time, copying keys but no values)\n"
               "and prints the N entries with the largest values, largest first (ties:\n"
               "the longer key first): value size, key size, TTL left and the key,\n"
               "escaped as keys prints keys. --json prints one JSON object a line.",
               "kvcli bigkeys --key=0x5f3e0001\n"
               "kvcli bigkeys --key=0x5f3e0001 --top=50 --prefix=img: --json",
               true,
               {{"top"},
                {"prefix"},
                {"json", "print one JSON object per entry, a line each"},
                {"escaped", "--prefix is escaped as keys prints keys: \\\\ and \\xHH"}},
               0,
               0});
  return c;
}

std::string FlagLine(const FlagUse& use) {
  const FlagInfo* info = FindFlag(use.name);
  if (info == nullptr) return "";
  std::string left = absl::StrCat("--", info->name);
  if (info->kind == FlagKind::kValue) absl::StrAppend(&left, "=", info->value_name);
  if (info->kind == FlagKind::kOptionalValue) absl::StrAppend(&left, "[=", info->value_name, "]");
  if (info->kind == FlagKind::kValueOrSwitch && !use.as_switch) {
    absl::StrAppend(&left, "=", info->value_name);
  }
  return absl::StrFormat("  %-24s %s\n", left, use.help != nullptr ? use.help : info->help);
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec>* commands = new std::vector<CommandSpec>(BuildCommands());
  return *commands;
}

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& spec : Commands()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

bool CommandTakesFlag(const CommandSpec& spec, absl::string_view name) {
  if (name == "help") return true;
  if (spec.store) {
    for (const char* flag : kStoreFlags) {
      if (name == flag) return true;
    }
  }
  for (const FlagUse& use : spec.flags) {
    if (name == use.name) return true;
  }
  return false;
}

std::string UsageLine(const CommandSpec& spec) {
  return absl::StrCat("usage: kvcli ", spec.name, " ", spec.synopsis, "  (more: kvcli help ",
                      spec.name, ")");
}

std::string CommandHelp(const CommandSpec& spec) {
  std::string text =
      absl::StrCat("usage: kvcli ", spec.name, " ", spec.synopsis, "\n\n", spec.description, "\n");
  if (!spec.flags.empty()) {
    text += "\nFlags:\n";
    for (const FlagUse& use : spec.flags) {
      if (spec.store && std::string(use.name) == "lock-timeout") continue;
      text += FlagLine(use);
    }
  }
  if (spec.store) {
    text += "\nStore (one of --key or --path is required):\n";
    for (const char* flag : kStoreFlags) text += FlagLine(FlagUse{flag});
  }
  if (spec.examples != nullptr && spec.examples[0] != '\0') {
    text += "\nExamples:\n";
    absl::string_view rest = spec.examples;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      absl::StrAppend(&text, "  ", rest.substr(0, nl), "\n");
      if (nl == absl::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
  }
  text +=
      "\nExit status: 0 ok, 1 key not found or condition not met, 2 usage error,\n"
      "3 store or file error. Sizes: 4096, 64KiB, 64MiB, 1GiB. Durations: 500ms,\n"
      "30s, 5m, 2h, 1d.\n";
  return text;
}

std::string OverviewHelp() {
  std::string text =
      "kvcli looks inside and manages shmkv stores: key-value caches kept in one\n"
      "System V shared-memory segment and shared by every process on this host.\n"
      "\n"
      "usage: kvcli <command> [flags] [args]\n"
      "       kvcli help <command>      (or kvcli <command> --help)\n"
      "\n"
      "Choose the store with --key=0x5f3e0001 (its System V key, hex or decimal),\n"
      "or --path=FILE [--proj=N] if its programs name it by an existing file.\n"
      "\n"
      "Commands:\n";
  for (const CommandSpec& spec : Commands()) {
    absl::StrAppend(&text, absl::StrFormat("  %-9s %s\n", spec.name, spec.summary));
  }
  text +=
      "\n"
      "Examples:\n"
      "  kvcli create --key=0x5f3e0001 --capacity=64MiB\n"
      "  kvcli put --key=0x5f3e0001 greeting hello --ttl=30s\n"
      "  kvcli get --key=0x5f3e0001 greeting\n"
      "  kvcli stats --key=0x5f3e0001 --watch\n"
      "  kvcli dump --key=0x5f3e0001 --out=backup.snap\n"
      "  kvcli ls\n"
      "\n"
      "Sizes: 4096, 64KiB, 64MiB, 1GiB.  Durations: 500ms, 30s, 5m, 2h, 1d.\n"
      "Keys are taken literally; with --escaped, \\\\ and \\xHH in them are decoded\n"
      "(the form keys prints). Put -- before a key or value that starts with -:\n"
      "otherwise it is refused as a mistyped flag.\n"
      "\n"
      "Exit status:\n"
      "  0  success\n"
      "  1  key not found, or a condition was not met (--if-absent, --if-present,\n"
      "     --cas, incr of a non-number)\n"
      "  2  usage error: unknown command or flag, bad value, missing argument\n"
      "  3  store or file error: no such store, permission denied, not a shmkv\n"
      "     segment, other layout version, corrupt, full, lock timeout, I/O error\n"
      "Errors are one line on stderr starting \"kvcli: \" that says what to do.\n"
      "\n"
      "More: kvcli help <command>; kvcli help json (fields of --json output).\n";
  return text;
}

std::string ShortUsage() {
  std::string text = "usage: kvcli <command> [flags] [args]; commands:";
  for (const CommandSpec& spec : Commands()) absl::StrAppend(&text, " ", spec.name);
  absl::StrAppend(&text, "; kvcli help explains them");
  return text;
}

std::string JsonHelp() {
  return "--json output: one JSON object (keys and stats --watch: one object a line).\n"
         "Field names are stable; new fields may be added. Byte strings that may not\n"
         "be text (keys, values) come as base64 in *_b64 fields; a plain \"key\" or\n"
         "\"value\" field is for display (bytes that are not UTF-8 show as U+00XX).\n"
         "Sizes are bytes, times are Unix milliseconds, TTLs are milliseconds with\n"
         "-1 meaning never expires.\n"
         "\n"
         "kvcli info --json\n"
         "  name, key (\"0x5f3e0001\"), key_decimal, shm_id, sem_id, layout_version,\n"
         "  segment_bytes, capacity, lock_stripes, buckets, max_key_size,\n"
         "  max_value_size, evict (bool), huge_pages (bool), default_ttl_ms (0 = none), "
         "created_at_ms,\n"
         "  created_at (RFC 3339, UTC), creator_uid, creator_pid, owner_uid, owner\n"
         "  (user name or \"\"), mode (\"0600\"), attached_processes (not counting\n"
         "  kvcli), removed (bool), items, near_sync (null, or kvsync's state: pid,\n"
         "  phase, serving, reason, heartbeat_age_ms, heartbeat_interval_ms, epoch,\n"
         "  invalidations, flushes, resyncs, keys_cleared, redis, prefixes,\n"
         "  last_error), warnings (array of strings)\n"
         "\n"
         "kvcli stats --json\n"
         "  items, hits, misses, puts, deletes, evictions, expirations, key_bytes,\n"
         "  value_bytes, bytes_used, capacity, index_entries, index_limit (entries\n"
         "  the hash index holds and can hold; see kvcli create --items),\n"
         "  lock_waits, owner_deaths_recovered,\n"
         "  hit_ratio (hits / (hits + misses); null before the first read),\n"
         "  near_sync (as in info, when a kvsync has run on the store; not with\n"
         "  --watch)\n"
         "  with --watch also: time_ms, interval_ms, and per-second rates over the\n"
         "  last interval (null on the first line): ops_per_sec (gets + puts +\n"
         "  deletes), gets_per_sec, puts_per_sec, deletes_per_sec,\n"
         "  evictions_per_sec, expirations_per_sec, interval_hit_ratio\n"
         "\n"
         "kvcli stats --sizes --json\n"
         "  entries, keys and values: objects with count, bytes, largest and\n"
         "  buckets: array of {min_size, max_size, count, bytes}, one per\n"
         "  power-of-two size class (0, 1, 2-3, 4-7, ...) up to the largest size\n"
         "\n"
         "kvcli stats --stripes --json\n"
         "  an array with one object per lock stripe: stripe and the fields of\n"
         "  stats --json for that stripe (capacity and index_limit are its share)\n"
         "\n"
         "kvcli bigkeys --json (one object a line, largest value first)\n"
         "  key, key_b64, key_escaped, value_size, key_size, ttl_ms\n"
         "\n"
         "kvcli keys --json (one object a line)\n"
         "  key (display), key_b64, key_escaped (the form keys prints), size,\n"
         "  ttl_ms, version, flags; with --cursor, a last object with only\n"
         "  next_cursor (a string; \"0\" = done)\n"
         "\n"
         "kvcli get --json\n"
         "  key, key_b64, value (only when the value is UTF-8), value_b64, size,\n"
         "  version, flags, ttl_ms, expires_at_ms (0 = never)\n"
         "  with several keys, one object a line, each also with found (bool); a\n"
         "  key not found has only key, key_b64, found and, when the key failed for\n"
         "  another reason than being absent, error\n"
         "\n"
         "kvcli check --json\n"
         "  ok (no problem found before repair), problems, repairs (arrays of\n"
         "  strings), entries_checked, entries_dropped, repaired (bool: --repair was\n"
         "  given), remaining_problems (array: what a re-check after the repair still\n"
         "  finds), clean (bool: no problem remains; exit 0)\n"
         "\n"
         "kvcli ls --json\n"
         "  stores: array of objects: key, key_decimal, shm_id, segment_bytes,\n"
         "    capacity, items, attached_processes, owner_uid, owner, mode, name\n"
         "  others: with --all, array of objects: key, key_decimal, shm_id,\n"
         "    segment_bytes, attached_processes, owner_uid, owner, mode, status,\n"
         "    detail. status is not_shmkv (no shmkv header), permission_denied,\n"
         "    private (key 0), incompatible (a shmkv store this build cannot open:\n"
         "    other layout version or ABI, unfinished or corrupt header) or error\n"
         "  others_count: how many segments are not listed in stores\n";
}

std::string TopicNames() { return "json"; }

std::string TopicHelp(absl::string_view topic) {
  if (topic == "json") return JsonHelp();
  return "";
}

int RunHelp(const ParsedArgs& parsed, std::FILE* out, std::FILE* err) {
  if (!parsed.error.empty() || !parsed.flags.empty()) {
    std::fprintf(err, "kvcli: help: %s\nusage: kvcli help [command|json]\n",
                 parsed.error.empty() ? "help takes no flags" : OneLine(parsed.error).c_str());
    return kExitUsage;
  }
  if (parsed.positionals.empty()) {
    std::fputs(OverviewHelp().c_str(), out);
    return kExitOk;
  }
  if (parsed.positionals.size() > 1) {
    std::fprintf(err, "kvcli: help: give one command or topic\nusage: kvcli help [command|json]\n");
    return kExitUsage;
  }
  const std::string& topic = parsed.positionals[0];
  if (const CommandSpec* spec = FindCommand(topic); spec != nullptr) {
    std::fputs(CommandHelp(*spec).c_str(), out);
    return kExitOk;
  }
  if (topic == "help") {
    std::fputs(
        "usage: kvcli help [command|json]\n\nShows the overview, a command's help, or "
        "the fields of --json output.\n",
        out);
    return kExitOk;
  }
  std::string text = TopicHelp(topic);
  if (!text.empty()) {
    std::fputs(text.c_str(), out);
    return kExitOk;
  }
  std::fprintf(err,
               "kvcli: help: no command or topic \"%s\"; run kvcli help for the list\n"
               "usage: kvcli help [command|json]\n",
               Quote(topic).c_str());
  return kExitUsage;
}

}  // namespace kvcli
}  // namespace shmkv
