#include "bench/engine/flags.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace shmkv {
namespace bench {

FlagSet::FlagSet(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  Bool("help", "print this help", [](bool) {});
}

void FlagSet::Value(std::string name, std::string arg_name, std::string help,
                    std::function<absl::Status(absl::string_view)> fn) {
  Flag f;
  f.name = std::move(name);
  f.arg_name = std::move(arg_name);
  f.help = std::move(help);
  f.fn = std::move(fn);
  flags_.push_back(std::move(f));
}

void FlagSet::String(std::string name, std::string arg_name, std::string help,
                     std::string* target) {
  Value(std::move(name), std::move(arg_name), std::move(help), [target](absl::string_view v) {
    *target = std::string(v);
    return absl::OkStatus();
  });
}

void FlagSet::Count(std::string name, std::string help, uint64_t* target) {
  Value(std::move(name), "N", std::move(help), [target](absl::string_view v) {
    absl::StatusOr<uint64_t> n = util::ParseCount(v);
    if (!n.ok()) return n.status();
    *target = *n;
    return absl::OkStatus();
  });
}

void FlagSet::Duration(std::string name, std::string help, absl::Duration* target) {
  Value(std::move(name), "TIME", std::move(help), [target](absl::string_view v) {
    absl::StatusOr<absl::Duration> d = util::ParseDuration(v);
    if (!d.ok()) return d.status();
    *target = *d;
    return absl::OkStatus();
  });
}

void FlagSet::Bool(std::string name, std::string help, bool* target) {
  Bool(std::move(name), std::move(help), [target](bool b) { *target = b; });
}

void FlagSet::Bool(std::string name, std::string help, std::function<void(bool)> fn) {
  Flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.is_bool = true;
  f.set_bool = std::move(fn);
  flags_.push_back(std::move(f));
}

std::string FlagSet::Usage() const {
  std::string out = absl::StrCat("usage: ", program_, " [flags]\n", summary_, "\n\nflags:\n");
  for (const Flag& f : flags_) {
    std::string left = absl::StrCat("  --", f.name);
    if (!f.is_bool) absl::StrAppend(&left, "=", f.arg_name);
    if (left.size() < 26)
      left.resize(26, ' ');
    else
      left += "\n" + std::string(26, ' ');
    absl::StrAppend(&out, left, f.help, "\n");
  }
  return out;
}

void FlagSet::ParseOrExit(int argc, char** argv) {
  auto fail = [&](const std::string& message) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program_.c_str(), message.c_str());
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (!absl::ConsumePrefix(&arg, "--")) fail(absl::StrCat("unexpected argument \"", arg, "\""));
    absl::string_view name = arg, value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags_) {
      if (f.name == name) flag = &f;
    }
    if (flag == nullptr) fail(absl::StrCat("unknown flag --", name));
    if (flag->is_bool) {
      bool b = true;
      if (has_value && !absl::SimpleAtob(value, &b))
        fail(absl::StrCat("--", name, ": not a boolean"));
      if (flag->name == "help") {
        std::fputs(Usage().c_str(), stdout);
        std::exit(0);
      }
      flag->set_bool(b);
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) fail(absl::StrCat("--", name, " needs a value"));
      value = argv[++i];
    }
    absl::Status s = flag->fn(value);
    if (!s.ok()) fail(absl::StrCat("--", name, ": ", s.message()));
  }
}

}  // namespace bench
}  // namespace shmkv
