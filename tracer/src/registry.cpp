// registry.cpp: the process-wide list of thread streams. A stream is created
// by a thread's first hook and retired when the thread exits: by a pthread
// key destructor, because glibc runs those after every C++ thread_local
// destructor, and the hub's (which reports its teardown) is one of those.
#include "registry.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "greenscope/detail/clock.h"

namespace gs::trace::detail {

std::mutex g_registry_mutex;

namespace {

std::vector<ThreadStream*>& streams() {
  static auto* list = new std::vector<ThreadStream*>();  // never destroyed: threads may outlive main
  return *list;
}
std::uint32_t g_next_index = 0;
BlockSource* g_block_source = nullptr;

pthread_key_t g_exit_key;

void on_thread_exit(void* p) {
  tls_stream = kRetiredStream;
  auto* stream = static_cast<ThreadStream*>(p);
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  if (g_block_source != nullptr) {
    stream->exited.store(true, std::memory_order_release);  // the writer ships and frees it
    return;
  }
  auto& list = streams();
  list.erase(std::remove(list.begin(), list.end(), stream), list.end());
  delete stream;
}

void create_exit_key() { pthread_key_create(&g_exit_key, &on_thread_exit); }

}  // namespace

thread_local ThreadStream* tls_stream [[gnu::tls_model("initial-exec")]] = nullptr;

ThreadStream* attach_stream() {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, &create_exit_key);
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  auto* s = new ThreadStream(g_next_index++, static_cast<std::int64_t>(::syscall(SYS_gettid)));
  char name[32] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  s->name = name;
  s->hook_ticks = gs::detail::hook_ticks_slot();
  streams().push_back(s);
  if (g_block_source != nullptr) g_block_source->top_up(*s);
  pthread_setspecific(g_exit_key, s);
  tls_stream = s;
  return s;
}

std::vector<ThreadStream*> registered_streams_locked() { return streams(); }

bool thread_index_of(std::int64_t tid, std::uint32_t* index) {
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  // The newest first: a tid the kernel reused belongs to the latest thread.
  const auto& list = streams();
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    ThreadStream* s = *it;
    if (s->os_tid() != tid || s->exited.load(std::memory_order_acquire)) continue;
    s->referenced.store(true, std::memory_order_release);
    *index = s->index();
    return true;
  }
  return false;
}

void set_block_source_locked(BlockSource* source) { g_block_source = source; }

void remove_streams_locked(const std::vector<ThreadStream*>& gone,
                           const std::function<void(ThreadStream&)>& before_delete) {
  auto& list = streams();
  for (ThreadStream* s : gone) {
    before_delete(*s);
    list.erase(std::remove(list.begin(), list.end(), s), list.end());
    delete s;
  }
}

void forget_streams_after_fork() {
  // The child has one thread; the other streams' threads do not exist in it.
  // Leak them rather than take a mutex some vanished thread may have held.
  new (&g_registry_mutex) std::mutex();
  streams().clear();
  g_block_source = nullptr;
  tls_stream = kRetiredStream;
}

}  // namespace gs::trace::detail
