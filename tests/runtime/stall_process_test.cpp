// stall_process_test.cpp: the stall monitor driven by the environment, in a
// child process: GREENSCOPE_STALL_MS, GREENSCOPE_STALL_PRINT's rate limit,
// and GREENSCOPE_DUMP_SIGNAL on a program whose hub never answers.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1, err = -1;
};

Child start(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  int out[2], err[2];
  EXPECT_EQ(::pipe(out), 0);
  EXPECT_EQ(::pipe(err), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  posix_spawn_file_actions_addclose(&fa, err[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string(*e).rfind("GREENSCOPE_", 0) != 0) env_strings.push_back(*e);
  for (const auto& e : env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  Child c;
  EXPECT_EQ(posix_spawn(&c.pid, args[0].c_str(), &fa, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  ::close(err[1]);
  c.out = out[0];
  c.err = err[0];
  return c;
}

// read_until() reads fd until `needle` appears, EOF, or 20 s pass.
std::string read_until(int fd, const std::string& needle) {
  std::string text;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    if (!needle.empty() && text.find(needle) != std::string::npos) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(StallEnvironment, PrintedReportsAreRateLimitedAndCountWhatTheySuppressed) {
  Child c = start({GS_STALL_VICTIM, "stalls", "7"}, {"GREENSCOPE_STALL_MS=5", "GREENSCOPE_STALL_PRINT=1"});
  const std::string err = read_until(c.err, "");
  const std::string out = read_until(c.out, "");
  const int status = wait_exit(c.pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << err;
  int done = 0, reported = 0;
  ASSERT_EQ(std::sscanf(out.c_str(), "stall_victim: %d stalls done, %d reported", &done, &reported), 2) << out;
  EXPECT_GE(reported, 7) << out;
  EXPECT_EQ(count(err, "greenscope: stall: "), 5u) << err;
  const std::string suppressed = std::to_string(reported - 5) + " stall report(s) suppressed";
  EXPECT_NE(err.find(suppressed), std::string::npos) << "expected '" << suppressed << "' in:\n" << err;
  EXPECT_NE(err.find("spin_here"), std::string::npos) << err;
}

TEST(StallEnvironment, ZeroThresholdTurnsTheMonitorOff) {
  Child c = start({GS_STALL_VICTIM, "stalls", "3"}, {"GREENSCOPE_STALL_MS=0", "GREENSCOPE_STALL_PRINT=1"});
  const std::string err = read_until(c.err, "");
  const int status = wait_exit(c.pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << err;
  EXPECT_EQ(count(err, "greenscope: stall: "), 0u) << err;
}

TEST(StallEnvironment, DumpSignalDescribesAHungProgramWithoutStoppingIt) {
  Child c = start({GS_STALL_VICTIM, "hang"}, {"GREENSCOPE_DUMP_SIGNAL=SIGUSR1"});
  ASSERT_NE(read_until(c.out, "ready").find("ready"), std::string::npos);
  ::kill(c.pid, SIGUSR1);
  const std::string err = read_until(c.err, "wait_here");
  // The running greenlet is sampled by a signal that its thread must handle
  // within 50 ms; a loaded machine can keep the spinning thread off the CPU
  // longer, and that dump then says it could not sample instead. The program
  // spins on, so each further dump is a new chance: more are asked for, up
  // to ten, until one shows the sample (a runtime that never samples fails
  // all of them). Each also shows the program still runs after a dump.
  std::string sampled = err;
  for (int dump = 1; dump < 10 && sampled.find("spin_here") == std::string::npos; ++dump) {
    ::kill(c.pid, SIGUSR1);
    const std::string next = read_until(c.err, "wait_here");
    sampled += next;
    if (next.find("wait_here") == std::string::npos) break;  // no dump came within 20 s
  }
  // Still running after the dump: a second one works too.
  ::kill(c.pid, SIGUSR1);
  const std::string again = read_until(c.err, "greenscope run info");
  ::kill(c.pid, SIGKILL);
  wait_exit(c.pid);
  EXPECT_NE(err.find("greenscope run info"), std::string::npos) << err;
  EXPECT_NE(err.find("not answering"), std::string::npos) << err;    // the hub spins: read from outside
  EXPECT_NE(sampled.find("spin_here"), std::string::npos) << sampled;  // the running greenlet, sampled
  EXPECT_NE(err.find("Greenlet 'patient'"), std::string::npos) << err;
  EXPECT_NE(err.find("wait_here"), std::string::npos) << err;      // its stack, from its saved context
  EXPECT_NE(again.find("greenscope run info"), std::string::npos) << again;
}

}  // namespace
