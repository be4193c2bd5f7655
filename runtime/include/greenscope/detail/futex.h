// futex.h: a thread sleeping on a 32-bit word until another wakes it, within
// this process. The stall monitor, the tracer's writer and gs-toggle sleep
// so: no fd in the program's table (a program may close what it did not
// open), and a wake is a raw syscall, safe in a signal handler.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace gs::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "a futex word");

// futex_wait() sleeps until futex_wake() on `word` or `timeout` has passed,
// unless `word` no longer holds `seen` (a wake came since it was read).
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t seen, std::chrono::microseconds timeout) {
  const timespec ts{static_cast<time_t>(timeout.count() / 1'000'000), static_cast<long>(timeout.count() % 1'000'000) * 1000};
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, seen, &ts, nullptr, 0);
}

// futex_wait() without a timeout sleeps until a wake.
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t seen) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
}

// futex_wake() wakes one thread sleeping on `word`; the caller changed the
// word first. It may change errno.
inline void futex_wake(std::atomic<std::uint32_t>& word) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace gs::detail
