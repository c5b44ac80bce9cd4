// kvcli's commands as data (names, functions, arguments, accepted flags, help text),
// and the help command that prints them.
#ifndef SHMKV_TOOLS_KVCLI_HELP_H_
#define SHMKV_TOOLS_KVCLI_HELP_H_

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/kvcli/args.h"

namespace shmkv {
namespace kvcli {

struct FlagUse {
  const char* name;
  const char* help = nullptr;  // nullptr: the flag's general help (args.cc)
  bool as_switch = false;      // a kValueOrSwitch flag this command takes bare
};

class Context;

struct CommandSpec {
  const char* name;
  // Runs the command (commands.h) once RunKvcli (kvcli.cc) has checked the
  // command line against the rest of this spec and resolved the store.
  int (*run)(Context& ctx);
  const char* synopsis;     // after "kvcli <name> "
  const char* summary;      // one line for the overview
  const char* description;  // what it does, output, exit status
  const char* examples;     // lines of examples, may be empty
  bool store = true;        // takes the store selection flags
  std::vector<FlagUse> flags;
  size_t min_args = 0, max_args = 0;
};

// The store selection flags every command with CommandSpec::store takes.
inline constexpr const char* kStoreFlags[] = {"key", "path", "proj", "allow-foreign-owner",
                                              "lock-timeout"};

// The flags that set up a new store: create's, and load's with --create
// (Context::ResolveCreateOptions reads them).
inline constexpr const char* kCreateFlags[] = {"capacity",    "mode",     "max-value",
                                               "max-key",     "stripes",  "items",
                                               "default-ttl", "no-evict", "huge-pages"};

// command_table.cc: the commands.
const std::vector<CommandSpec>& Commands();
// nullptr if there is no such command.
const CommandSpec* FindCommand(absl::string_view name);
// Whether `spec` accepts --name (including the store flags and --help).
bool CommandTakesFlag(const CommandSpec& spec, absl::string_view name);

// help.cc: their help.
// "usage: kvcli put --key=KEY|--path=FILE KEY VALUE|- [...]"
std::string UsageLine(const CommandSpec& spec);
std::string CommandHelp(const CommandSpec& spec);
std::string OverviewHelp();
// The short list printed after "no command given".
std::string ShortUsage();
// kvcli help json: the field names of every --json output.
std::string JsonHelp();
// kvcli help exit-codes / values (also part of the overview).
std::string TopicNames();
// Help for a topic other than a command; empty if unknown.
std::string TopicHelp(absl::string_view topic);

// kvcli help [command|topic]: the overview, a command's help or a topic on
// `out`, or a usage error on `err`. Returns the exit status.
int RunHelp(const ParsedArgs& parsed, std::FILE* out, std::FILE* err);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_HELP_H_
