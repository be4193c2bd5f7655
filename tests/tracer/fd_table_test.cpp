// fd_table_test.cpp: the tracer's writer and symbolizer threads keep fd
// tables of their own (greenscope/detail/own_fd_table.h). The writer holds
// the trace file there, and the program's table no longer does: nothing of
// the program's is held open by them, and a forked child lets go of no
// number of its own for the parent's trace.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stacks.h"
#include "test_support.h"
#include "trace_test_support.h"
#include "unloaded_library.h"

namespace gs::test {
namespace {

using Clock = std::chrono::steady_clock;

class TracerFdTableTest : public RuntimeTest {
 protected:
  void TearDown() override {
    trace::stop();
    RuntimeTest::TearDown();
  }
};

// links_in() is every fd of the table at `fd_dir` (a /proc .../fd folder),
// as the links /proc shows ("socket:[123]", a path).
std::set<std::string> links_in(const std::filesystem::path& fd_dir) {
  std::set<std::string> links;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(fd_dir, ec)) {
    const auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec) links.insert(target.string());
  }
  return links;
}

// thread_table() is the fds of the first thread named `name` (false: none).
bool thread_table(const std::string& name, std::set<std::string>& links) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string n;
    std::getline(comm, n);
    if (n != name) continue;
    links = links_in(task.path() / "fd");
    return true;
  }
  return false;
}

// wait_for_table() waits up to 10 s for thread `name` to exist and its
// table to satisfy `done`: it leaves the program's table as it starts. The
// table must read the same twice running: a read while the thread closes
// its copy is torn (fd 1 read before the close, the socket's link gone
// when read), which looked like a table holding the program's stdout.
template <class F>
bool wait_for_table(const std::string& name, std::set<std::string>& links, F&& done) {
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  bool found = false;
  std::set<std::string> previous;
  do {
    previous = links;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    found = thread_table(name, links);
  } while (Clock::now() < give_up && !(found && links == previous && done(links)));
  return found;
}

TEST_F(TracerFdTableTest, TheWriterHoldsTheTraceFileInATableOfItsOwn) {
#if defined(GS_SANITIZE_THREAD)
  GTEST_SKIP() << "under TSan greenscope's threads share the program's fd table (own_fd_table.cpp says why)";
#endif
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  const std::string socket = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(pair[0])).string();
  const std::string path = temp_trace_path("fd-table");
  std::string error;
  ASSERT_TRUE(trace::start({.path = path, .stall_monitor = false}, &error)) << error;
  // The program's table lets go of the file once the writer holds it.
  EXPECT_EQ(links_in("/proc/self/fd").count(path), 0u) << "the program's table still holds the trace file";
  // A wait records a stack, which the symbolizer thread resolves.
  auto sleeper = gs::spawn([] { gs::sleep(std::chrono::milliseconds(1)); });
  sleeper.join();
  const auto own_only = [&](const std::set<std::string>& links) { return links.count(socket) == 0; };
  std::set<std::string> writer, symbols;
  ASSERT_TRUE(wait_for_table("gs-writer", writer, own_only)) << "no gs-writer thread";
  ASSERT_TRUE(wait_for_table("gs-symbols", symbols, own_only)) << "no gs-symbols thread";
  EXPECT_EQ(writer.count(path), 1u) << "the writer does not hold the trace file";
  for (const auto* table : {&writer, &symbols}) {
    EXPECT_EQ(table->count(socket), 0u) << "a tracer thread holds a copy of the program's socket";
    // Its own: the trace file (writer), /dev/null at 0-2, a pidfd, and the
    // module files the symbolizer reads.
    for (const std::string& link : *table)
      EXPECT_TRUE(link == path || link == "/dev/null" || link.rfind("anon_inode:", 0) == 0 ||
                  (table == &symbols && link.rfind("/", 0) == 0 && link.find(".so") != std::string::npos) ||
                  (table == &symbols && link.find("/debug/") != std::string::npos) ||
                  (table == &symbols && link == std::filesystem::read_symlink("/proc/self/exe").string()))
          << link;
  }
  ::close(pair[0]);
  ::close(pair[1]);
  const trace::Stats stats = trace::stop();
  EXPECT_GT(stats.events, 0u);
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->stats().clean_end);
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;
}

// The number the trace file had in the program's table is free once the
// writer holds the file: a forked child, letting go of the parent's trace,
// must not close whatever the program put at that number since.
TEST_F(TracerFdTableTest, AForkedChildLetsGoOfTheTraceWithoutClosingAnFdOfTheProgramsAtItsOldNumber) {
#if defined(GS_SANITIZE_THREAD)
  GTEST_SKIP() << "ThreadSanitizer cannot follow a threaded process into a forked child";
#endif
  const std::string path = temp_trace_path("fd-fork");
  std::string error;
  ASSERT_TRUE(trace::start({.path = path, .stall_monitor = false}, &error)) << error;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);  // the lowest free numbers: the file's old one among them
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The tracer's fork handler ran: both ends must still be open.
    const bool open = ::fcntl(p[0], F_GETFD) >= 0 && ::fcntl(p[1], F_GETFD) >= 0;
    ::_exit(open ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child closed one of the program's pipe ends";
  ::close(p[0]);
  ::close(p[1]);
  trace::stop();
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->stats().clean_end);
}

// The symbolizer thread's Symbolizer keeps module files open in its own
// table; had it used the process's shared one, a program's thread dropping
// that after a library loaded would close the program's fds of the same
// (low) numbers.
TEST_F(TracerFdTableTest, TheSymbolizerThreadsFilesNeverCloseTheProgramsFds) {
  const std::string library = unloaded_library();
  if (library.empty()) GTEST_SKIP() << "no system library left to load";
  struct Pipe {
    int fd;
    ino_t inode;
  };
  std::vector<Pipe> program;  // low numbers, where the symbolizer's files go too
  for (int i = 0; i < 32; ++i) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    for (const int fd : p) {
      struct stat st {};
      ASSERT_EQ(::fstat(fd, &st), 0);
      program.push_back({fd, st.st_ino});
    }
  }
  const std::string path = temp_trace_path("fd-symbols");
  std::string error;
  ASSERT_TRUE(trace::start({.path = path, .stall_monitor = false}, &error)) << error;
  auto sleeper = gs::spawn([] { gs::sleep(std::chrono::milliseconds(1)); });  // a wait stack to resolve
  sleeper.join();
  trace::stop();  // waits for the symbolizer to finish
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  void* loaded = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(loaded, nullptr) << ::dlerror();
  EXPECT_NE(gs::format_stack(gs::current_stack()), "");  // a fresh Symbolizer here, any old one dropped
  for (const Pipe& p : program) {
    struct stat st {};
    EXPECT_TRUE(::fstat(p.fd, &st) == 0 && st.st_ino == p.inode) << "the program's fd " << p.fd << " was closed under it";
  }
  for (const Pipe& p : program) ::close(p.fd);
  ::dlclose(loaded);
}

}  // namespace
}  // namespace gs::test
