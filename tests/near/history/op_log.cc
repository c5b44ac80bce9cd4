#include "tests/near/history/op_log.h"

#include <time.h>

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace shmkv::history {

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string FormatOp(const Op& op) {
  return absl::StrCat(std::string(1, static_cast<char>(op.kind)), " ", op.process, " ", op.key, " ",
                      op.value, " ", op.ok ? 1 : 0, " ", op.start_ns, " ", op.end_ns, " ",
                      absl::StrReplaceAll(op.detail, {{"\n", " "}}));
}

absl::StatusOr<Op> ParseOp(absl::string_view line) {
  std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(' ', 7));
  Op op;
  int ok = 0;
  if (f.size() != 8 || f[0].size() != 1 || std::string("RWFX").find(f[0][0]) == std::string::npos ||
      !absl::SimpleAtoi(f[1], &op.process) || !absl::SimpleAtoi(f[4], &ok) ||
      !absl::SimpleAtoi(f[5], &op.start_ns) || !absl::SimpleAtoi(f[6], &op.end_ns)) {
    return absl::InvalidArgumentError(absl::StrCat("not an operation: \"", line, "\""));
  }
  op.kind = static_cast<OpKind>(f[0][0]);
  op.key = std::string(f[2]);
  op.value = std::string(f[3]);
  op.ok = ok != 0;
  op.detail = std::string(f[7]);
  return op;
}

OpLog::OpLog(const std::string& path) : file_(std::fopen(path.c_str(), "a")) {}

OpLog::~OpLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void OpLog::Append(const Op& op) {
  if (file_ != nullptr) std::fprintf(file_, "%s\n", FormatOp(op).c_str());
}

void OpLog::Flush() {
  if (file_ != nullptr) std::fflush(file_);
}

absl::StatusOr<std::vector<Op>> ReadOps(const std::vector<std::string>& paths) {
  std::vector<Op> ops;
  for (const std::string& path : paths) {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read the operation log ", path));
    std::string line;
    while (std::getline(in, line)) {
      absl::StatusOr<Op> op = ParseOp(line);
      if (!op.ok()) return absl::DataLossError(absl::StrCat(path, ": ", op.status().message()));
      ops.push_back(*std::move(op));
    }
  }
  return ops;
}

}  // namespace shmkv::history
