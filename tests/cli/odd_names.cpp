// odd_names: a traced program whose greenlets, thread, arguments and
// errors carry every kind of text a terminal or a JSON parser could choke
// on: escape sequences (title, clear screen, colours), BEL, CR, backspace,
// NUL, bytes that are not UTF-8, C1 controls, and a name longer than the
// trace keeps, cut inside a character. cli_names_tests records it with
// GREENSCOPE_TRACE and reads it with every command of the real CLI.
#include <pthread.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stacks.h"

namespace {

using namespace std::chrono_literals;

std::vector<std::string> odd_names() {
  std::string long_name;
  for (int i = 0; i < 1000; ++i) long_name += "\xe2\x82\xac";  // "€" x 1000: 3000 bytes, cut at 2048
  return {
      "title\x1b]0;pwned\x07",         // OSC: rewrites the window title, BEL ends it
      "clear\x1b[2J\x1b[H",            // erases the screen
      "cr\rback\b\bspace",             // overwrites what was printed
      std::string("nul\0after", 9),    // an embedded NUL
      "bad\xff\xfe utf8 \xc0\xaf",     // not UTF-8, an overlong '/'
      "c1\xc2\x9b" "31m",              // U+009B: a one-character CSI
      "tab\tnew\nline",
      long_name,
  };
}

void spin(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}

}  // namespace

int main() {
  pthread_setname_np(pthread_self(), "main\x1b[31m");
  gs::get_hub().set_error_handler([](const gs::ErrorReport&) {});  // the failure is the trace's to show
  std::vector<gs::GreenletRef> greenlets;
  gs::Event release;  // every greenlet waits on it, so each has a wait stack and is in the dump
  for (const std::string& name : odd_names()) {
    auto g = gs::spawn([&] { release.wait(); });
    g.set_name(name);
    greenlets.push_back(g);
  }
  auto plain = gs::spawn([&] { release.wait(); });
  plain.set_name("plain");
  greenlets.push_back(plain);
  auto failing = gs::spawn([&] {
    release.wait();
    throw std::runtime_error("boom\x1b[2J\r\xff");
  });
  failing.set_name("fails\x1b[31m");
  greenlets.push_back(failing);
  // A stall: its culprit is named. 1.5 s, so that it stays the longest stall
  // on a loaded machine under a sanitizer: the main greenlet's start-up held
  // the thread 65 ms under TSan, and the dump below 446 ms under ASan (its
  // first symbolization in this thread's fd table, which builds a
  // Symbolizer; the tracer's own is in its threads' table).
  auto staller = gs::spawn([] { spin(1500ms); });
  staller.set_name("stall\x1b[5m\xff");
  greenlets.push_back(staller);
  std::thread worker([] {
    pthread_setname_np(pthread_self(), "worker\x07");
    auto g = gs::spawn([] { gs::sleep(1ms); });
    g.set_name("on worker\x1b[7m");
    g.join();
  });
  gs::yield();  // every greenlet runs to its wait; the staller stalls
  gs::dump_run_info("odd\x1b[2J trigger");
  release.set();
  gs::joinall(greenlets);
  worker.join();
  return 0;
}
