// golden_writer: writes a trace that holds every event type, on two threads.
// traces/golden-v1.gstrace was made with it:
//   build/tests/tracer/golden_writer traces/golden-v1.gstrace
// golden_test.cpp checks that file's counts; a new major version of the
// format gets a new golden file next to the old one, never a rewrite.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <thread>

#include "greenscope/runtime.h"
#include "every_wait.h"
#include "greenscope/tracer.h"

using namespace std::chrono_literals;

namespace {

void waits_of_every_kind() {
  gs::test::run_every_wait([](gs::test::EveryWait& w) {
    w.greenlets[2].set_name("pipe-reader");
    auto failing = gs::spawn([]() -> int { throw std::runtime_error("golden failure"); });
    auto killed = gs::spawn([] { gs::sleep(10s); });
    auto never = gs::spawn([] {});
    never.kill();
    gs::yield();
    killed.kill();
    failing.join();
  });
}

void callbacks_jobs_signals_children() {
  gs::get_hub().run_callback([] {});
  std::thread([] { gs::get_hub(); }).join();
  gs::get_hub().run_callback_threadsafe([] {});
  gs::run_in_thread([] { return 1; });
  gs::Event got;
  auto handler = gs::signal_handler(SIGUSR1, [&] { got.set(); });
  ::kill(::getpid(), SIGUSR1);
  got.wait(5s);
  gs::Subprocess child({"true"});
  child.wait(5s);
}

void patched_calls() {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  gs::patch_all();
  auto reader = gs::spawn([&] {
    char c;
    if (::read(fds[0], &c, 1) != 1) throw std::runtime_error("read");
  });
  gs::sleep(1ms);
  if (::write(fds[1], "x", 1) != 1) throw std::runtime_error("write");
  reader.join();
  ::usleep(500);
  gs::unpatch_all();
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: golden_writer OUT.gstrace\n");
    return 2;
  }
  gs::get_hub().set_error_handler([](const gs::ErrorReport&) {});
  std::string error;
  if (!gs::trace::start({.path = argv[1]}, &error)) {
    std::fprintf(stderr, "golden_writer: %s\n", error.c_str());
    return 1;
  }
  waits_of_every_kind();
  callbacks_jobs_signals_children();
  patched_calls();
  std::thread second([] {
    auto g = gs::spawn([] { gs::sleep(1ms); });
    g.set_name("second-thread-greenlet");
    g.join();
  });
  second.join();
  const gs::trace::Stats s = gs::trace::stop();
  std::printf("golden_writer: %llu events, %llu dropped, %llu bytes\n", static_cast<unsigned long long>(s.events),
              static_cast<unsigned long long>(s.dropped), static_cast<unsigned long long>(s.bytes));
  return 0;
}
