// kvcli dump: writes a store's live entries to a snapshot (kv/snapshot,
// binary format or JSON lines).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "kv/snapshot/snapshot.h"
#include "kv/util/format.h"
#include "kv/util/json.h"
#include "shmkv/admin.h"
#include "tools/kvcli/commands.h"
#include "tools/kvcli/context.h"
#include "tools/kvcli/help.h"
#include "tools/kvcli/output.h"
#include "tools/kvcli/selection.h"

namespace shmkv {
namespace kvcli {
namespace {

// The destination of a dump: stdout, a device or FIFO written in place, or a
// regular file written under a temporary name and renamed by Commit.
class DumpTarget {
 public:
  ~DumpTarget() { Abort(); }

  absl::Status Open(const std::string& path, std::FILE* stdout_file) {
    path_ = path;
    if (path == "-") {
      file_ = stdout_file;
      return absl::OkStatus();
    }
    struct stat st;
    const bool exists = stat(path.c_str(), &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
      file_ = std::fopen(path.c_str(), "wb");
      if (file_ == nullptr) return Error("cannot open", errno);
      owned_ = true;
      return absl::OkStatus();
    }
    temp_ = absl::StrCat(path, ".kvcli-tmp.", getpid());
    // Snapshots hold the cache's data: readable by the owner only, unless
    // they replace a file that had other permissions.
    int fd = open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      int err = errno;
      const std::string temp_name = temp_;
      temp_.clear();
      return absl::UnavailableError(absl::StrCat("cannot write --out=", path_, " (as ", temp_name,
                                                 " first): ", ErrnoText(err)));
    }
    if (exists) (void)fchmod(fd, st.st_mode & 07777);
    file_ = fdopen(fd, "wb");
    if (file_ == nullptr) {
      int err = errno;
      close(fd);
      return Error("cannot open", err);
    }
    owned_ = true;
    return absl::OkStatus();
  }

  std::FILE* file() const { return file_; }

  absl::Status Commit() {
    if (std::fflush(file_) != 0 || std::ferror(file_)) return Error("cannot write", errno);
    if (!owned_) return absl::OkStatus();
    if (!temp_.empty() && fsync(fileno(file_)) != 0) return Error("cannot write", errno);
    std::FILE* file = file_;
    file_ = nullptr;
    owned_ = false;
    if (std::fclose(file) != 0) return Error("cannot write", errno);
    if (!temp_.empty()) {
      if (std::rename(temp_.c_str(), path_.c_str()) != 0) return Error("cannot rename onto", errno);
      temp_.clear();
    }
    return absl::OkStatus();
  }

  void Abort() {
    if (owned_ && file_ != nullptr) std::fclose(file_);
    owned_ = false;
    file_ = nullptr;
    if (!temp_.empty()) unlink(temp_.c_str());
    temp_.clear();
  }

 private:
  absl::Status Error(absl::string_view what, int err) const {
    return absl::UnavailableError(absl::StrCat(what, " --out=", path_, ": ", ErrnoText(err)));
  }

  std::string path_, temp_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

// What to dump, and where: the arguments of kvcli dump.
struct DumpRequest {
  std::string out;  // a file, or "-" for stdout
  bool jsonl = false;
  bool salvaging = false;
  ScanOptions selection;
};

// Writes each entry of a walk to the target in the requested format,
// counting them; the first failure stops the walk and is kept.
class DumpWriter {
 public:
  DumpWriter(const DumpRequest& request, DumpTarget& target)
      : request_(request), target_(target), writer_(target.file()) {}

  // False (keeping the failure) to stop the walk.
  bool Add(absl::string_view key, absl::string_view value, const EntryMeta& meta) {
    SnapshotRecord record;
    record.key.assign(key.data(), key.size());
    record.value.assign(value.data(), value.size());
    record.version = meta.version;
    record.flags = meta.flags;
    record.ttl_remaining_ms = TtlMillis(meta.ttl_remaining);
    if (request_.jsonl) {
      line_.clear();
      status_ = WriteJsonl(record, &line_);
      if (status_.ok() &&
          std::fwrite(line_.data(), 1, line_.size(), target_.file()) != line_.size()) {
        status_ = absl::UnavailableError(
            absl::StrCat("cannot write ", request_.out == "-" ? "to stdout" : request_.out, ": ",
                         ErrnoText(errno)));
      }
      bytes_ += line_.size();
    } else {
      status_ = writer_.Add(record);
    }
    if (!status_.ok()) {
      status_ = absl::Status(
          status_.code(),
          absl::StrCat("entry ", util::JsonString(key.substr(0, 64)), ": ", status_.message()));
      return false;
    }
    ++entries_;
    return true;
  }

  // After a walk that succeeded: the binary trailer, then the target's commit.
  void Finish() {
    if (status_.ok() && !request_.jsonl) status_ = writer_.Finish();
    if (status_.ok()) status_ = target_.Commit();
  }

  const absl::Status& status() const { return status_; }
  uint64_t entries() const { return entries_; }
  uint64_t bytes() const { return request_.jsonl ? bytes_ : writer_.bytes_written(); }

 private:
  const DumpRequest& request_;
  DumpTarget& target_;
  SnapshotWriter writer_;
  absl::Status status_;
  uint64_t entries_ = 0, bytes_ = 0;  // bytes_: of jsonl
  std::string line_;
};

// The arguments, checked. 0, or the exit code after reporting.
int ParseDumpArgs(Context& ctx, DumpRequest* request) {
  const std::string* out = ctx.Get("out");
  if (out == nullptr) return ctx.Usage("missing --out=FILE (or --out=- for stdout)");
  if (out->empty()) return ctx.Usage("--out is empty; give a file name, or - for stdout");
  request->out = *out;
  if (const std::string* format = ctx.Get("format"); format != nullptr) {
    if (*format == "jsonl") {
      request->jsonl = true;
    } else if (*format != "binary") {
      return ctx.Usage(absl::StrCat("--format=\"", Quote(*format), "\": use binary or jsonl"));
    }
  }
  if (absl::Status s = SelectionFlags(ctx, &request->selection); !s.ok()) {
    return ctx.Usage(s.message());
  }
  request->selection.with_values = true;
  request->salvaging = ctx.Has("salvage");
  if (request->salvaging && !request->selection.match.empty()) {
    return ctx.Usage("--salvage takes --prefix but not --match; dump everything, then select");
  }
  return 0;
}

// The summary (on stderr when the dump went to stdout), after a warning for
// each of the first damaged records a salvage skipped.
int ReportDumped(Context& ctx, const DumpRequest& request, const DumpWriter& writer,
                 const SalvageReport& salvage) {
  std::string summary =
      absl::StrCat("dumped ", Plural(writer.entries(), "entry", "entries"), " (",
                   util::FormatBytes(writer.bytes()), ", ", request.jsonl ? "jsonl" : "binary",
                   ") to ", request.out == "-" ? "stdout" : request.out, "\n");
  if (salvage.damaged > 0) {
    // One line each for the first few, so the terminal is not flooded.
    for (size_t i = 0; i < salvage.notes.size() && i < 10; ++i) ctx.Warn(salvage.notes[i]);
    ctx.Warn(absl::StrCat("skipped ", Plural(salvage.damaged, "damaged record", "damaged records"),
                          " and wrote the rest; now run kvcli check --repair"));
  }
  if (request.out == "-") {
    std::fputs(summary.c_str(), ctx.err());
    return kExitOk;
  }
  ctx.Write(summary);
  return ctx.Finish();
}

// Walks the store (or salvages it) into the target and reports.
int DumpStore(Context& ctx, Store& store, const DumpRequest& request) {
  DumpTarget target;
  if (absl::Status s = target.Open(request.out, ctx.out()); !s.ok()) {
    return ctx.Fail(kExitStore, s.message());
  }
  DumpWriter writer(request, target);
  auto add = [&](absl::string_view key, absl::string_view value, const EntryMeta& meta) {
    return writer.Add(key, value, meta);
  };
  absl::Status walk;
  SalvageReport salvage;
  if (request.salvaging) {
    absl::StatusOr<SalvageReport> salvaged = store.SalvageEntries(request.selection.prefix, add);
    if (salvaged.ok()) salvage = *std::move(salvaged);
    walk = salvaged.status();
  } else {
    walk = store.Walk(request.selection, add);
  }
  if (walk.ok()) writer.Finish();
  if (!walk.ok() || !writer.status().ok()) {
    target.Abort();
    const absl::Status& failure = walk.ok() ? writer.status() : walk;
    return ctx.Fail(
        kExitStore,
        absl::StrCat("dump failed after ", Plural(writer.entries(), "entry", "entries"), ": ",
                     failure.message(), request.out == "-" ? "" : "; no file was written"));
  }
  return ReportDumped(ctx, request, writer, salvage);
}

}  // namespace

int RunDump(Context& ctx) {
  DumpRequest request;
  if (int code = ParseDumpArgs(ctx, &request)) return code;
  if (ctx.dry_run()) return kExitOk;
  if (request.out == "-" && !request.jsonl && isatty(fileno(ctx.out())) == 1) {
    return ctx.Usage(
        "will not write a binary snapshot to a terminal; redirect stdout, or use --out=FILE or "
        "--format=jsonl");
  }
  return ctx.WithStore([&](Store& store) { return DumpStore(ctx, store, request); });
}

}  // namespace kvcli
}  // namespace shmkv
