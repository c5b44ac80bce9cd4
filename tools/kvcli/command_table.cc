// kvcli's commands as data: each command's function (commands.h), synopsis,
// help text and the flags it takes (help.h). The help command that prints
// them is help.cc; RunKvcli (kvcli.cc) runs them.
#include <vector>

#include "tools/kvcli/commands.h"
#include "tools/kvcli/help.h"

namespace shmkv {
namespace kvcli {
namespace {

// `flags` followed by the create flags.
std::vector<FlagUse> WithCreateFlags(std::vector<FlagUse> flags) {
  for (const char* name : kCreateFlags) flags.push_back(FlagUse{name});
  return flags;
}

// create, info, stats: making a store and looking at it.
void AddStoreCommands(std::vector<CommandSpec>& c) {
  c.push_back(
      {"create", RunCreate,
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
               RunInfo,
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
       RunStats,
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
       "lock waits, puts, deletes) and names the most written and the fullest\n"
       "one. Hits and misses are counted per CPU, not per stripe: a stripe's\n"
       "read load shows in its lock waits.\n"
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
        {"stripes", "one line per lock stripe, and which stripe is most written and fullest", true},
        {"reset"}},
       0,
       0});
}

// get, put, del: one entry.
void AddEntryCommands(std::vector<CommandSpec>& c) {
  c.push_back({"get",
               RunGet,
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
               "the Redis at ADDR (cluster:HOST:PORT[,...] for a Redis Cluster,\n"
               "sentinel:HOST:PORT[,...]/MASTERNAME behind Redis Sentinel), else\n"
               "from Redis, filling the store on a miss; exit 1\n"
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
       RunPut,
       "--key=KEY|--path=FILE KEY VALUE|- [--ttl=DUR|none] "
       "[--if-absent|--if-present|--cas=VERSION] [--flags=N] [--escaped]",
       "store a value (VALUE - reads stdin)",
       "Stores VALUE under KEY, replacing any value. With - as VALUE the value\n"
       "is read from stdin byte for byte (binary data is fine). A KEY or VALUE\n"
       "starting with - (other than - and negative numbers) is refused as a\n"
       "mistyped flag (exit 2) unless it follows --: kvcli put -- KEY -VALUE.\n"
       "Prints nothing on success. Exit 1 when a condition (--if-absent, --if-present, --cas)\n"
       "is not met; exit 3 when the value is over the store's --max-value or the\n"
       "store is full and created with --no-evict. Under a prefix kvsync tracks\n"
       "(a near cache of Redis) it warns: near-cache readers do not serve such a\n"
       "local value (so do incr and touch); write the key in Redis instead.",
       "kvcli put --key=0x5f3e0001 greeting hello --ttl=30s\n"
       "kvcli put --key=0x5f3e0001 image:1 - < photo.jpg\n"
       "kvcli put --key=0x5f3e0001 lock:job ME --if-absent --ttl=5m",
       true,
       {{"ttl"}, {"if-absent"}, {"if-present"}, {"cas"}, {"flags"}, {"escaped"}},
       2,
       2});
  c.push_back({"del",
               RunDel,
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
}

// incr, touch: changing an entry in place; keys: listing them.
void AddUpdateAndKeysCommands(std::vector<CommandSpec>& c) {
  c.push_back(
      {"incr",
       RunIncr,
       "--key=KEY|--path=FILE KEY [DELTA] [--init=N] [--ttl=DUR|none] [--escaped]",
       "add to a decimal counter and print the result",
       "Adds DELTA (default 1; may be negative) to the decimal number stored at\n"
       "KEY and prints the new value. A missing key is created holding\n"
       "--init plus DELTA, with --ttl (the TTL applies only on creation). The\n"
       "result wraps around on 64-bit overflow; an existing entry keeps its TTL\n"
       "and its flags become 0. Exit 1 if the value is not a number.",
       "kvcli incr --key=0x5f3e0001 visits\n"
       "kvcli incr --key=0x5f3e0001 stock:7 -3 --init=100",
       true,
       {{"init"}, {"ttl", "TTL of the entry when incr creates it; none = never"}, {"escaped"}},
       1,
       2});
  c.push_back(
      {"touch",
       RunTouch,
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
       RunKeys,
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
}

// dump, load: snapshots; check: the integrity check.
void AddSnapshotAndCheckCommands(std::vector<CommandSpec>& c) {
  c.push_back({"dump",
               RunDump,
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
               "--prefix and --match dump only the entries whose keys they select.\n"
               "A damaged store fails the dump at its first damaged record; --salvage\n"
               "skips each record that does not verify (warning about it) and writes\n"
               "the rest: dump with --salvage first, then kvcli check --repair, and\n"
               "only what is damaged is lost. (--salvage takes --prefix, not --match.)\n"
               "A near cache's entries and kvsync's record are dumped too, but kvcli\n"
               "load leaves them out (see kvcli help load).",
               "kvcli dump --key=0x5f3e0001 --out=cache.snap\n"
               "kvcli dump --key=0x5f3e0001 --out=- --format=jsonl | head\n"
               "kvcli dump --key=0x5f3e0001 --out=users.snap --match='user:*'",
               true,
               {{"out"}, {"format"}, {"prefix"}, {"match"}, {"escaped"}, {"salvage"}},
               0,
               0});
  c.push_back({"load", RunLoad,
               "--key=KEY|--path=FILE --in=FILE|- [--create [--capacity=SIZE] [create flags]]",
               "read a snapshot into a store",
               "Reads a snapshot written by kvcli dump (binary or jsonl, detected) and\n"
               "stores each entry with its remaining TTL and flags, replacing existing\n"
               "values (versions are new). The whole file is verified first, and checked\n"
               "against the store's limits and the free room of each lock stripe its keys\n"
               "land in, so a damaged snapshot or one the store cannot hold beside its\n"
               "entries loads nothing (exit 3): existing entries are never evicted for it\n"
               "unless --allow-evict, which a store created with --no-evict refuses (it\n"
               "would stop half-way). Should the load still stop (another writer filled\n"
               "the store meanwhile), it says how many entries were written.\n"
               "Each TTL is what was left at dump time (the time\n"
               "since is not subtracted); entries whose TTL had run out are skipped, and\n"
               "a TTL too long to express as a Unix time in ms never expires.\n"
               "A near cache is never restored: kvsync's record (the key \\x00shmkv.near.sync)\n"
               "and the entries under a prefix that it tracks, in the snapshot or in the\n"
               "store, are skipped and counted (they are read from Redis again), so a load\n"
               "brings back no value Redis has replaced and leaves the running kvsync be.\n"
               "A file with no entries (empty, /dev/null, blank lines) is refused unless\n"
               "--allow-empty: a binary snapshot always has a header, even of an empty store.\n"
               "The store must exist, or pass --create (with the create flags) to\n"
               "create it first. Prints how many entries were loaded.\n"
               "--in=- reads stdin into a temporary file first (it is read twice); more\n"
               "than 16 times the store's capacity (plus 1 MiB) is no snapshot of it and\n"
               "is refused, loading nothing.",
               "kvcli load --key=0x5f3e0001 --in=cache.snap\n"
               "kvcli load --key=0x5f3e0002 --in=cache.snap --create --capacity=256MiB",
               true, WithCreateFlags({{"in"}, {"create"}, {"allow-empty"}, {"allow-evict"}}), 0,
               0});
  c.push_back({"check",
               RunCheck,
               "--key=KEY|--path=FILE [--repair] [--json]",
               "verify the store's structure; --repair fixes it",
               "Verifies the whole store one lock stripe at a time (other processes\n"
               "open the store and use the other stripes meanwhile; writes made during\n"
               "the check are seen in stripes it has not reached yet), and prints each\n"
               "problem found. --repair also rebuilds damaged indexes\n"
               "from the entry logs and drops entries it cannot read, printing each\n"
               "repair. Exit 0 if no problem remains, 3 if problems remain.\n"
               "It checks structure (headers, log bounds, record framing, the index),\n"
               "not the value bytes: a value overwritten in place by a stray write is\n"
               "not detected (records carry no checksum).\n"
               "A lock held by a live process past --lock-timeout is not damage: check\n"
               "stops, names the process holding it and exits 3 without advising repair;\n"
               "so does any other lock failure (a store destroyed meanwhile, an unusable\n"
               "lock), with its own message.",
               "kvcli check --key=0x5f3e0001\nkvcli check --key=0x5f3e0001 --repair",
               true,
               {{"repair"}, {"json"}},
               0,
               0});
}

// flush, destroy, ls, bigkeys: emptying, removing, finding stores and large entries.
void AddMaintenanceCommands(std::vector<CommandSpec>& c) {
  c.push_back({"flush",
               RunFlush,
               "--key=KEY|--path=FILE [--expired]",
               "remove every entry (or only the expired ones)",
               "Removes every entry and prints how many the store held; the store\n"
               "itself, its settings and counters stay. With --expired, removes only\n"
               "entries whose TTL has run out (otherwise reclaimed lazily) and prints\n"
               "how many. Works one lock stripe at a time, as check does: an entry\n"
               "written meanwhile to a stripe already emptied stays.",
               "kvcli flush --key=0x5f3e0001 --expired",
               true,
               {{"expired"}},
               0,
               0});
  c.push_back({"destroy",
               RunDestroy,
               "--key=KEY|--path=FILE",
               "remove the store",
               "Removes the store's segment and semaphore set: its contents are gone.\n"
               "Every later call of a process still attached fails with \"store was\n"
               "destroyed\" until it opens the name again; new opens find no store.\n"
               "Only the store's owner, its creator or root may destroy it: anyone else\n"
               "is refused and nothing changes. A segment that is not a shmkv store is\n"
               "left alone (exit 3; ipcrm -m removes it).",
               "kvcli destroy --key=0x5f3e0001",
               true,
               {},
               0,
               0});
  c.push_back(
      {"ls",
       RunLs,
       "[--all] [--json]",
       "list every shmkv store on this host",
       "Lists the shmkv stores on this host from /proc/sysvipc/shm: key, shm id,\n"
       "segment size, entries, attached processes (besides kvcli), owner and\n"
       "mode. kvcli attaches to each store only to read its info and counters.\n"
       "A store whose semaphore set is missing is listed with a line saying\n"
       "who can recreate the set; ls itself creates nothing. A store removed\n"
       "(destroy, ipcrm -m) while processes are still attached has lost its key\n"
       "(key 0x00000000): it is listed by shm id, status removed, with a line\n"
       "saying that the kernel keeps it only until the last of them detaches.\n"
       "Segments that are not shmkv stores, or that this user may not read, are\n"
       "only counted unless --all lists them too.",
       "kvcli ls\nkvcli ls --all --json",
       false,
       {{"all"}, {"json"}, {"lock-timeout", "longest wait for each store's lock (default 1s)"}},
       0,
       0});
  c.push_back({"bigkeys",
               RunBigkeys,
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
}

// serve: the metrics endpoint and dashboard.
void AddServeCommand(std::vector<CommandSpec>& c) {
  c.push_back(
      {"serve",
       RunServe,
       "[--listen=HOST:PORT] [--show-keys] [--lock-timeout=DUR] [--sizes-every=DUR]",
       "serve every store's metrics (Prometheus), JSON and a live dashboard over HTTP",
       "Serves the host's stores, as kvcli ls finds them, over HTTP until SIGINT\n"
       "or SIGTERM (exit 0): GET /metrics is the Prometheus text format for every\n"
       "store (doc/metrics.md), /api/stores and /api/stores/KEY are JSON\n"
       "(doc/serve.md), and / is a dashboard with live charts. Read-only: no\n"
       "request changes a store. It listens on 127.0.0.1:9309 unless --listen\n"
       "says otherwise, and warns when that is not a loopback address. The\n"
       "largest entries are listed by size; their key names only with\n"
       "--show-keys, their values never. Sizes and largest entries come from a\n"
       "walk of each store's keys (it takes the stripe locks a short while at a\n"
       "time, which a scrape otherwise never does), only with --sizes-every.\n"
       "Prints the URL once listening.",
       "kvcli serve\n"
       "kvcli serve --listen=127.0.0.1:0\n"
       "kvcli serve --listen=0.0.0.0:9309 --sizes-every=10s --show-keys",
       false,
       {{"listen"},
        {"show-keys"},
        {"lock-timeout", "longest wait for each store's lock while reading it (default 1s)"},
        {"sizes-every"}},
       0,
       0});
}

std::vector<CommandSpec> BuildCommands() {
  std::vector<CommandSpec> c;
  AddStoreCommands(c);
  AddEntryCommands(c);
  AddUpdateAndKeysCommands(c);
  AddSnapshotAndCheckCommands(c);
  AddMaintenanceCommands(c);
  AddServeCommand(c);
  return c;
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

}  // namespace kvcli
}  // namespace shmkv
