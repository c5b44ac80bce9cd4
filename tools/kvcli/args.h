// kvcli's command line: the table of every flag, the splitting of argv into
// command, flags and positional arguments, and the permission-bits parser.
//
// Syntax: flags are "--name=value", "--name value" (value flags only) or
// "--name" (switches, and --watch which takes an optional "=value"). Flags
// may come before or after the command and between arguments. "--" ends the
// flags: everything after it is an argument (for keys starting with "-").
// Before "--", an argument starting with a single '-' is refused as a
// mistyped flag ("put k -ttl=30s"), except "-" (stdin), negative numbers
// ("-5", incr's DELTA) and "-h", which is --help.
#ifndef SHMKV_TOOLS_KVCLI_ARGS_H_
#define SHMKV_TOOLS_KVCLI_ARGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace shmkv {
namespace kvcli {

enum class FlagKind {
  kSwitch,         // --name
  kValue,          // --name=V or --name V
  kOptionalValue,  // --name or --name=V
  // --name=V, --name V when V is a whole number, or --name alone (value "").
  // For --stripes: create's --stripes=N and stats's --stripes switch.
  kValueOrSwitch,
};

struct FlagInfo {
  const char* name;  // without the dashes
  FlagKind kind;
  const char* value_name;  // "SIZE"; empty for switches
  const char* help;        // one line
};

// nullptr if kvcli has no flag of that name.
const FlagInfo* FindFlag(absl::string_view name);

struct ParsedArgs {
  std::string command;                       // first argument that is not a flag; empty if none
  std::vector<std::string> positionals;      // the arguments after the command
  std::map<std::string, std::string> flags;  // name -> value ("" for switches)
  bool help = false;                         // --help or -h anywhere
  std::string error;                         // first syntax error, e.g. "unknown flag --foo"

  bool Has(absl::string_view name) const { return flags.count(std::string(name)) > 0; }
  // nullptr when absent.
  const std::string* Get(absl::string_view name) const;
};

ParsedArgs SplitArgs(const std::vector<std::string>& args);

// Strict integers are util::ParseUnsigned and util::ParseSigned
// (kv/util/parse.h), which kvbench uses too.
// Octal permission bits ("0600", "600", "0o600"), at most 0777.
bool ParseMode(absl::string_view text, int* out);

// Quotes an argument for a message: escaped (util::EscapeKey) and cut to 64
// bytes.
std::string Quote(absl::string_view text);
// A key for a message: Quote()d, in double quotes.
std::string QuotedKey(absl::string_view key);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_ARGS_H_
