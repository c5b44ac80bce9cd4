// LMDB peer: one environment on /dev/shm (a RAM file system, like shmkv's
// segment), opened by every client process after the fork, configured the
// way LMDB's documentation recommends for a cache that need not survive a
// crash: MDB_NOSYNC | MDB_NOMETASYNC (no fsync/msync), MDB_WRITEMAP (writes
// go straight to the map, no write() calls), MDB_NOTLS (read transactions
// are not tied to a thread's reader slot). Each client thread keeps one read
// transaction and reuses it with mdb_txn_reset/mdb_txn_renew; every Put is
// its own write transaction (LMDB allows one writer at a time, host-wide).
// With --batch, a request's gets share one read transaction and its puts
// one write transaction.
// LMDB never evicts: the map is sized to hold every key.
#include <lmdb.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/engine/workload.h"

namespace shmkv {
namespace bench {
namespace {

absl::Status LmdbError(absl::string_view what, int rc) {
  return absl::InternalError(absl::StrCat(what, ": ", mdb_strerror(rc)));
}

class LmdbClient final : public Client {
 public:
  LmdbClient(MDB_env* env, MDB_dbi dbi, MDB_txn* read_txn)
      : env_(env), dbi_(dbi), read_(read_txn) {}
  ~LmdbClient() override { mdb_txn_abort(read_); }

  OpResult Get(absl::string_view key, std::string* value) override {
    int rc = mdb_txn_renew(read_);
    if (rc != 0) return Error("mdb_txn_renew", rc);
    const OpResult result = Lookup(key, value);
    mdb_txn_reset(read_);
    return result;
  }

  // All the keys in one read transaction.
  void GetBatch(absl::Span<const absl::string_view> keys, absl::Span<OpResult> results) override {
    if (values_.size() < keys.size()) values_.resize(keys.size());
    int rc = mdb_txn_renew(read_);
    if (rc != 0) {
      std::fill(results.begin(), results.end(), Error("mdb_txn_renew", rc));
      return;
    }
    for (size_t i = 0; i < keys.size(); ++i) results[i] = Lookup(keys[i], &values_[i]);
    mdb_txn_reset(read_);
  }

  OpResult Put(absl::string_view key, absl::string_view value) override {
    OpResult result;
    PutBatch({key}, {value}, absl::Span<OpResult>(&result, 1));
    return result;
  }

  // All the puts in one write transaction: all written, or none.
  void PutBatch(absl::Span<const absl::string_view> keys,
                absl::Span<const absl::string_view> values, absl::Span<OpResult> results) override {
    MDB_txn* txn;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc != 0) {
      std::fill(results.begin(), results.end(), Error("mdb_txn_begin", rc));
      return;
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      MDB_val k{keys[i].size(), const_cast<char*>(keys[i].data())};
      MDB_val v{values[i].size(), const_cast<char*>(values[i].data())};
      rc = mdb_put(txn, dbi_, &k, &v, 0);
      if (rc != 0) {
        mdb_txn_abort(txn);
        std::fill(results.begin(), results.end(), Error("mdb_put", rc));
        return;
      }
    }
    rc = mdb_txn_commit(txn);
    std::fill(results.begin(), results.end(),
              rc == 0 ? OpResult::kOk : Error("mdb_txn_commit", rc));
  }

  std::string LastError() const override { return error_; }

 private:
  OpResult Error(const char* what, int rc) {
    error_ = absl::StrCat(what, ": ", mdb_strerror(rc));
    return OpResult::kError;
  }
  // One get in the renewed read transaction.
  OpResult Lookup(absl::string_view key, std::string* value) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v;
    const int rc = mdb_get(read_, dbi_, &k, &v);
    if (rc == 0) {
      value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
      return OpResult::kHit;
    }
    return rc == MDB_NOTFOUND ? OpResult::kMiss : Error("mdb_get", rc);
  }

  MDB_env* env_;
  MDB_dbi dbi_;
  MDB_txn* read_;
  std::string error_;
  std::vector<std::string> values_;  // GetBatch's values, reused
};

class LmdbBackend final : public Backend {
 public:
  explicit LmdbBackend(std::string dir, uint64_t map_size)
      : dir_(std::move(dir)), map_size_(map_size) {}
  std::string Name() const override { return "lmdb"; }

  absl::Status Create(const WorkloadConfig& config) override {
    if (dir_.empty()) {
      const char* base = access("/dev/shm", W_OK) == 0
                             ? "/dev/shm"
                             : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
      std::string templ = absl::StrCat(base, "/shmkv-bench-lmdb.XXXXXX");
      if (mkdtemp(templ.data()) == nullptr) {
        return absl::InternalError(absl::StrCat("mkdtemp ", templ, ": ", std::strerror(errno)));
      }
      dir_ = templ;
      owned_ = true;
    }
    if (map_size_ == 0) {
      // B-tree pages are half full at worst, values over ~2 KB take whole
      // overflow pages, and copy-on-write needs free pages: 4x the data.
      const double worst_value =
          config.value_max > 2000 ? 4096.0 + 64 : config.MeanValueSize() + 64;
      map_size_ = static_cast<uint64_t>(config.keys * (config.key_size + worst_value) * 2.5) +
                  (uint64_t{256} << 20);
      map_size_ = (map_size_ + 4095) / 4096 * 4096;
    }
    max_readers_ = static_cast<unsigned>(config.procs * config.threads + 16);
    return absl::OkStatus();
  }

  absl::Status Attach() override {
    int rc = mdb_env_create(&env_);
    if (rc != 0) return LmdbError("mdb_env_create", rc);
    if ((rc = mdb_env_set_mapsize(env_, map_size_)) != 0) return Fail("mdb_env_set_mapsize", rc);
    if ((rc = mdb_env_set_maxreaders(env_, max_readers_)) != 0)
      return Fail("mdb_env_set_maxreaders", rc);
    rc = mdb_env_open(env_, dir_.c_str(), MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP | MDB_NOTLS,
                      0600);
    if (rc != 0) return Fail(absl::StrCat("mdb_env_open ", dir_), rc);
    MDB_txn* txn;
    if ((rc = mdb_txn_begin(env_, nullptr, 0, &txn)) != 0) return Fail("mdb_txn_begin", rc);
    if ((rc = mdb_dbi_open(txn, nullptr, 0, &dbi_)) != 0) {
      mdb_txn_abort(txn);
      return Fail("mdb_dbi_open", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0) return Fail("mdb_txn_commit", rc);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    MDB_txn* read;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read);
    if (rc != 0) return LmdbError("mdb_txn_begin(read)", rc);
    mdb_txn_reset(read);
    return std::unique_ptr<Client>(new LmdbClient(env_, dbi_, read));
  }

  // Bulk load: 10,000 puts per write transaction.
  absl::Status Preload(const Workload& w, const ProgressFn& progress) override {
    const uint64_t n = w.num_keys();
    KeyBuffer key_buffer(w.config());
    for (uint64_t i = 0; i < n;) {
      MDB_txn* txn;
      int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
      if (rc != 0) return LmdbError("mdb_txn_begin", rc);
      for (uint64_t end = std::min(n, i + 10000); i < end; ++i) {
        const absl::string_view key = key_buffer.Of(i), value = w.Value(w.PreloadValueSize(i));
        MDB_val k{key.size(), const_cast<char*>(key.data())};
        MDB_val v{value.size(), const_cast<char*>(value.data())};
        if ((rc = mdb_put(txn, dbi_, &k, &v, 0)) != 0) {
          mdb_txn_abort(txn);
          return LmdbError("mdb_put", rc);
        }
      }
      if ((rc = mdb_txn_commit(txn)) != 0) return LmdbError("mdb_txn_commit", rc);
      if (!progress(i, n)) return absl::CancelledError("interrupted");
    }
    return absl::OkStatus();
  }

  void Detach() override {
    if (env_ != nullptr) mdb_env_close(env_);
    env_ = nullptr;
  }

  void Describe(std::vector<std::pair<std::string, std::string>>* fields) override {
    fields->emplace_back("map_size", absl::StrCat(map_size_));
    struct stat st;
    if (stat((dir_ + "/data.mdb").c_str(), &st) == 0) {
      fields->emplace_back("data_file_bytes_allocated",
                           absl::StrCat(static_cast<uint64_t>(st.st_blocks) * 512));
    }
  }

  void Destroy() override {
    Detach();
    if (!owned_) return;
    unlink((dir_ + "/data.mdb").c_str());
    unlink((dir_ + "/lock.mdb").c_str());
    rmdir(dir_.c_str());
    owned_ = false;
  }

 private:
  absl::Status Fail(const std::string& what, int rc) {
    mdb_env_close(env_);
    env_ = nullptr;
    return LmdbError(what, rc);
  }
  std::string dir_;
  bool owned_ = false;
  uint64_t map_size_;
  unsigned max_readers_ = 126;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
};

}  // namespace
}  // namespace bench
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv::bench;
  std::string dir;
  uint64_t map_size = 0;
  return DriverMain(
      argc, argv, "lmdb_bench",
      "LMDB peer: one env (default: a fresh directory on /dev/shm, removed at the end)\n"
      "opened by every client process; NOSYNC|NOMETASYNC|WRITEMAP|NOTLS.",
      WorkloadConfig(),
      [&](FlagSet* flags, WorkloadConfig*) {
        flags->String("dir", "DIR", "use this existing, empty directory (kept at the end)", &dir);
        flags->ByteSize("map-size", "LMDB map size (default: sized from the workload)", &map_size);
      },
      [&](const WorkloadConfig& config) {
        LmdbBackend backend(dir, map_size);
        return RunBenchmark(&backend, config);
      });
}
