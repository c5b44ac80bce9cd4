// RunKvcli: splits the command line, checks it against the command's spec
// (command_table.cc) and runs the command it names.
#include "tools/kvcli/kvcli.h"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/kvcli/args.h"
#include "tools/kvcli/commands.h"
#include "tools/kvcli/help.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {
namespace {

// The name of positional argument `index` for "missing ..." messages.
std::string ArgName(absl::string_view command, size_t index) {
  if (index == 0) return "KEY";
  if (command == "put") return "VALUE (give the value, or - to read it from stdin)";
  return "an argument";
}

const char* Suggestion(absl::string_view command) {
  static const std::pair<const char*, const char*> kAliases[] = {
      {"set", "put"},      {"write", "put"},    {"read", "get"},       {"delete", "del"},
      {"rm", "del"},       {"remove", "del"},   {"increment", "incr"}, {"list", "keys"},
      {"scan", "keys"},    {"clear", "flush"},  {"stat", "stats"},     {"status", "info"},
      {"show", "info"},    {"drop", "destroy"}, {"backup", "dump"},    {"export", "dump"},
      {"restore", "load"}, {"import", "load"},  {"verify", "check"},   {"fsck", "check"},
      {"new", "create"},   {"init", "create"},  {"list-stores", "ls"}, {"expire", "touch"},
  };
  for (const auto& alias : kAliases) {
    if (command == alias.first) return alias.second;
  }
  return nullptr;
}
}  // namespace

int RunKvcli(std::vector<std::string> args, std::FILE* in, std::FILE* out, std::FILE* err) {
  return RunKvcli(std::move(args), in, out, err, RunOptions());
}

int RunKvcli(std::vector<std::string> args, std::FILE* in, std::FILE* out, std::FILE* err,
             const RunOptions& options) {
  ParsedArgs parsed = SplitArgs(args);
  if (parsed.command.empty()) {
    if (parsed.help) {
      std::fputs(OverviewHelp().c_str(), out);
      return kExitOk;
    }
    std::fprintf(err, "kvcli: %s\n%s\n",
                 parsed.error.empty()
                     ? "no command given; kvcli help explains the commands"
                     : OneLine(absl::StrCat(parsed.error, " (and no command given)")).c_str(),
                 ShortUsage().c_str());
    return kExitUsage;
  }
  if (parsed.command == "help") return RunHelp(parsed, out, err);
  const CommandSpec* spec = FindCommand(parsed.command);
  if (spec == nullptr) {
    std::string message = absl::StrCat("unknown command \"", Quote(parsed.command), "\"");
    if (const char* suggestion = Suggestion(parsed.command); suggestion != nullptr) {
      absl::StrAppend(&message, "; did you mean kvcli ", suggestion, "?");
    } else {
      absl::StrAppend(&message, "; kvcli help lists the commands");
    }
    std::fprintf(err, "kvcli: %s\n%s\n", OneLine(message).c_str(), ShortUsage().c_str());
    return kExitUsage;
  }
  if (parsed.help) {
    std::fputs(CommandHelp(*spec).c_str(), out);
    return kExitOk;
  }
  Context ctx(*spec, std::move(parsed), in, out, err, options);
  if (!ctx.args().error.empty()) return ctx.Usage(ctx.args().error);
  for (const auto& flag : ctx.args().flags) {
    if (!CommandTakesFlag(*spec, flag.first)) {
      return ctx.Usage(absl::StrCat("--", flag.first, " does not apply to ", spec->name,
                                    "; kvcli help ", spec->name, " lists its flags"));
    }
  }
  if (ctx.arg_count() < spec->min_args) {
    return ctx.Usage(absl::StrCat("missing ", ArgName(spec->name, ctx.arg_count())));
  }
  if (ctx.arg_count() > spec->max_args) {
    std::string message =
        absl::StrCat("unexpected argument \"", Quote(ctx.arg(spec->max_args)), "\"");
    if (absl::string_view(ctx.arg(spec->max_args)).substr(0, 1) == "-") {
      absl::StrAppend(&message, " (flags start with --; put -- before a key that starts with -)");
    } else if (spec->max_args == 0) {
      absl::StrAppend(&message, " (", spec->name, " takes only flags)");
    }
    return ctx.Usage(message);
  }
  if (spec->store) {
    if (int code = ctx.ResolveStore()) return code;
  }
  return spec->run(ctx);
}

}  // namespace kvcli
}  // namespace shmkv
