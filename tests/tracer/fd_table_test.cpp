// fd_table_test.cpp: the tracer's writer and symbolizer threads keep fd
// tables of their own (greenscope/detail/own_fd_table.h). The writer holds
// the trace file there, and the program's table no longer does: nothing of
// the program's is held open by them, and a forked child lets go of no
// number of its own for the parent's trace.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stacks.h"
#include "fd_table_support.h"
#include "test_support.h"
#include "trace_test_support.h"
#include "unloaded_library.h"

namespace gs::test {
namespace {

class TracerFdTableTest : public RuntimeTest {
 protected:
  void TearDown() override {
    trace::stop();
    RuntimeTest::TearDown();
  }
};

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
  EXPECT_EQ(fd_links("/proc/self/fd").count(path), 0u) << "the program's table still holds the trace file";
  // A wait records a stack, which the symbolizer thread resolves.
  auto sleeper = gs::spawn([] { gs::sleep(std::chrono::milliseconds(1)); });
  sleeper.join();
  const auto own_only = [&](const std::set<std::string>& links) { return links.count(socket) == 0; };
  std::set<std::string> writer, symbols;
  ASSERT_TRUE(settled_thread_fd_links("gs-writer", writer, own_only)) << "no gs-writer thread";
  ASSERT_TRUE(settled_thread_fd_links("gs-symbols", symbols, own_only)) << "no gs-symbols thread";
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
  const ProgramPipes program(32);  // low numbers, where the symbolizer's files go too
  ASSERT_EQ(program.size(), 64u);
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
  EXPECT_EQ(program.closed_under_us(), std::vector<int>{}) << "the program's fds closed under it";
  ::dlclose(loaded);
}

}  // namespace
}  // namespace gs::test
