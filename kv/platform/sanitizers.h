// Which sanitizer this translation unit is built with, for the few places
// that must behave differently under one (each says why).
#ifndef SHMKV_KV_PLATFORM_SANITIZERS_H_
#define SHMKV_KV_PLATFORM_SANITIZERS_H_

// SHMKV_TSAN: 1 under ThreadSanitizer (clang's or gcc's), else 0.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHMKV_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(SHMKV_TSAN)
#define SHMKV_TSAN 1
#endif
#ifndef SHMKV_TSAN
#define SHMKV_TSAN 0
#endif

#endif  // SHMKV_KV_PLATFORM_SANITIZERS_H_
