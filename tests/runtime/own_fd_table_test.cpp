// own_fd_table_test.cpp: the stall monitor's threads keep fd tables of their
// own (greenscope/detail/own_fd_table.h): they hold no copy of the
// program's fds, still print to the program's stderr of the moment, run a
// callback the program gives them in the program's table, a close of a
// number of their own wakes no waiter of the program's, and a program that
// closes the fds it did not open gets nothing written by the monitor into
// the files it opens next.
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/stacks.h"
#include "greenscope/stall.h"
#include "greenscope/detail/own_fd_table.h"
#include "fd_table_support.h"
#include "test_support.h"
#include "unloaded_library.h"

namespace gs::test {
namespace {

using Clock = std::chrono::steady_clock;

class OwnFdTableTest : public RuntimeTest {
 protected:
  void TearDown() override {
    gs::stop_stall_monitor();
    gs::on_stall(nullptr);
    RuntimeTest::TearDown();
  }
  static void start(bool print) {
    StallOptions o;
    o.threshold = std::chrono::milliseconds(10);
    o.print = print;
    gs::start_stall_monitor(o);
  }
};

// link_of() is what /proc says fd `fd` of thread `tid` is ("socket:[123]").
std::string link_of(const std::string& task, const std::string& fd) {
  std::error_code ec;
  const auto target = std::filesystem::read_symlink(task + "/fd/" + fd, ec);
  return ec ? std::string() : target.string();
}

// file_text() is the file's whole text.
std::string file_text(const std::string& path) {
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  char buf[4096];
  for (ssize_t n; fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  if (fd >= 0) ::close(fd);
  return text;
}

// redirect_stderr() sends fd 2 to `path` until restore_stderr(): after the
// monitor's threads started, so that they must find it anew.
int redirect_stderr(const std::string& path) {
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::fflush(stderr);
  const int saved = ::dup(2);
  ::dup2(file, 2);
  ::close(file);
  return saved;
}

void restore_stderr(int saved) {
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
}

// wait_for_text() waits up to 10 s for `needle` in the file; its text.
std::string wait_for_text(const std::string& path, const std::string& needle) {
  std::string text;
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < give_up && text.find(needle) == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    text = file_text(path);
  }
  return text;
}

// spin_on_the_hub() keeps the hub busy in a greenlet for `d`: a stall.
void spin_on_the_hub(std::chrono::milliseconds d) {
  auto g = gs::spawn([d] {
    const auto end = Clock::now() + d;
    while (Clock::now() < end) asm volatile("" ::: "memory");
  });
  g.join();
}

TEST_F(OwnFdTableTest, TheMonitorsThreadsHoldNoCopyOfTheProgramsFds) {
#if defined(GS_SANITIZE_THREAD)
  GTEST_SKIP() << "under TSan greenscope's threads share the program's fd table (own_fd_table.cpp says why)";
#endif
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  const std::string socket = link_of("/proc/thread-self", std::to_string(pair[0]));
  ASSERT_NE(socket.find("socket:"), std::string::npos) << socket;
  start(/*print=*/false);  // no report borrows the program's stderr meanwhile
  // Each thread leaves the table as it starts: wait until both have.
  const auto own_only = [&](const std::set<std::string>& links) { return links.count(socket) == 0; };
  std::set<std::string> monitor, reporter;
  const bool found =
      settled_thread_fd_links("gs-monitor", monitor, own_only) && settled_thread_fd_links("gs-reporter", reporter, own_only);
  ASSERT_TRUE(found) << "no gs-monitor or gs-reporter thread";
  EXPECT_EQ(monitor.count(socket), 0u) << "the monitor's thread holds a copy of the program's socket";
  EXPECT_EQ(reporter.count(socket), 0u) << "the reporter's thread holds a copy of the program's socket";
  // What they do hold: a pidfd each, /dev/null at 0-2, and /proc files the
  // monitor reads now and then.
  for (const auto* table : {&monitor, &reporter}) {
    for (const std::string& link : *table)
      EXPECT_TRUE(link.rfind("anon_inode:", 0) == 0 || link.rfind("/proc/", 0) == 0 || link == "/dev/null") << link;
  }
  // So the program's close is a close: the peer sees the end.
  ::close(pair[0]);
  char c;
  EXPECT_EQ(::recv(pair[1], &c, 1, MSG_DONTWAIT), 0);
  ::close(pair[1]);
}

// open_fds() is every fd number of the program's table but the one it
// reads the table through.
std::set<int> open_fds() {
  std::set<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  for (const dirent* e; (e = ::readdir(dir)) != nullptr;) {
    if (e->d_name[0] != '.' && std::atoi(e->d_name) != ::dirfd(dir)) fds.insert(std::atoi(e->d_name));
  }
  ::closedir(dir);
  return fds;
}

// A daemon closes every fd it did not open (close_range(3, ~0U)) and opens
// files of its own at the numbers that frees. Greenscope must write nothing
// into them, and its monitor must go on working: it used to wake its thread
// through an eventfd in the program's table, and wrote eight bytes into
// whatever the program had opened at its number.
TEST_F(OwnFdTableTest, AProgramThatClosesTheFdsItDidNotOpenGetsNothingWrittenIntoItsNextFiles) {
#if defined(GS_SANITIZE_THREAD)
  GTEST_SKIP() << "under TSan greenscope's threads share the program's fd table (own_fd_table.cpp says why)";
#endif
  const std::set<int> before = open_fds();  // the hub's among them: it exists (RuntimeTest)
  int pipe_ends[2];
  ASSERT_EQ(::pipe2(pipe_ends, O_CLOEXEC | O_NONBLOCK), 0);
  start(/*print=*/false);
  // Each thread leaves the program's table as it starts, holding the
  // program's files until then: wait until both have.
  const std::string pipe_link = link_of("/proc/thread-self", std::to_string(pipe_ends[1]));
  const auto own_only = [&](const std::set<std::string>& links) { return links.count(pipe_link) == 0; };
  std::set<std::string> monitor, reporter;
  ASSERT_TRUE(settled_thread_fd_links("gs-monitor", monitor, own_only) &&
              settled_thread_fd_links("gs-reporter", reporter, own_only))
      << "no gs-monitor or gs-reporter thread";
  // What greenscope still keeps in the program's table the daemon closes,
  // and its pipe takes each number. libunwind's two memory-validation pipes
  // (made by init_unwinding() on the thread that starts the monitor) are
  // left alone: they are libunwind's own and still in the program's table,
  // a problem of their own that this test does not cover.
  std::vector<int> taken;
  for (const int fd : open_fds()) {
    if (before.count(fd) != 0 || fd == pipe_ends[0] || fd == pipe_ends[1]) continue;
    if (link_of("/proc/self", std::to_string(fd)).rfind("pipe:", 0) == 0) continue;
    if (::dup3(pipe_ends[1], fd, O_CLOEXEC) == fd) taken.push_back(fd);
  }
  std::atomic<bool> reported{false};
  gs::on_stall([&reported](const StallReport& r) {
    if (r.ended) reported.store(true);
  });
  start(/*print=*/false);  // a start while it runs wakes the monitor
  spin_on_the_hub(std::chrono::milliseconds(60));
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  while (!reported.load() && Clock::now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(reported.load()) << "the monitor stopped reporting after the program closed the fds it did not open";
  gs::stop_stall_monitor();
  char buf[64];
  const ssize_t n = ::read(pipe_ends[0], buf, sizeof buf);
  EXPECT_EQ(n, -1) << "greenscope wrote " << n << " bytes into the program's pipe";
  for (const int fd : taken) ::close(fd);
  ::close(pipe_ends[0]);
  ::close(pipe_ends[1]);
}

TEST_F(OwnFdTableTest, PrintedReportsGoToWhereverTheProgramsStderrIsNow) {
  start(/*print=*/true);
  // Redirect stderr after the monitor's threads have started.
  const std::string path = testing::TempDir() + "own_fd_table_stderr.txt";
  const int saved = redirect_stderr(path);
  spin_on_the_hub(std::chrono::milliseconds(60));
  const std::string text = wait_for_text(path, "greenscope: stall: ");
  gs::stop_stall_monitor();  // nothing more printed into the file
  restore_stderr(saved);
  // The report itself: its stack needs a sample, which a loaded machine may
  // not take in time (the hub then reports the stall itself, unsampled).
  EXPECT_NE(text.find("greenscope: stall: "), std::string::npos) << "not printed to the redirected stderr: " << text;
}

TEST_F(OwnFdTableTest, AnOnStallCallbackMayWriteToAnFdTheProgramOpenedAfterTheMonitorStarted) {
  start(/*print=*/false);  // the reporter starts with a table of its own
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  const int w = p[1];
  gs::on_stall([w](const StallReport& r) {
    if (r.ended) [[maybe_unused]] ssize_t n = ::write(w, "s", 1);
  });
  spin_on_the_hub(std::chrono::milliseconds(60));
  pollfd pf{p[0], POLLIN, 0};
  ASSERT_EQ(::poll(&pf, 1, 10'000), 1) << "the callback's write to the program's pipe never came";
  char c = 0;
  EXPECT_EQ(::read(p[0], &c, 1), 1);
  EXPECT_EQ(c, 's');
  gs::stop_stall_monitor();
  ::close(p[0]);
  ::close(p[1]);
}

TEST_F(OwnFdTableTest, AThreadWithItsOwnTableClosingANumberWakesNoWaiterOfTheProgramsOnIt) {
#if defined(GS_SANITIZE_THREAD)
  GTEST_SKIP() << "under TSan greenscope's threads share the program's fd table (own_fd_table.cpp says why)";
#endif
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  const int number = 200;  // the program's pipe at a number the thread will use too
  ASSERT_EQ(::dup3(p[0], number, O_CLOEXEC), number);
  ::close(p[0]);
  std::string error;
  auto waiter = gs::spawn([&error] {
    try {
      gs::wait_read(number);
    } catch (const gs::IoError& e) {
      error = e.what();
    }
  });
  gs::sleep(std::chrono::milliseconds(1));  // the waiter's watcher is in epoll (see IoWaitTest)
  bool left = false;
  std::thread own([&left] {
    left = gs::detail::leave_program_fds({});
    if (!left) return;
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::syscall(SYS_dup3, null, number, O_CLOEXEC);
    ::syscall(SYS_close, null);
    ::close(number);  // the runtime's close(): its own number, not the program's
  });
  own.join();
  ASSERT_TRUE(left) << "the thread could not leave the program's fd table";
  ASSERT_EQ(::write(p[1], "x", 1), 1);
  waiter.join();
  EXPECT_EQ(error, "") << "the program's waiter was woken by the thread's close";
  ::close(number);
  ::close(p[1]);
}

// A thread's own files must never take number 2: ProgramStderr puts the
// program's stderr there for a moment, which would close such a file (a
// symbolizer's cached module) under it.
TEST_F(OwnFdTableTest, AThreadWithItsOwnTableOpensItsFilesAboveTheStandardNumbers) {
#if defined(GS_SANITIZE_THREAD)
  GTEST_SKIP() << "under TSan greenscope's threads share the program's fd table (own_fd_table.cpp says why)";
#endif
  bool left = false;
  int first = -1, during = -1, after = -1;
  std::string stderr_during, stderr_after;
  std::thread own([&] {
    left = gs::detail::leave_program_fds({});
    if (!left) return;
    first = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    {
      const gs::detail::ProgramStderr err;
      during = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
      stderr_during = link_of("/proc/thread-self", "2");
    }
    after = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    stderr_after = link_of("/proc/thread-self", "2");
    for (const int fd : {first, during, after}) ::syscall(SYS_close, fd);
  });
  own.join();
  ASSERT_TRUE(left) << "the thread could not leave the program's fd table";
  EXPECT_GT(first, 2);
  EXPECT_GT(during, 2);
  EXPECT_GT(after, 2);
  EXPECT_EQ(stderr_during, link_of("/proc/thread-self", "2"));  // the program's stderr, borrowed
  EXPECT_EQ(stderr_after, "/dev/null");                         // held again, not left free
}

// libdw keeps each module's file open in the table of the thread that built
// the Symbolizer, and closes those numbers in the table of whoever drops it
// last. The reporter's must stay its own: the process's shared one, built
// there and dropped by a program's thread when a library loaded, closed the
// program's fds of the same (low) numbers.
TEST_F(OwnFdTableTest, TheReportersSymbolizerNeverClosesTheProgramsFds) {
  const std::string library = unloaded_library();
  if (library.empty()) GTEST_SKIP() << "no system library left to load";
  const ProgramPipes program(32);  // low numbers, where the reporter's own files go too
  ASSERT_EQ(program.size(), 64u);
  const std::string path = testing::TempDir() + "own_fd_table_symbolizer.txt";
  const int saved = redirect_stderr(path);
  start(/*print=*/true);
  spin_on_the_hub(std::chrono::milliseconds(60));
  const std::string text = wait_for_text(path, "greenscope: stall: ");  // symbolized on the reporter
  gs::stop_stall_monitor();
  restore_stderr(saved);
  ASSERT_NE(text.find("greenscope: stall: "), std::string::npos) << "no report printed: " << text;
  void* loaded = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(loaded, nullptr) << ::dlerror();
  // A program's thread symbolizes after the load: a fresh Symbolizer, the
  // old one dropped here.
  EXPECT_NE(gs::format_stack(gs::current_stack()), "");
  EXPECT_EQ(program.closed_under_us(), std::vector<int>{}) << "the program's fds closed under it";
  ::dlclose(loaded);
}

}  // namespace
}  // namespace gs::test
