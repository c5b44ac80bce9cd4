// What every kvcli command implementation shares: the parsed command line,
// the streams, error reporting with exit codes, flag value parsing and
// opening the selected store.
#ifndef SHMKV_TOOLS_KVCLI_CONTEXT_H_
#define SHMKV_TOOLS_KVCLI_CONTEXT_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tools/kvcli/args.h"
#include "tools/kvcli/help.h"
#include "tools/kvcli/kvcli.h"

namespace shmkv {
namespace kvcli {

class Context {
 public:
  Context(const CommandSpec& spec, ParsedArgs args, std::FILE* in, std::FILE* out, std::FILE* err,
          const RunOptions& options)
      : spec_(spec), args_(std::move(args)), in_(in), out_(out), err_(err), options_(options) {}

  const CommandSpec& spec() const { return spec_; }
  const ParsedArgs& args() const { return args_; }
  const std::string& arg(size_t i) const { return args_.positionals[i]; }
  size_t arg_count() const { return args_.positionals.size(); }
  bool Has(absl::string_view flag) const { return args_.Has(flag); }
  const std::string* Get(absl::string_view flag) const { return args_.Get(flag); }
  bool dry_run() const { return options_.dry_run; }
  std::FILE* in() const { return in_; }
  std::FILE* out() const { return out_; }
  std::FILE* err() const { return err_; }

  // "kvcli: <command>: <message>" and the usage line on err; returns 2.
  int Usage(absl::string_view message);
  // "kvcli: <command>: <message>" on err; returns `code`.
  int Fail(int code, absl::string_view message);
  // Fail() with the status's message and the exit code of a store-level
  // failure: 2 for InvalidArgument (with the usage line), else 3.
  int StoreFailure(const absl::Status& status);
  // "kvcli: warning: <message>" on err.
  void Warn(absl::string_view message);

  // Writes to out; false (after reporting, code 3) if the write failed.
  bool Write(absl::string_view bytes);
  // Flushes out; false if a write to it failed at any point.
  bool FlushOut();
  // The end of a command that printed its result: FlushOut(), then 0, or
  // Fail(3, failure) if a write to out failed.
  int Finish(absl::string_view failure = "cannot write to stdout");

  // Flag values. Absent flags leave *out unchanged and return OK; bad
  // values return InvalidArgument with a message naming the flag.
  absl::Status SizeFlag(absl::string_view flag, uint64_t* out) const;
  absl::Status DurationFlag(absl::string_view flag, absl::Duration* out) const;
  // A TTL: a positive duration, or none/never/inf for InfiniteDuration().
  absl::Status TtlFlag(absl::string_view flag, absl::Duration* out) const;
  absl::Status UnsignedFlag(absl::string_view flag, uint64_t max, bool allow_hex,
                            uint64_t* out) const;
  absl::Status SignedFlag(absl::string_view flag, int64_t* out) const;
  // A key argument, unescaped under --escaped; never empty.
  absl::Status KeyArg(size_t index, std::string* key) const;

  // Resolves --key / --path / --proj and the per-process options
  // (--allow-foreign-owner, --lock-timeout). Returns 0, or the exit code
  // after reporting. RunKvcli calls it before running a command whose spec
  // takes the store flags, so commands start with the store resolved.
  int ResolveStore();
  const StoreName& name() const { return *name_; }
  const Options& open_options() const { return open_options_; }
  // The create flags (capacity, mode, ...) applied to open_options(); 0 or a
  // usage exit code after reporting.
  int ResolveCreateOptions(Options* options);

  // Store::Open with the resolved name, after ResolveStore. (A failed Open
  // leaves no semaphore set behind, so neither does a failed kvcli.)
  absl::StatusOr<std::unique_ptr<Store>> Open(OpenMode mode, const Options& options);
  // The rest of a command that works on an existing store, once its
  // arguments are checked: 0 at once on a dry run; otherwise
  // Open(kAttach, open_options()) and run(store), or the exit code after
  // reporting that the store could not be opened.
  int WithStore(absl::FunctionRef<int(Store&)> run);

  // --prefix, unescaped under --escaped; "" when absent.
  absl::Status PrefixFlag(std::string* prefix) const;

 private:
  // Usage, Fail and Warn say the library's advice in kvcli's terms
  // (flag_terms.h): the store's flags instead of an Options field.
  std::string Terms(absl::string_view message) const;

  const CommandSpec& spec_;
  ParsedArgs args_;
  std::FILE* in_;
  std::FILE* out_;
  std::FILE* err_;
  RunOptions options_;
  absl::optional<StoreName> name_;
  Options open_options_;
  bool write_failed_ = false;
};

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_CONTEXT_H_
