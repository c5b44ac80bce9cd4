// kvcli dump: writes a store's live entries to a snapshot (kv/snapshot,
// binary format or JSON lines).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
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

std::string ErrnoText(int err) { return std::strerror(err); }

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

}  // namespace

int RunDump(Context& ctx) {
  const std::string* out = ctx.Get("out");
  if (out == nullptr) return ctx.Usage("missing --out=FILE (or --out=- for stdout)");
  if (out->empty()) return ctx.Usage("--out is empty; give a file name, or - for stdout");
  bool jsonl = false;
  if (const std::string* format = ctx.Get("format"); format != nullptr) {
    if (*format == "jsonl") {
      jsonl = true;
    } else if (*format != "binary") {
      return ctx.Usage(absl::StrCat("--format=\"", Quote(*format), "\": use binary or jsonl"));
    }
  }
  ScanOptions selection;
  if (absl::Status s = SelectionFlags(ctx, &selection); !s.ok()) return ctx.Usage(s.message());
  selection.with_values = true;
  const bool salvaging = ctx.Has("salvage");
  if (salvaging && !selection.match.empty()) {
    return ctx.Usage("--salvage takes --prefix but not --match; dump everything, then select");
  }
  if (ctx.dry_run()) return kExitOk;
  if (*out == "-" && !jsonl && isatty(fileno(ctx.out())) == 1) {
    return ctx.Usage(
        "will not write a binary snapshot to a terminal; redirect stdout, or use --out=FILE or "
        "--format=jsonl");
  }
  return ctx.WithStore([&](Store& store) {
    DumpTarget target;
    if (absl::Status s = target.Open(*out, ctx.out()); !s.ok()) {
      return ctx.Fail(kExitStore, s.message());
    }
    SnapshotWriter writer(target.file());
    absl::Status write_status;
    uint64_t entries = 0, bytes = 0;
    std::string line;
    auto write_entry = [&](absl::string_view key, absl::string_view value, const EntryMeta& meta) {
      SnapshotRecord record;
      record.key.assign(key.data(), key.size());
      record.value.assign(value.data(), value.size());
      record.version = meta.version;
      record.flags = meta.flags;
      record.ttl_remaining_ms = TtlMillis(meta.ttl_remaining);
      if (jsonl) {
        line.clear();
        write_status = WriteJsonl(record, &line);
        if (write_status.ok() &&
            std::fwrite(line.data(), 1, line.size(), target.file()) != line.size()) {
          write_status = absl::UnavailableError(absl::StrCat(
              "cannot write ", *out == "-" ? "to stdout" : *out, ": ", ErrnoText(errno)));
        }
        bytes += line.size();
      } else {
        write_status = writer.Add(record);
      }
      if (!write_status.ok()) {
        write_status = absl::Status(
            write_status.code(), absl::StrCat("entry ", util::JsonString(key.substr(0, 64)), ": ",
                                              write_status.message()));
        return false;
      }
      ++entries;
      return true;
    };
    absl::Status walk;
    SalvageReport salvage;
    if (salvaging) {
      absl::StatusOr<SalvageReport> salvaged = SalvageEntries(store, selection.prefix, write_entry);
      if (salvaged.ok()) salvage = *std::move(salvaged);
      walk = salvaged.status();
    } else {
      walk = ScanEach(store, selection, write_entry);
    }
    if (walk.ok() && write_status.ok() && !jsonl) write_status = writer.Finish();
    if (!jsonl) bytes = writer.bytes_written();
    if (walk.ok() && write_status.ok()) write_status = target.Commit();
    if (!walk.ok() || !write_status.ok()) {
      target.Abort();
      const absl::Status& failure = walk.ok() ? write_status : walk;
      return ctx.Fail(kExitStore,
                      absl::StrCat("dump failed after ", Plural(entries, "entry", "entries"), ": ",
                                   failure.message(), *out == "-" ? "" : "; no file was written"));
    }
    std::string summary = absl::StrCat("dumped ", Plural(entries, "entry", "entries"), " (",
                                       util::FormatBytes(bytes), ", ", jsonl ? "jsonl" : "binary",
                                       ") to ", *out == "-" ? "stdout" : *out, "\n");
    if (salvage.damaged > 0) {
      // One line each for the first few, so the terminal is not flooded.
      for (size_t i = 0; i < salvage.notes.size() && i < 10; ++i) ctx.Warn(salvage.notes[i]);
      ctx.Warn(absl::StrCat("skipped ",
                            Plural(salvage.damaged, "damaged record", "damaged records"),
                            " and wrote the rest; now run kvcli check --repair"));
    }
    if (*out == "-") {
      std::fputs(summary.c_str(), ctx.err());
      return kExitOk;
    }
    ctx.Write(summary);
    return ctx.Finish();
  });
}

}  // namespace kvcli
}  // namespace shmkv
