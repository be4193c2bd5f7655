// hook_support.h: what every hook shares (recorder.cpp, extension_events.cpp):
// admission into a session (HookScope), interned strings, and the event
// encoders' small pieces.
#pragma once

#include <algorithm>
#include <cstring>
#include <string_view>

#include "registry.h"
#include "session.h"

namespace gs::trace::detail {

namespace tf = trace_format;

// HookScope admits a hook while a session records (see session.cpp).
class HookScope {
 public:
  HookScope() : s_(current_stream()) {
    if (s_ == nullptr) [[unlikely]] return;
    s_->in_hook.store(1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // stop() pairs it with membarrier()
    // Acquire (a plain load on x86): a session started on another thread
    // (the toggle thread) reset this stream there before turning recording
    // on, and the hook must see that reset (TSan, a signal-toggled session).
    if (!g_recording.load(std::memory_order_acquire)) [[unlikely]] {
      s_->in_hook.store(0, std::memory_order_release);
      s_ = nullptr;
    }
  }
  ~HookScope() {
    if (s_ != nullptr) s_->in_hook.store(0, std::memory_order_release);
  }
  HookScope(const HookScope&) = delete;
  HookScope& operator=(const HookScope&) = delete;
  explicit operator bool() const { return s_ != nullptr; }
  ThreadStream& stream() const { return *s_; }

 private:
  ThreadStream* s_;
};

constexpr std::size_t kV = tf::kMaxVarint;  // worst-case bytes of one varint

inline std::uint8_t tag(tf::Tag t) { return static_cast<std::uint8_t>(t); }

// put_string() writes `s` as an inline string, as given, but cut to
// kMaxInlineString bytes; a cut that would split a UTF-8 sequence moves
// back to its first byte, so a name that was UTF-8 stays UTF-8.
inline std::uint8_t* put_string(std::uint8_t* p, std::string_view s) {
  if (s.size() > tf::kMaxInlineString) [[unlikely]] {
    std::size_t n = tf::kMaxInlineString;
    for (int k = 0; k < 3 && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80; ++k) --n;
    s = s.substr(0, n);
  }
  p = tf::put_varint(p, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());  // an empty view's data() may be null
  return p + s.size();
}

inline std::size_t string_bytes(std::string_view s) { return kV + std::min(s.size(), tf::kMaxInlineString); }

// cache_string() is string_id()'s miss: intern (a lock) and remember.
[[gnu::cold]] [[gnu::noinline]] std::uint32_t cache_string(ThreadStream& s, const char* text, std::size_t slot);

// string_id() is the Strings id of a static text, through the thread's cache.
inline std::uint32_t string_id(ThreadStream& s, const char* text) {
  if (text == nullptr) return 0;
  const std::size_t slot = (reinterpret_cast<std::uintptr_t>(text) >> 3) % StringCache::kSlots;
  if (s.strings.key[slot] == text) [[likely]] return s.strings.id[slot];
  return cache_string(s, text, slot);
}

}  // namespace gs::trace::detail
