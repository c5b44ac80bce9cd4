// The time source behind TTLs. Tests substitute a ManualClock so that expiry
// can be tested without sleeping.
#ifndef SHMKV_KV_CLOCK_H_
#define SHMKV_KV_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace shmkv {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch. Shared entries store absolute expiry
  // times, so every process of a store must use compatible clocks.
  virtual int64_t NowMillis() const = 0;
};

// CLOCK_REALTIME through the vDSO: no system call.
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  static const SystemClock* Get();
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_millis) : now_(now_millis) {}
  int64_t NowMillis() const override { return now_.load(std::memory_order_relaxed); }
  void Set(int64_t now_millis) { now_.store(now_millis, std::memory_order_relaxed); }
  void Advance(int64_t millis) { now_.fetch_add(millis, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace shmkv

#endif  // SHMKV_KV_CLOCK_H_
