// The command-line parser of kvbench and the peer drivers: --name=value,
// --name value and --flag. Sizes, durations, counts ("1M", "250k") and
// integers are parsed by kv/util/parse.h, as kvcli parses them.
#ifndef SHMKV_BENCH_ENGINE_FLAGS_H_
#define SHMKV_BENCH_ENGINE_FLAGS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/util/parse.h"

namespace shmkv {
namespace bench {

// A small --name=value / --name value / --flag command-line parser.
class FlagSet {
 public:
  explicit FlagSet(std::string program, std::string summary);
  // `fn` receives the text after '=' (or the next argument).
  void Value(std::string name, std::string arg_name, std::string help,
             std::function<absl::Status(absl::string_view)> fn);
  // Common shapes of Value: a string stored as given; a byte size parsed by
  // util::ParseSize ("4096", "64KiB", "1G").
  void String(std::string name, std::string arg_name, std::string help, std::string* target);
  template <typename T>
  void ByteSize(std::string name, std::string help, T* target) {
    Value(std::move(name), "SIZE", std::move(help), [target](absl::string_view v) {
      absl::StatusOr<uint64_t> n = util::ParseSize(v);
      if (!n.ok()) return n.status();
      *target = static_cast<T>(*n);
      return absl::OkStatus();
    });
  }
  // A count parsed by util::ParseCount ("1M"), as arg_name N.
  void Count(std::string name, std::string help, uint64_t* target);
  // A whole number in [min, max] (util::ParseUnsigned: decimal digits only),
  // as arg_name N.
  template <typename T>
  void Integer(std::string name, std::string help, uint64_t min, uint64_t max, T* target) {
    Value(std::move(name), "N", std::move(help), [=](absl::string_view v) {
      uint64_t n = 0;
      if (!util::ParseUnsigned(v, max, /*allow_hex=*/false, &n) || n < min) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", v, "\" is not a whole number from ", min, " to ", max));
      }
      *target = static_cast<T>(n);
      return absl::OkStatus();
    });
  }
  // A value `parse` turns into a T (absl::StatusOr<T> parse(absl::string_view),
  // e.g. StoreName::ParseKey), stored in *target; parse's error is the flag's.
  template <typename T, typename Parse>
  void Parsed(std::string name, std::string arg_name, std::string help, Parse parse,
              std::optional<T>* target) {
    Value(std::move(name), std::move(arg_name), std::move(help),
          [parse, target](absl::string_view v) -> absl::Status {
            auto parsed = parse(v);
            if (!parsed.ok()) return parsed.status();
            *target = *std::move(parsed);
            return absl::OkStatus();
          });
  }
  // A duration parsed by util::ParseDuration ("500ms", "10s"), as arg_name TIME.
  void Duration(std::string name, std::string help, absl::Duration* target);
  void Bool(std::string name, std::string help, bool* target);
  void Bool(std::string name, std::string help, std::function<void(bool)> fn);
  // Parses argv; prints usage and exits 0 on --help, exits 2 on a bad flag.
  void ParseOrExit(int argc, char** argv);
  std::string Usage() const;

 private:
  struct Flag {
    std::string name, arg_name, help;
    bool is_bool = false;
    std::function<absl::Status(absl::string_view)> fn;
    std::function<void(bool)> set_bool;
  };
  std::string program_, summary_;
  std::vector<Flag> flags_;
};

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_FLAGS_H_
