// every_wait.h: a workload with one greenlet per kind of wait, shared by
// the round-trip test and golden_writer (which made traces/golden-v1).
#pragma once

#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "greenscope/runtime.h"

namespace gs::test {

// EveryWait's greenlets, in this order: yield, sleep, read on a pipe
// (read_fd), Event, Lock, Queue, join (of the sleeper), and a Timeout that
// expires.
struct EveryWait {
  std::vector<GreenletRef> greenlets;
  int read_fd = -1;
};

// run_every_wait() spawns them, lets them all block, releases each, and
// joins them. `while_blocked` runs once they are all waiting.
template <class F>
EveryWait run_every_wait(F&& while_blocked) {
  using namespace std::chrono_literals;
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe() failed");
  gs::Event ev;
  gs::Lock lock;
  gs::Queue<int> q;
  lock.acquire();
  auto sleeper = gs::spawn([] { gs::sleep(1ms); });
  EveryWait w;
  w.read_fd = fds[0];
  w.greenlets = {
      gs::spawn([] { gs::yield(); }),
      sleeper,
      gs::spawn([&] { gs::wait_read(fds[0]); }),
      gs::spawn([&] { ev.wait(); }),
      gs::spawn([&] { lock.acquire(); lock.release(); }),
      gs::spawn([&] { q.get(); }),
      gs::spawn([&] { sleeper.join(); }),
      gs::spawn([] {
        try {
          gs::Timeout timeout(1ms);
          gs::sleep(10s);
        } catch (const gs::TimeoutError&) {
        }
      }),
  };
  gs::sleep(3ms);
  while_blocked(w);
  if (::write(fds[1], "x", 1) != 1) throw std::runtime_error("write() failed");
  ev.set();
  lock.release();
  q.put(1);
  gs::joinall(w.greenlets);
  ::close(fds[0]);
  ::close(fds[1]);
  return w;
}

}  // namespace gs::test
