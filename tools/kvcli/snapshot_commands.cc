// kvcli dump and kvcli load: snapshots of a store's live entries through
// kv/snapshot (binary format or JSON lines).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "kv/snapshot/snapshot.h"
#include "kv/util/format.h"
#include "kv/util/json.h"
#include "tools/kvcli/commands.h"
#include "tools/kvcli/context.h"
#include "tools/kvcli/help.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

std::string Plural(uint64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

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
    absl::Status walk = store.ForEach(
        "", [&](absl::string_view key, absl::string_view value, const EntryMeta& meta) {
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
            write_status = absl::Status(write_status.code(),
                                        absl::StrCat("entry ", util::JsonString(key.substr(0, 64)),
                                                     ": ", write_status.message()));
            return false;
          }
          ++entries;
          return true;
        });
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
    if (*out == "-") {
      std::fputs(summary.c_str(), ctx.err());
      return kExitOk;
    }
    ctx.Write(summary);
    return ctx.Finish();
  });
}

namespace {

// Calls `fn` for each record of the snapshot in `file` (from its current
// position), stopping at the first error. Messages name the input.
absl::Status ForEachRecord(std::FILE* file, SnapshotFormat format, const std::string& input,
                           const std::function<absl::Status(const SnapshotRecord&)>& fn) {
  SnapshotRecord record;
  if (format == SnapshotFormat::kBinary) {
    absl::StatusOr<SnapshotReader> reader = SnapshotReader::Open(file);
    if (!reader.ok()) {
      return absl::Status(reader.status().code(),
                          absl::StrCat(input, ": ", reader.status().message()));
    }
    for (;;) {
      absl::StatusOr<bool> more = reader->Next(&record);
      if (!more.ok()) {
        return absl::Status(more.status().code(),
                            absl::StrCat(input, ": ", more.status().message()));
      }
      if (!*more) return absl::OkStatus();
      if (absl::Status s = fn(record); !s.ok()) return s;
    }
  }
  char* buffer = nullptr;
  size_t capacity = 0;
  uint64_t line_number = 0;
  absl::Status status;
  for (;;) {
    errno = 0;
    ssize_t n = getline(&buffer, &capacity, file);
    if (n < 0) {
      if (std::ferror(file)) {
        status = absl::DataLossError(absl::StrCat("cannot read ", input, ": ", ErrnoText(errno)));
      }
      break;
    }
    ++line_number;
    absl::string_view line(buffer, static_cast<size_t>(n));
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    record = SnapshotRecord();
    status = ParseJsonlLine(line, &record);
    if (!status.ok()) {
      status = absl::Status(status.code(),
                            absl::StrCat(input, " line ", line_number, ": ", status.message()));
      break;
    }
    status = fn(record);
    if (!status.ok()) break;
  }
  std::free(buffer);
  return status;
}

// Copies `in` into an unnamed temporary file, so stdin can be read twice.
absl::StatusOr<std::FILE*> SpoolToTempFile(std::FILE* in) {
  std::FILE* temp = std::tmpfile();
  if (temp == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot create a temporary file for stdin: ", ErrnoText(errno)));
  }
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), in)) > 0) {
    if (std::fwrite(buffer, 1, n, temp) != n) {
      std::fclose(temp);
      return absl::UnavailableError(
          absl::StrCat("cannot spool stdin to a temporary file: ", ErrnoText(errno)));
    }
  }
  if (std::ferror(in)) {
    std::fclose(temp);
    return absl::DataLossError("reading stdin failed");
  }
  std::rewind(temp);
  return temp;
}

class ScopedFile {
 public:
  explicit ScopedFile(std::FILE* file) : file_(file) {}
  ~ScopedFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  ScopedFile(const ScopedFile&) = delete;
  ScopedFile& operator=(const ScopedFile&) = delete;
  std::FILE* get() const { return file_; }

 private:
  std::FILE* file_;
};

}  // namespace

int RunLoad(Context& ctx) {
  const std::string* in = ctx.Get("in");
  if (in == nullptr) return ctx.Usage("missing --in=FILE (or --in=- for stdin)");
  if (in->empty()) return ctx.Usage("--in is empty; give a snapshot file, or - for stdin");
  const bool create = ctx.Has("create");
  Options create_options = ctx.open_options();
  if (create) {
    if (int code = ctx.ResolveCreateOptions(&create_options)) return code;
  } else {
    for (const char* flag : kCreateFlags) {
      if (ctx.Has(flag)) {
        return ctx.Usage(absl::StrCat("--", flag,
                                      " sets up a new store: add --create, or drop it "
                                      "to load into the existing store"));
      }
    }
  }
  if (ctx.dry_run()) return kExitOk;

  // An existing store is opened first, so a wrong --key fails before a large
  // file is read.
  std::unique_ptr<Store> store;
  if (!create) {
    absl::StatusOr<std::unique_ptr<Store>> opened = ctx.Open(OpenMode::kAttach, ctx.open_options());
    if (absl::IsNotFound(opened.status())) {
      return ctx.Fail(kExitStore, absl::StrCat(opened.status().message(),
                                               "; or add --create (with --capacity) to load"));
    }
    if (!opened.ok()) return ctx.StoreFailure(opened.status());
    store = *std::move(opened);
  }
  const std::string input = *in == "-" ? std::string("stdin") : *in;
  std::FILE* raw = nullptr;
  if (*in == "-") {
    absl::StatusOr<std::FILE*> spooled = SpoolToTempFile(ctx.in());
    if (!spooled.ok()) return ctx.Fail(kExitStore, spooled.status().message());
    raw = *spooled;
  } else {
    raw = std::fopen(in->c_str(), "rb");
    if (raw == nullptr) {
      return ctx.Fail(kExitStore, absl::StrCat("cannot open --in=", *in, ": ", ErrnoText(errno)));
    }
  }
  ScopedFile file(raw);
  std::string head(4096, '\0');
  head.resize(std::fread(&head[0], 1, head.size(), file.get()));
  std::rewind(file.get());
  const SnapshotFormat format = DetectSnapshotFormat(head);
  if (format == SnapshotFormat::kUnknown) {
    return ctx.Fail(kExitStore, absl::StrCat(input,
                                             " is not a kvcli snapshot (neither the binary format "
                                             "nor JSON lines); make one with kvcli dump"));
  }
  const char* format_name = format == SnapshotFormat::kBinary ? "binary" : "jsonl";

  // Pass 1: verify the whole file, so that a damaged snapshot loads nothing.
  uint64_t total = 0;
  size_t longest_key = 0, largest_value = 0;
  absl::Status verified =
      ForEachRecord(file.get(), format, input, [&](const SnapshotRecord& record) {
        ++total;
        longest_key = std::max(longest_key, record.key.size());
        largest_value = std::max(largest_value, record.value.size());
        return absl::OkStatus();
      });
  if (!verified.ok()) {
    return ctx.Fail(kExitStore, absl::StrCat(verified.message(), "; nothing was loaded"));
  }
  if (format == SnapshotFormat::kJsonl && total == 0 && !ctx.Has("allow-empty")) {
    return ctx.Fail(
        kExitStore,
        absl::StrCat(input,
                     " holds no entries (it is empty or blank), so it is no snapshot "
                     "of a store; nothing was loaded; pass --allow-empty to accept it"));
  }
  std::rewind(file.get());

  if (create) {
    absl::StatusOr<std::unique_ptr<Store>> created = ctx.Open(OpenMode::kCreate, create_options);
    if (!created.ok()) return ctx.StoreFailure(created.status());
    store = *std::move(created);
  }
  // Entries the store cannot hold would stop the load half-way: refuse now.
  absl::StatusOr<StoreInfo> info = store->Info();
  if (!info.ok()) return ctx.StoreFailure(info.status());
  if (longest_key > info->max_key_size || largest_value > info->max_value_size) {
    std::string message =
        longest_key > info->max_key_size
            ? absl::StrCat(input, " has a key of ", longest_key,
                           " bytes but the store takes keys of up to ", info->max_key_size,
                           " bytes (--max-key)")
            : absl::StrCat(input, " has a value of ", largest_value,
                           " bytes but the store takes values of up to ", info->max_value_size,
                           " bytes (--max-value; small stores lower it)");
    if (create) {
      store.reset();
      (void)Store::Destroy(ctx.name());
      absl::StrAppend(&message,
                      "; nothing was loaded and the new store was removed: create it "
                      "with larger limits");
    } else {
      absl::StrAppend(&message,
                      "; nothing was loaded: load into a store created with larger limits");
    }
    return ctx.Fail(kExitStore, message);
  }
  uint64_t evictions_before = 0;
  if (absl::StatusOr<StoreStats> stats = store->Stats(); stats.ok()) {
    evictions_before = stats->evictions;
  }

  // Pass 2: store each record.
  uint64_t loaded = 0, expired = 0, index = 0;
  absl::Status status = ForEachRecord(file.get(), format, input, [&](const SnapshotRecord& record) {
    ++index;
    if (record.ttl_remaining_ms == 0) {
      ++expired;
      return absl::OkStatus();
    }
    WriteOptions options;
    options.flags = record.flags;
    options.ttl = record.ttl_remaining_ms < 0 ? absl::InfiniteDuration()
                                              : absl::Milliseconds(record.ttl_remaining_ms);
    absl::Status put = store->Put(record.key, record.value, options);
    if (!put.ok()) {
      return absl::Status(put.code(), absl::StrCat("entry ", index, " of ", total, " (key \"",
                                                   Quote(record.key), "\"): ", put.message()));
    }
    ++loaded;
    return absl::OkStatus();
  });
  if (!status.ok()) {
    return ctx.Fail(kExitStore, absl::StrCat(status.message(), "; loaded ", loaded, " of ", total,
                                             " entries before stopping"));
  }
  std::string summary = absl::StrCat("loaded ", Plural(loaded, "entry", "entries"), " from ", input,
                                     " (", format_name, ")");
  if (expired > 0) absl::StrAppend(&summary, "; skipped ", expired, " that had expired");
  ctx.Write(summary + "\n");
  if (absl::StatusOr<StoreStats> stats = store->Stats();
      stats.ok() && stats->evictions > evictions_before) {
    ctx.Warn(absl::StrCat("the store evicted ", stats->evictions - evictions_before,
                          " entries during the load because it is full; create it with a larger "
                          "--capacity to keep them all"));
  }
  return ctx.Finish();
}

}  // namespace kvcli
}  // namespace shmkv
