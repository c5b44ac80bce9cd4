// absl::Status to JavaScript errors: ShmkvError subclasses (index.js) with a
// stable `code`, and the TypeError/RangeError of a bad argument.
#ifndef SHMKV_KV_NODE_ERRORS_H_
#define SHMKV_KV_NODE_ERRORS_H_

#include <napi.h>

#include <string>

#include "absl/status/status.h"

namespace shmkv::node {

// What a call was doing: the same code means another error when opening
// (FailedPrecondition: not a store), incrementing (not a number) or talking
// to Redis (Unavailable: Redis cannot be reached, not a lock timeout).
enum class Context { kEntry, kOpen, kIncrement, kRedis };

// The stable code of a status, e.g. "ERR_SHMKV_STORE_FULL".
const char* ErrorCode(const absl::Status& status, Context context = Context::kEntry);

// Remembers index.js's factory: makeError(code, message) -> ShmkvError.
void SetErrorFactory(const Napi::Env& env, const Napi::Function& factory);
// setErrorFactory(makeError), as each addon exports it.
Napi::Value SetErrorFactoryJs(const Napi::CallbackInfo& info);

// The ShmkvError for `status` (not OK), as a value (to reject a promise).
Napi::Value ErrorValue(const Napi::Env& env, const absl::Status& status,
                       Context context = Context::kEntry);
// The ShmkvError for a code and message of the module's own.
Napi::Value ErrorValue(const Napi::Env& env, const char* code, const std::string& message);

// Throw those errors (as C++ exceptions node-addon-api turns into JS throws).
[[noreturn]] void Throw(const Napi::Env& env, const absl::Status& status,
                        Context context = Context::kEntry);
[[noreturn]] void ThrowType(const Napi::Env& env, const std::string& message);
[[noreturn]] void ThrowRange(const Napi::Env& env, const std::string& message);

}  // namespace shmkv::node

#endif  // SHMKV_KV_NODE_ERRORS_H_
