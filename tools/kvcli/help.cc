// kvcli help: a command's usage line and help, the overview and the topics,
// printed from the commands' specs (command_table.cc).
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
      "30s, 5m, 2h, 1d; a TTL is at least 1ms (the store counts TTLs in ms).\n";
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
         "  segment_bytes, capacity, lock_stripes, index_slots (hash index slots;\n"
         "  also as buckets, its old name, until the next release), max_key_size,\n"
         "  max_value_size, evict (bool), huge_pages (bool), default_ttl_ms (0 = none), "
         "created_at_ms,\n"
         "  created_at (RFC 3339, UTC), creator_uid, creator_pid, owner_uid, owner\n"
         "  (user name or \"\"), mode (\"0600\"), attached_processes (not counting\n"
         "  kvcli), removed (bool), items, near_sync (null, or kvsync's state: pid,\n"
         "  phase, serving, reason, heartbeat_age_ms, heartbeat_interval_ms, epoch,\n"
         "  invalidations, flushes, resyncs, keys_cleared, foreign_messages, redis,\n"
         "  redis_run_id, prefixes, last_error), warnings (array of strings)\n"
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
         "    capacity, items, attached_processes, owner_uid, owner, mode, name,\n"
         "    status, detail. status is ok, or semaphore_missing (the store's\n"
         "    semaphore set was removed: nobody can use the store until its creator\n"
         "    runs kvcli info on it; detail names the creator's uid)\n"
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
