// One client thread of a run: the measured loop.
#ifndef SHMKV_BENCH_ENGINE_CLIENT_THREAD_H_
#define SHMKV_BENCH_ENGINE_CLIENT_THREAD_H_

#include <cstdint>

#include "bench/engine/backend.h"
#include "bench/engine/keys_values.h"
#include "bench/engine/run_control.h"

namespace shmkv {
namespace bench {

// Connects a Client, reports ready on the gate and waits for the go, then
// runs operations until the phase is kStop or, once measuring, `quota`
// operations are done; records what it measured in `slot`.
void RunClientThread(Backend* backend, const Workload& workload, Control* ctl, const Gates* gates,
                     ThreadSlot* slot, uint64_t seed, uint64_t quota);

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_CLIENT_THREAD_H_
