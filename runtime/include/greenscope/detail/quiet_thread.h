// quiet_thread.h: threads of greenscope's own (the stall monitor and its
// reporter, the tracer's writer, symbolizer and toggle threads) start with
// asynchronous signals blocked, so that a signal sent to the process reaches
// the program's threads, never ours.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace gs::detail {

// async_signals() is every signal but the faults, which cannot be blocked
// usefully (a blocked SIGSEGV kills the process) and must reach the crash
// handler on whatever thread faults.
inline sigset_t async_signals() {
  sigset_t set;
  sigfillset(&set);
  for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&set, s);
  return set;
}

// quiet_thread() starts `f` on a new thread whose signal mask blocks
// async_signals() from its first instruction (it inherits the mask this
// thread has while creating it). Why: a process-directed signal goes to any
// thread that does not block it. One of ours waits in calls that a signal
// does not wake usefully (a futex, under ThreadSanitizer any call it does not
// intercept: TSan then holds the handler until that thread's next
// intercepted call, which may never come). A GREENSCOPE_TRACE_SIGNAL toggle
// was lost that way.
template <class F>
std::thread quiet_thread(F&& f) {
  const sigset_t block = async_signals();
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &block, &old);
  std::thread t(std::forward<F>(f));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

}  // namespace gs::detail
