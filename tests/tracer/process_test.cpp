// process_test.cpp: tracing a separate program through the environment: no
// code change, a SIGKILL mid-run, a crash, the toggle signal, a fork, and the
// flight recorder's dump signal; and the faults a traced program meets (a
// file size limit, an uncreatable path, no memory for stacks, exit() and
// abort() from a greenlet, fork and exec, signal storms).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "trace_test_support.h"

extern char** environ;

namespace gs::test {
namespace {

using namespace std::chrono_literals;

// Victim is trace_victim running with extra environment variables; its
// stdout (and its stderr, if `with_stderr`) is a pipe.
class Victim {
 public:
  // `with_stderr`: its stderr goes to the pipe too; `stderr_to`: to that
  // file. `more`: arguments after the mode.
  Victim(const std::string& mode, const std::vector<std::string>& env, bool with_stderr = false,
         const std::string& stderr_to = "", std::vector<std::string> more = {}) {
    std::vector<std::string> vars;
    const auto name_of = [](const std::string& var) { return var.substr(0, var.find('=')); };
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string var = *e;
      const bool replaced = std::any_of(env.begin(), env.end(), [&](const std::string& v) { return name_of(v) == name_of(var); });
      if (var.rfind("GREENSCOPE_", 0) != 0 && !replaced) vars.push_back(var);
    }
    vars.insert(vars.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::string program = TRACE_VICTIM_PATH, arg = mode;
    std::vector<char*> argv = {program.data(), arg.data()};
    for (std::string& m : more) argv.push_back(m.data());
    argv.push_back(nullptr);
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    if (with_stderr) posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    if (!stderr_to.empty())
      posix_spawn_file_actions_addopen(&actions, 2, stderr_to.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    EXPECT_EQ(posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    out_ = out[0];
  }
  ~Victim() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    ::close(out_);
  }
  // read_line() blocks until the victim prints a line.
  std::string read_line() {
    std::string line;
    char c;
    while (::read(out_, &c, 1) == 1 && c != '\n') line += c;
    return line;
  }
  // read_all() reads until the victim closes its output.
  std::string read_all() {
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(out_, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    return text;
  }
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }
  pid_t pid() const { return pid_; }
  // forget() is for a caller that reaped the victim itself.
  void forget() { reaped_ = true; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool reaped_ = false;
};

// wait_for() polls `ready` for up to 20 s: a deadline for progress, not a
// timing assertion.
template <class F>
bool wait_for(F&& ready) {
  for (int i = 0; i < 2000; ++i) {
    if (ready()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

bool closed_cleanly(const std::string& path) {
  traceio::LoadResult r = traceio::load(path);
  return r.trace && r.trace->stats().clean_end;
}

// switches_on_disk() counts the switches in what the writer has flushed to
// `path` so far (0 while there is no file).
std::uint64_t switches_on_disk(const std::string& path) {
  traceio::LoadResult r = traceio::load(path);
  return r.trace ? r.trace->stats().count[static_cast<int>(traceio::EventType::Switch)] : 0;
}

TEST(ProcessTraceTest, EnvironmentVariableTracesAnUnchangedProgram) {
  const std::string path = temp_trace_path("env");
  Victim v("exit", {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1"});
  const int status = v.wait();
  ASSERT_TRUE(WIFEXITED(status));
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->stats().clean_end);
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;
  EXPECT_NE(greenlet_named(*t, "spinner-a"), 0u);
  // trace_victim's spin_for() makes at least 400 switches, however slowly.
  EXPECT_GT(count(*t, traceio::EventType::Switch), 100u);
  EXPECT_EQ(t->process().pid, static_cast<std::uint64_t>(v.pid()));
  ASSERT_EQ(t->process().args.size(), 2u);
  EXPECT_EQ(t->process().args[1], "exit");
}

// GREENSCOPE_TRACE at a symbolic link planted in a shared /tmp: the program
// runs (untraced, saying why on stderr) and the link's target is untouched.
TEST(ProcessTraceTest, AnEnvironmentTracePathThatIsASymbolicLinkIsNotWrittenThrough) {
  const std::string target = temp_trace_path("env-victim"), path = temp_trace_path("env-planted");
  write_file(target, "precious");
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  Victim v("exit", {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1"});
  const int status = v.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(read_all(target), "precious");
  ::unlink(path.c_str());
  ::unlink(target.c_str());
}

// lines_with() counts the lines of `text` that contain `needle`.
std::size_t lines_with(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    if (text.substr(at, end - at).find(needle) != std::string::npos) ++n;
    at = end + 1;
  }
  return n;
}

// Garbage in GREENSCOPE_* variables: one clear line each (even when two
// parts of the program read the same variable, as GREENSCOPE_STALL_MS is),
// the defaults used, the program traced and run to its end.
TEST(ProcessTraceTest, GarbageVariablesGetOneLineEachAndTheDefaults) {
  const std::string path = temp_trace_path("garbage");
  Victim v("exit",
           {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1", "GREENSCOPE_STALL_MS=abc",
            "GREENSCOPE_BLOCKING_MS=-1", "GREENSCOPE_WAIT_STACK_DEPTH=999", "GREENSCOPE_TRACE_STALLS=maybe",
            "GREENSCOPE_STALL_PRINT=\x1b[31mred"},
           true);
  const std::string err = v.read_all();
  const int status = v.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << err;
  EXPECT_EQ(lines_with(err, "greenscope: GREENSCOPE_STALL_MS='abc' is not a number of milliseconds"), 1u) << err;
  EXPECT_EQ(lines_with(err, "GREENSCOPE_STALL_MS"), 1u) << err;
  EXPECT_EQ(lines_with(err, "greenscope: GREENSCOPE_BLOCKING_MS='-1' is not a number of milliseconds"), 1u) << err;
  EXPECT_EQ(lines_with(err, "greenscope: GREENSCOPE_WAIT_STACK_DEPTH='999' is not a number of frames"), 1u) << err;
  EXPECT_EQ(lines_with(err, "greenscope: GREENSCOPE_TRACE_STALLS='maybe' is not 1 or 0"), 1u) << err;
  // A terminal escape in a value is shown, not sent to the terminal.
  EXPECT_EQ(lines_with(err, "GREENSCOPE_STALL_PRINT='\\x1b[31mred'"), 1u) << err;
  EXPECT_EQ(err.find('\x1b'), std::string::npos) << err;
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->stats().clean_end);
}

// A flight recorder of a negative size used to say "last
// 18446744073709551611 MiB"; an unknown signal name was a second kind of
// line. Both now say what they want, and nothing is traced unasked.
TEST(ProcessTraceTest, ANegativeFlightSizeOrAnUnknownSignalLeavesTheProgramUntraced) {
  for (const std::string var : {"GREENSCOPE_TRACE_FLIGHT_MIB=-5", "GREENSCOPE_TRACE_SIGNAL=SIGNOPE"}) {
    const std::string dir = temp_trace_path("untraced-dir");
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    const std::string path = dir + "/t.gstrace";
    Victim v("exit", {"GREENSCOPE_TRACE=" + path, var}, true);
    const std::string err = v.read_all();
    const int status = v.wait();
    ASSERT_TRUE(WIFEXITED(status)) << var;
    EXPECT_EQ(WEXITSTATUS(status), 0) << var << ": " << err;
    const std::string name = var.substr(0, var.find('='));
    EXPECT_EQ(lines_with(err, "greenscope: " + name + "='" + var.substr(var.find('=') + 1) + "' is not "), 1u) << err;
    EXPECT_EQ(lines_with(err, "tracing stays off"), 1u) << err;
    EXPECT_EQ(err.find("18446744073709551611"), std::string::npos) << err;
    EXPECT_NE(::access(path.c_str(), F_OK), 0) << var << ": no trace was asked for";
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
}

TEST(ProcessTraceTest, KilledProgramLeavesAFileReadableUpToItsLastFlush) {
  const std::string path = temp_trace_path("sigkill");
  Victim v("loop", {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1"});
  ASSERT_EQ(v.read_line(), "running");
  // The writer flushes every 50 ms: wait until something has reached disk.
  ASSERT_TRUE(wait_for([&] { return switches_on_disk(path) > 100; }));
  ::kill(v.pid(), SIGKILL);
  const int status = v.wait();
  ASSERT_TRUE(WIFSIGNALED(status));
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->stats().clean_end);
  ASSERT_FALSE(t->problems().empty());
  EXPECT_NE(t->problems().back().message.find("no end record"), std::string::npos) << t->problems().back().message;
  EXPECT_NE(greenlet_named(*t, "spinner-a"), 0u);
  EXPECT_GT(count(*t, traceio::EventType::Switch), 100u);
}

// crash_trace() runs the crashing victim with `env` added and loads the
// trace it left; the victim must die of SIGSEGV.
std::unique_ptr<traceio::Trace> crash_trace(const std::string& tag, std::vector<std::string> env) {
  const std::string path = temp_trace_path(tag);
  // Sanitizers catch SIGSEGV themselves unless told not to.
  env.insert(env.end(), {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1", "ASAN_OPTIONS=handle_segv=0",
                         "TSAN_OPTIONS=handle_segv=0"});
  Victim v("crash", env);
  const int status = v.wait();
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  return t;
}

// By default tracing runs the stall monitor, and the runtime's crash report
// reaches the tracer: a Crash event, and the report as a "crash" run-info.
TEST(ProcessTraceTest, CrashFlushesWhatWasRecordedThenDiesOfTheSignal) {
  auto t = crash_trace("crash", {});
  ASSERT_TRUE(t);
  // The crash came right after the spinners ended: their exits are on disk.
  const std::uint64_t a = greenlet_named(*t, "spinner-a");
  ASSERT_NE(a, 0u);
  EXPECT_GE(t->greenlets().at(a).exit_ns, 0) << "events up to the crash were flushed";
  ASSERT_EQ(t->crashes().size(), 1u);
  const traceio::CrashInfo& c = t->crashes()[0];
  EXPECT_EQ(c.signal, SIGSEGV);
  EXPECT_NE(c.greenlet, 0u) << "main's greenlet crashed";
  EXPECT_FALSE(c.stack_overflow);
  ASSERT_EQ(t->run_infos().size(), 1u);
  EXPECT_EQ(t->run_infos()[0].trigger, "crash");
  EXPECT_NE(t->run_infos()[0].text.find("SIGSEGV"), std::string::npos) << t->run_infos()[0].text;
}

// A crash while a run-info dump waits seconds for a busy hub still gets
// its stack: the dump runs on its own thread, and the monitor, which
// unwinds the crashed stack, stays free. The old code served dumps on the
// monitor thread, and the crash handler gave up on it after 5 s: "no
// stack: the monitor thread did not answer".
TEST(ProcessTraceTest, ACrashDuringASlowDumpStillGetsItsStack) {
  const std::string err = temp_trace_path("slow-dump-crash") + ".err";
  Victim v("slow-dump-crash", {"GREENSCOPE_DUMP_SIGNAL=SIGUSR1", "ASAN_OPTIONS=handle_segv=0", "TSAN_OPTIONS=handle_segv=0"},
           false, err);
  EXPECT_EQ(v.read_line(), "crashing");
  const int status = v.wait();
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
  const std::string text = read_all(err);
  ::unlink(err.c_str());
  const std::size_t report = text.find("greenscope: crash: SIGSEGV in greenlet 'main'");
  ASSERT_NE(report, std::string::npos) << text.substr(0, 2000);
  EXPECT_EQ(text.find("did not answer"), std::string::npos) << text.substr(report, 600);
  EXPECT_NE(text.find("crash_during_slow_dump", report), std::string::npos) << text.substr(report, 1500);
}

// With the monitor off, the tracer's own handler flushes.
TEST(ProcessTraceTest, CrashFlushesWithoutTheStallMonitorToo) {
  auto t = crash_trace("crash-nomonitor", {"GREENSCOPE_TRACE_STALLS=0"});
  ASSERT_TRUE(t);
  const std::uint64_t a = greenlet_named(*t, "spinner-a");
  ASSERT_NE(a, 0u);
  EXPECT_GE(t->greenlets().at(a).exit_ns, 0) << "events up to the crash were flushed";
  EXPECT_TRUE(t->crashes().empty());
}

TEST(ProcessTraceTest, SignalTogglesTracingInALiveProgram) {
  const std::string path = temp_trace_path("toggle");
  std::string second = path;
  second.insert(second.rfind('.'), "-2");
  Victim v("loop", {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_SIGNAL=SIGUSR2", "GREENSCOPE_TRACE_QUIET=1"});
  ASSERT_EQ(v.read_line(), "running");
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "with a toggle signal, tracing starts off";
  ::kill(v.pid(), SIGUSR2);
  ASSERT_TRUE(wait_for([&] { return ::access(path.c_str(), F_OK) == 0; }));
  // Tracing is off again only once the session has recorded: the file
  // exists from start() on, and a fixed 100 ms after that could pass with
  // the victim off the CPU (a loaded machine, TSan), the file holding no
  // switch. The writer flushes every 50 ms, so what it has recorded shows.
  ASSERT_TRUE(wait_for([&] { return switches_on_disk(path) > 10; })) << "the live program's switches reach the file";
  ::kill(v.pid(), SIGUSR2);
  ASSERT_TRUE(wait_for([&] { return closed_cleanly(path); }));
  ::kill(v.pid(), SIGUSR2);
  ASSERT_TRUE(wait_for([&] { return ::access(second.c_str(), F_OK) == 0; })) << "the next session numbers its file";
  auto t = load_or_fail(path);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;
  EXPECT_GT(count(*t, traceio::EventType::Switch), 10u);
  ::unlink(path.c_str());
  ::kill(v.pid(), SIGKILL);
  v.wait();
  ::unlink(second.c_str());
}

// A run-info dump symbolizes its stacks on the monitor's thread, not on
// the hub greenlet that answers it: libdw reading a line table takes more
// than 96 KiB of stack, and the hub's was overflowed (the SIGSEGV "in
// greenlet 'hub'" a storm of dump signals ended in: 1 run in 20 with the
// default 128 KiB; every time with 64 KiB, which this test uses).
TEST(ProcessTraceTest, ADumpDoesNotSymbolizeOnTheHubsStack) {
  const std::string err = temp_trace_path("dump-small-stacks") + ".err";
  Victim v("crowd", {"GREENSCOPE_DUMP_SIGNAL=SIGUSR1"}, false, err, {"100", "64"});
  ASSERT_EQ(v.read_line(), "running");
  ASSERT_EQ(::kill(v.pid(), SIGUSR1), 0);
  const auto text = [&err] { return read_all(err); };
  const auto accounts = [&text] {
    const std::string t = text();
    std::size_t n = 0;
    for (std::size_t at = t.find("\nThread "); at != std::string::npos; at = t.find("\nThread ", at + 1)) ++n;
    return n + (t.rfind("Thread ", 0) == 0 ? 1 : 0);
  };
  int status = 0;
  bool exited = false;
  // Both hubs' accounts written, or the program gone (a deadline for
  // progress, not a timing assertion).
  ASSERT_TRUE(wait_for([&] {
    exited = ::waitpid(v.pid(), &status, WNOHANG) == v.pid();
    return exited || accounts() >= 2;
  }));
  ASSERT_FALSE(exited) << "the dump killed the program: " << text().substr(0, 300);
  const std::string t = text();
  EXPECT_NE(t.find("greenscope run info"), std::string::npos) << t.substr(0, 300);
  EXPECT_EQ(t.find("crash"), std::string::npos) << t.substr(0, 300);
  ::kill(v.pid(), SIGKILL);
  v.wait();
  ::unlink(err.c_str());
}

// A greenlet that asks for the run info itself gets it: its own hub's
// stacks are symbolized on a helper thread's full stack, not on the
// greenlet's 64 KiB (libdw overflowed it: SIGSEGV in the old code).
TEST(ProcessTraceTest, AGreenletsOwnRunInfoDoesNotSymbolizeOnItsStack) {
  Victim v("selfdump", {}, false, "/dev/null", {"64"});
  const std::string line = v.read_line();
  const int status = v.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(line.rfind("dumped ", 0), 0u) << line;
}

// account_headers() is the "Thread ..." line of every hub account in `path`.
std::vector<std::string> account_headers(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Thread ", 0) == 0) out.push_back(line);
  return out;
}

// kSanitized: an ASan or TSan build, where every greenlet costs more.
// kBigCrowd: waiting greenlets per hub, each 40 calls deep, that take a
// hub well over 200 ms to collect (unwinding every stack: 10,000 did on an
// idle machine, 3,000 did not); sanitizer builds unwind slower and get
// there with fewer (1,000 took 4 s to dump under TSan, loaded). Waiting,
// they cost the loop nothing: it turns at once.
#if defined(GS_SANITIZE_ADDRESS) || defined(GS_SANITIZE_THREAD)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
constexpr const char* kBigCrowd = kSanitized ? "1000" : "10000";

// A hub busy answering a dump, or busy turning its loop, is not stalled: a
// dump waits for its own account instead of reading its greenlets from
// outside while it runs them (which raced with it). The old code called
// every hub that took over 200 ms "not answering (stalled)" and read it
// from outside.
TEST(ProcessTraceTest, ABusyHubDescribesItselfRatherThanBeingReadFromOutside) {
  const std::string err = temp_trace_path("busy-dump") + ".err";
  Victim v("waiters", {"GREENSCOPE_DUMP_SIGNAL=SIGUSR1"}, false, err, {kBigCrowd});
  ASSERT_EQ(v.read_line(), "running");
  ASSERT_EQ(::kill(v.pid(), SIGUSR1), 0);
  // Both hubs' accounts written (a deadline for progress, not a timing assertion).
  ASSERT_TRUE(wait_for([&] { return account_headers(err).size() >= 2; })) << read_all(err).substr(0, 300);
  for (const std::string& h : account_headers(err)) {
    EXPECT_EQ(h.find("stalled"), std::string::npos) << h;
    EXPECT_NE(h.find("live greenlet(s)"), std::string::npos) << h;
  }
  ::kill(v.pid(), SIGKILL);
  v.wait();
  ::unlink(err.c_str());
}

// kStormCrowd: yielding greenlets per hub in the dump storm.
constexpr const char* kStormCrowd = kSanitized ? "500" : "2000";

// A storm of run-info dump signals (one every 5 ms) while thousands of
// greenlets on two hub threads yield and one spawns and joins without end,
// traced: every dump is served or coalesced with one under way, and the
// program survives them all (it died of SIGSEGV within a few hundred).
TEST(ProcessTraceTest, ADumpSignalStormIsSurvived) {
  const std::string path = temp_trace_path("dump-storm");
  Victim v("crowd", {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_DUMP_SIGNAL=SIGUSR1", "GREENSCOPE_TRACE_QUIET=1"},
           false, "/dev/null", {kStormCrowd});
  ASSERT_EQ(v.read_line(), "running");
  for (int i = 0; i < 400; ++i) {
    ASSERT_EQ(::kill(v.pid(), SIGUSR1), 0) << "signal " << i << ": the program is gone";
    std::this_thread::sleep_for(5ms);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(v.pid(), &status, WNOHANG), 0)
      << "the program died in the storm: " << (WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit");
  ASSERT_TRUE(wait_for([&] {
    traceio::LoadResult r = traceio::load(path);
    return r.trace != nullptr && !r.trace->run_infos().empty();
  })) << "no run-info dump reached the trace";
  ::kill(v.pid(), SIGKILL);
  v.wait();
  ::unlink(path.c_str());
}

// Dumps while hub threads start and end, two at a time, hundreds of
// times: a dump keeps the hubs it reads alive (their Beats), posts its
// request only to a hub that is not leaving, and gives up on one that
// leaves while it waits. The old code could post to a hub whose loop its
// teardown had just freed.
TEST(ProcessTraceTest, ADumpStormWhileHubsComeAndGoIsSurvived) {
  Victim v("hub-churn", {"GREENSCOPE_DUMP_SIGNAL=SIGUSR1"}, false, "/dev/null", {kSanitized ? "100" : "400"});
  ASSERT_EQ(v.read_line(), "running");
  int sent = 0, status = 0;
  for (; ::waitpid(v.pid(), &status, WNOHANG) == 0; ++sent) {
    ASSERT_EQ(::kill(v.pid(), SIGUSR1), 0);
    std::this_thread::sleep_for(2ms);
  }
  v.forget();
  EXPECT_GT(sent, 10);
  ASSERT_TRUE(WIFEXITED(status)) << "the program died of " << strsignal(WTERMSIG(status)) << " after " << sent
                                 << " dumps";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(v.read_line(), "done");
}

// blocked_signals() is the SigBlk mask of each thread of `pid`, by name.
std::vector<std::pair<std::string, std::uint64_t>> blocked_signals(pid_t pid) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::ifstream comm(task.path() / "comm"), status(task.path() / "status");
    std::string name, line;
    std::getline(comm, name);
    while (std::getline(status, line)) {
      if (line.rfind("SigBlk:", 0) == 0) out.emplace_back(name, std::stoull(line.substr(7), nullptr, 16));
    }
  }
  return out;
}

// A signal sent to the process must reach the program's threads, never
// greenscope's own: the toggle thread waits in a futex, and under TSan a
// SIGUSR2 delivered to it was held until a call that never came (a toggle
// lost). So all of them block the asynchronous signals, and no fault.
// The threads are read until they have settled: a new thread carries its
// creator's name until it names itself, and glibc's pthread_create blocks
// every signal, SIGSEGV too, in the creating thread for a moment.
TEST(ProcessTraceTest, GreenscopeThreadsBlockSignalsSentToTheProcess) {
  const std::string path = temp_trace_path("masks");
  Victim v("loop",
           {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_SIGNAL=SIGUSR2", "GREENSCOPE_TRACE_QUIET=1",
            "GREENSCOPE_DUMP_SIGNAL=SIGUSR1"},
           false, "/dev/null");
  ASSERT_EQ(v.read_line(), "running");
  ::kill(v.pid(), SIGUSR2);  // tracing on: the writer, the monitor and its reporter start
  ::kill(v.pid(), SIGUSR1);  // a dump: the dumper starts
  const auto bit = [](int sig) { return std::uint64_t{1} << (sig - 1); };
  std::string problems;
  const bool settled = wait_for([&] {
    problems.clear();
    std::vector<std::string> ours;
    for (const auto& [name, mask] : blocked_signals(v.pid())) {
      if (name.rfind("gs-", 0) != 0) continue;
      ours.push_back(name);
      for (int sig : {SIGUSR1, SIGUSR2, SIGCHLD, SIGTERM, SIGINT}) {
        if ((mask & bit(sig)) == 0) problems += name + " does not block signal " + std::to_string(sig) + "\n";
      }
      if ((mask & bit(SIGSEGV)) != 0) problems += name + " blocks SIGSEGV: a fault there would kill unreported\n";
    }
    for (const std::string name : {"gs-toggle", "gs-writer", "gs-monitor", "gs-reporter", "gs-dumper"}) {
      const auto n = std::count(ours.begin(), ours.end(), name);
      if (n != 1) problems += std::to_string(n) + " threads named " + name + "\n";
    }
    return problems.empty();
  });
  EXPECT_TRUE(settled) << problems;
  ::kill(v.pid(), SIGKILL);
  v.wait();
  ::unlink(path.c_str());
}

TEST(ProcessTraceTest, ForkedChildDoesNotWriteIntoTheParentsTrace) {
#if defined(GS_SANITIZE_THREAD)
  // TSan loses its fiber bookkeeping across fork(): it flags greenlet
  // switches in the child even with tracing off (trace_victim fork).
  GTEST_SKIP() << "ThreadSanitizer cannot follow greenlets into a forked child";
#endif
  const std::string path = temp_trace_path("fork");
  Victim v("fork", {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1"});
  const int status = v.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->stats().clean_end);
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;
  for (const auto& th : t->threads()) EXPECT_NE(th.os_tid, 0);
}

// --- Faults: what the program meets, and what the trace keeps of it -----------

// spawn_with_file_size_limit() starts the victim with RLIMIT_FSIZE at
// `bytes`: set in this process around the spawn, which the child inherits.
std::unique_ptr<Victim> spawn_with_file_size_limit(rlim_t bytes, const std::string& mode,
                                                   const std::vector<std::string>& env, std::vector<std::string> more) {
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit low = old;
  low.rlim_cur = bytes;
  EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &low), 0);
  auto v = std::make_unique<Victim>(mode, env, true, "", std::move(more));
  EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  return v;
}

// The file size limit (ulimit -f) reached while tracing: SIGXFSZ must not
// kill the program (its default action), tracing stops with one line that
// names the file and the cause, and the file reads up to the limit. At
// 1 KiB the limit is reached by the thread that starts tracing (writing the
// file's preamble), at 256 KiB by the writer thread.
//
// Under TSan the 1 KiB case also covers runtime/src/introspection/unwind.cpp's
// is_trampoline(): TSan's start-up writes its read-only-code markers into a
// file, which this limit cuts short, and an instrumented read of code bytes
// past them crashes in TSan's shadow store.
TEST(ProcessTraceTest, AFileSizeLimitStopsTheTraceNotTheProgram) {
  for (const rlim_t limit : {rlim_t{1024}, rlim_t{256 * 1024}}) {
    const std::string path = temp_trace_path("fsize");
    auto v = spawn_with_file_size_limit(limit, "fsize", {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1"},
                                        {path});
    const std::string out = v->read_all();
    const int status = v->wait();
    ASSERT_TRUE(WIFEXITED(status)) << "limit " << limit << ": killed by signal " << WTERMSIG(status) << "\n" << out;
    EXPECT_EQ(WEXITSTATUS(status), 0) << out;
    EXPECT_EQ(lines_with(out, "survived"), 1u) << out;
    EXPECT_EQ(lines_with(out, "greenscope: "), 1u) << out;
    EXPECT_EQ(lines_with(out, "writing trace file '" + path + "' failed: File too large"), 1u) << out;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(static_cast<rlim_t>(st.st_size), limit);
    traceio::LoadResult r = traceio::load(path);
    ::unlink(path.c_str());
    ASSERT_TRUE(r.trace) << "limit " << limit << ": " << r.error;
    EXPECT_EQ(r.trace->process().pid, static_cast<std::uint64_t>(v->pid()));
    for (const traceio::Problem& p : r.trace->problems())
      EXPECT_TRUE(p.message.find("truncated") != std::string::npos ||
                  p.message.find("no end record") != std::string::npos)
          << p.message;
    if (limit > 1024) {
      EXPECT_GT(count(*r.trace, traceio::EventType::Switch), 100u);
    }
  }
}

// A trace path that cannot be created: one line naming the path and the
// cause, even with GREENSCOPE_TRACE_QUIET (it is an error, not progress);
// the program runs untraced to its own exit status.
TEST(ProcessTraceTest, AnUncreatableTracePathIsSaidOnceAndTheProgramRunsUntraced) {
  const std::string dir = temp_trace_path("no-such-dir");
  const std::string file = temp_trace_path("plain-file");
  write_file(file, "not a directory");
  std::vector<std::pair<std::string, std::string>> cases = {
      {dir + "/t.gstrace", "No such file or directory"}, {file + "/t.gstrace", "Not a directory"}};
  // A directory nobody may write in, even root: /sys, where this process
  // is refused too (skipped where it is not).
  const std::string sys_path = "/sys/gs-tracer-test-" + std::to_string(::getpid()) + ".gstrace";
  const int fd = ::open(sys_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    cases.emplace_back(sys_path, std::strerror(errno));
  } else {
    ::close(fd);
    ::unlink(sys_path.c_str());
  }
  for (const auto& [path, cause] : cases) {
    for (const bool quiet : {false, true}) {
      std::vector<std::string> env = {"GREENSCOPE_TRACE=" + path};
      if (quiet) env.push_back("GREENSCOPE_TRACE_QUIET=1");
      Victim v("exit", env, true, "", {"3"});
      const std::string out = v.read_all();
      const int status = v.wait();
      ASSERT_TRUE(WIFEXITED(status)) << path;
      EXPECT_EQ(WEXITSTATUS(status), 3) << path << ": " << out;
      EXPECT_EQ(lines_with(out, "greenscope: "), 1u) << path << (quiet ? " (quiet)" : "") << ": " << out;
      EXPECT_EQ(lines_with(out, "greenscope: cannot create trace file '" + path + "': " + cause), 1u)
          << path << (quiet ? " (quiet)" : "") << ": " << out;
      EXPECT_EQ(lines_with(out, "runs untraced"), 1u) << out;
    }
  }
  ::unlink(file.c_str());
}

// Under an address space limit (RLIMIT_AS) no stack can be mapped: spawn()
// throws gs::ResourceError, saying what failed and what to do, and
// everything already running goes on (a Pool keeps its slot); once memory
// is back, spawn() works.
TEST(ProcessTraceTest, SpawnWithoutRoomForAStackThrowsAndTheRestGoesOn) {
  Victim v("stacks", {}, true);
  const std::string out = v.read_all();
  const int status = v.wait();
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_EQ(lines_with(out, "spawn failed: gs::ResourceError: "), 1u) << out;
  for (const std::string advice : {"greenlet stack", "Cannot allocate memory", "fewer greenlets",
                                   "RuntimeOptions::stack_size", "RLIMIT_AS"})
    EXPECT_EQ(lines_with(out, advice), 1u) << advice << " in:\n" << out;
  EXPECT_EQ(lines_with(out, "greenlet failed"), 0u) << out;
  EXPECT_EQ(lines_with(out, "pool slots free after a failed spawn: 1 of 1"), 1u) << out;
  const std::size_t at = out.find(" greenlets ran");
  ASSERT_NE(at, std::string::npos) << out;
  const std::size_t line = out.rfind('\n', at) + 1;
  int ran = 0, spawned = -1;
  ASSERT_EQ(std::sscanf(out.c_str() + line, "%d of %d", &ran, &spawned), 2) << out;
  EXPECT_EQ(ran, spawned) << out;
  EXPECT_GT(ran, 1) << out;
  EXPECT_EQ(lines_with(out, "spawn after: 7"), 1u) << out;
}

// With every mapping vm.max_map_count allows in use, no stack can be
// mapped either: the same clean failure, and recovery once they are freed.
TEST(ProcessTraceTest, SpawnWithoutAMappingToSpareThrowsAndTheRestGoesOn) {
#if defined(GS_SANITIZE_ADDRESS) || defined(GS_SANITIZE_THREAD)
  GTEST_SKIP() << "a sanitizer's allocator needs mappings of its own: it would die first";
#endif
  Victim v("maps", {}, true);
  const std::string out = v.read_all();
  const int status = v.wait();
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_EQ(lines_with(out, "spawn failed: gs::ResourceError: "), 1u) << out;
  EXPECT_EQ(lines_with(out, "vm.max_map_count"), 1u) << out;
  EXPECT_EQ(lines_with(out, "first greenlet: 1, spawn after: 7"), 1u) << out;
}

// exit() called from a greenlet, on the main thread or on a second hub's
// thread, while greenlets run on both: the exit handlers stop tracing and
// the file ends cleanly (the format has no place for the status).
TEST(ProcessTraceTest, ExitFromAGreenletEndsTheTraceCleanly) {
  for (const std::string where : {"main-thread", "other-thread"}) {
    const std::string path = temp_trace_path("exit-in-greenlet");
    // exit() leaves main's and the greenlets' stack objects undestroyed:
    // LeakSanitizer would report them, and make the status 1.
    Victim v("exit-in-greenlet",
             {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1", "ASAN_OPTIONS=detect_leaks=0"}, false, "",
             {"7", where});
    const int status = v.wait();
    ASSERT_TRUE(WIFEXITED(status)) << where;
    EXPECT_EQ(WEXITSTATUS(status), 7) << where;
    auto t = load_or_fail(path);
    ::unlink(path.c_str());
    ASSERT_TRUE(t) << where;
    EXPECT_TRUE(t->stats().clean_end) << where;
    EXPECT_TRUE(t->problems().empty()) << where << ": " << t->problems().front().message;
    EXPECT_NE(greenlet_named(*t, "exiter"), 0u) << where;
    EXPECT_NE(greenlet_named(*t, "ticker"), 0u) << where;
  }
}

// abort() and std::terminate() (an exception out of a destructor) in a
// greenlet: the process dies of SIGABRT, and the trace holds what led
// there and the crash record, naming the greenlet, with its stack.
TEST(ProcessTraceTest, AbortOrTerminateInAGreenletLeavesTheCrashRecord) {
  for (const auto& [mode, name] : {std::pair<std::string, std::string>{"abort-in-greenlet", "aborter"},
                                   {"terminate-in-greenlet", "thrower"}}) {
    const std::string path = temp_trace_path(mode);
    Victim v(mode, {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1"}, false, "/dev/null");
    const int status = v.wait();
    ASSERT_TRUE(WIFSIGNALED(status)) << mode;
    EXPECT_EQ(WTERMSIG(status), SIGABRT) << mode;
    auto t = load_or_fail(path);
    ::unlink(path.c_str());
    ASSERT_TRUE(t) << mode;
    const std::uint64_t culprit = greenlet_named(*t, name);
    ASSERT_NE(culprit, 0u) << mode;
    ASSERT_EQ(t->crashes().size(), 1u) << mode;
    const traceio::CrashInfo& c = t->crashes()[0];
    EXPECT_EQ(c.signal, SIGABRT) << mode;
    EXPECT_EQ(c.greenlet, culprit) << mode;
    const auto* frames = t->stack(c.stack);
    ASSERT_NE(frames, nullptr) << mode;
    EXPECT_GT(frames->size(), 3u) << mode;
    EXPECT_GE(t->greenlets().at(greenlet_named(*t, "spinner-a")).exit_ns, 0) << mode;
    ASSERT_EQ(t->run_infos().size(), 1u) << mode;
    EXPECT_NE(t->run_infos()[0].text.find("SIGABRT in greenlet '" + name + "'"), std::string::npos)
        << t->run_infos()[0].text;
  }
}

// numbered_by_pid() is where a child traced through an inherited
// GREENSCOPE_TRACE=path writes: path with "-PID" before its extension.
std::string numbered_by_pid(const std::string& path, pid_t pid) {
  std::string out = path;
  out.insert(out.rfind('.'), "-" + std::to_string(pid));
  return out;
}

// A greenlet forks and the child execs a program linked with the runtime:
// the child inherits GREENSCOPE_TRACE and writes its own file (path-PID),
// never the parent's, which ends cleanly with the parent's events only. So
// does a child handed the parent's path explicitly ("same-path"): the
// parent's file is being written (it is locked), so it is not replaced.
TEST(ProcessTraceTest, AnExecdChildWritesItsOwnTraceFile) {
#if defined(GS_SANITIZE_THREAD)
  GTEST_SKIP() << "ThreadSanitizer cannot follow greenlets into a forked child";
#endif
  for (const bool same_path : {false, true}) {
    const std::string path = temp_trace_path("fork-exec");
    std::vector<std::string> more;
    if (same_path) more = {"same-path", path};
    Victim v("fork-exec", {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1"}, false, "", more);
    const std::string line = v.read_line();
    const int status = v.wait();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    ASSERT_EQ(line.rfind("child ", 0), 0u) << line;
    const pid_t child = static_cast<pid_t>(std::stol(line.substr(6)));
    const std::string child_path = numbered_by_pid(path, child);
    auto parent_trace = load_or_fail(path);
    auto child_trace = load_or_fail(child_path);
    ::unlink(path.c_str());
    ::unlink(child_path.c_str());
    ASSERT_TRUE(parent_trace) << same_path;
    EXPECT_TRUE(parent_trace->stats().clean_end) << same_path;
    EXPECT_TRUE(parent_trace->problems().empty()) << parent_trace->problems().front().message;
    EXPECT_EQ(parent_trace->process().pid, static_cast<std::uint64_t>(v.pid())) << same_path;
    EXPECT_NE(greenlet_named(*parent_trace, "forker"), 0u) << same_path;
    ASSERT_TRUE(child_trace) << same_path;
    EXPECT_TRUE(child_trace->stats().clean_end) << same_path;
    EXPECT_EQ(child_trace->process().pid, static_cast<std::uint64_t>(child)) << same_path;
    ASSERT_EQ(child_trace->process().args.size(), 3u) << same_path;
    EXPECT_EQ(child_trace->process().args[1], "exit") << same_path;
    EXPECT_NE(greenlet_named(*child_trace, "spinner-a"), 0u) << same_path;
    EXPECT_EQ(greenlet_named(*child_trace, "forker"), 0u) << same_path;
  }
}

// A child forked from a greenlet that does not exec: it records nothing,
// runs its exit handlers without the parent's writer and monitor threads
// (neither exists in it), can start a stall monitor of its own, and leaves
// the parent's file to the parent.
TEST(ProcessTraceTest, AForkedChildThatExitsLeavesTheParentsTraceAlone) {
#if defined(GS_SANITIZE_THREAD)
  GTEST_SKIP() << "ThreadSanitizer cannot follow greenlets into a forked child";
#endif
#if defined(GS_SANITIZE_ADDRESS)
  // The child allocates (greenlets, its monitor thread). ASan's allocator
  // (GCC 12) takes no lock around fork(), unlike glibc's malloc: a size
  // class's lock held by one of the parent's other threads at the fork
  // stays held in the child, whose next allocation of that class blocks for
  // good (seen: the child's new monitor thread in SizeClassAllocator64::
  // GetFromAllocator, 1 run in about 40).
  GTEST_SKIP() << "AddressSanitizer's allocator is not fork-safe: a forked child that allocates can deadlock";
#endif
  const std::string path = temp_trace_path("fork-exit");
  // LeakSanitizer in the child would report what the parent's other
  // threads held (the monitor's buffers): those threads are not there.
  Victim v("fork-exit", {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1", "ASAN_OPTIONS=detect_leaks=0"}, true);
  const std::string out = v.read_all();
  const int status = v.wait();
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_EQ(lines_with(out, "child saw its stall"), 1u) << out;
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->stats().clean_end);
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;
  EXPECT_EQ(t->process().pid, static_cast<std::uint64_t>(v.pid()));
  for (const auto& th : t->threads()) EXPECT_NE(th.os_tid, 0);
  EXPECT_EQ(greenlet_named(*t, "child-staller"), 0u) << "the child recorded into the parent's file";
}

// GREENSCOPE_TRACE_REDACT=1: the file keeps argv[0] and the number of
// arguments, says they were redacted, and holds no byte of their values;
// nor of the environment's (never recorded). Without it, the argument is
// there (so the search would find it).
TEST(ProcessTraceTest, RedactLeavesArgumentValuesAndTheEnvironmentOutOfTheFile) {
  const std::string secret_arg = "--password=hunter2-S3CRET-arg", secret_env = "tok-S3CRET-env-4711";
  for (const bool redact : {true, false}) {
    const std::string path = temp_trace_path("redact");
    std::vector<std::string> env = {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_QUIET=1",
                                    "SECRET_TOKEN=" + secret_env};
    if (redact) env.push_back("GREENSCOPE_TRACE_REDACT=1");
    Victim v("exit", env, false, "", {"0", secret_arg});
    const int status = v.wait();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    const std::string raw = read_all(path);
    auto t = load_or_fail(path);
    ::unlink(path.c_str());
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->stats().clean_end);
    EXPECT_EQ(raw.find(secret_env), std::string::npos);
    EXPECT_EQ(raw.find("S3CRET-env"), std::string::npos);
    const traceio::ProcessInfo& p = t->process();
    ASSERT_EQ(p.args.size(), 4u);
    EXPECT_EQ(p.args[0], TRACE_VICTIM_PATH);
    if (redact) {
      EXPECT_EQ(raw.find("hunter2"), std::string::npos);
      EXPECT_EQ(raw.find("S3CRET"), std::string::npos);
      EXPECT_TRUE(p.args_redacted);
      EXPECT_EQ(p.args[1], "");
      EXPECT_EQ(p.args[3], "");
      EXPECT_EQ(traceio::command_line(p), std::string(TRACE_VICTIM_PATH) + " [3 arguments redacted]");
    } else {
      EXPECT_NE(raw.find(secret_arg), std::string::npos);
      EXPECT_FALSE(p.args_redacted);
      EXPECT_EQ(p.args[3], secret_arg);
    }
  }
}

// storm() runs `trace_victim storm` with `env` (stderr to `err`) and sends
// it `sig` every 100 us from its static initialization (it says "init"
// there, before main) until it has exited, through its runtime's start,
// its run and its exit handlers. Returns the wait status; a victim still
// there after 60 s is killed and the test fails.
int storm(int sig, const std::vector<std::string>& env, const std::string& err) {
  Victim v("storm", env, false, err);
  EXPECT_EQ(v.read_line(), "init");
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    const pid_t done = ::waitpid(v.pid(), &status, WNOHANG);
    if (done == v.pid()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "the victim hung under the storm";
      ::kill(v.pid(), SIGKILL);
      ::waitpid(v.pid(), &status, 0);
      break;
    }
    ::kill(v.pid(), sig);
    const timespec gap{0, 100000};
    ::nanosleep(&gap, nullptr);
  }
  v.forget();
  return status;
}

// files_in() lists the regular files in `dir` with their full paths.
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// StormCase is one signal variable, stormed: `env` sets it (the trace path
// is added), `sig` is sent. `streamed`: the run is traced from start to
// exit into one file (the signal must not add or replace files).
struct StormCase {
  const char* name;
  int sig;
  std::vector<std::string> env;
  bool streamed;
};

// Each of greenscope's signals, sent every 100 us from before the runtime
// starts until the process is gone: the program exits 0, and every trace
// file it leaves reads cleanly. 5 rounds each (a storm that breaks one run
// in N shows within ctest --repeat until-fail:20).
TEST(ProcessTraceTest, SignalStormsFromStartToExitAreHarmless) {
  const std::vector<StormCase> cases = {
      {"dump", SIGUSR1, {"GREENSCOPE_DUMP_SIGNAL=SIGUSR1"}, true},
      {"toggle", SIGUSR2, {"GREENSCOPE_TRACE_SIGNAL=SIGUSR2"}, false},
      {"flight dump", SIGUSR1, {"GREENSCOPE_TRACE_FLIGHT_MIB=1", "GREENSCOPE_TRACE_DUMP_SIGNAL=SIGUSR1"}, false},
      {"trace dump without a flight recorder", SIGUSR1, {"GREENSCOPE_TRACE_DUMP_SIGNAL=SIGUSR1"}, true},
  };
  for (const StormCase& c : cases) {
    for (int round = 0; round < 5; ++round) {
      const std::string dir = temp_trace_path("storm-dir");
      ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
      std::vector<std::string> env = c.env;
      env.insert(env.end(), {"GREENSCOPE_TRACE=" + dir + "/t.gstrace", "GREENSCOPE_TRACE_QUIET=1"});
      const int status = storm(c.sig, env, dir + "/stderr");
      const std::string err = read_all(dir + "/stderr");
      ::unlink((dir + "/stderr").c_str());
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << c.name << ", round " << round << ": status " << status
          << (WIFSIGNALED(status) ? " (killed by signal " + std::to_string(WTERMSIG(status)) + ")" : "") << "\n"
          << err.substr(err.size() > 2000 ? err.size() - 2000 : 0);
      const std::vector<std::string> files = files_in(dir);
      if (c.streamed) {
        EXPECT_EQ(files.size(), 1u) << c.name << ": one file, never replaced by a dump";
      }
      for (const std::string& f : files) {
        traceio::LoadResult r = traceio::load(f);
        EXPECT_TRUE(r.trace) << c.name << ": " << f << ": " << r.error;
        if (r.trace) {
          EXPECT_TRUE(r.trace->stats().clean_end) << c.name << ": " << f;
          EXPECT_TRUE(r.trace->problems().empty())
              << c.name << ": " << f << ": " << r.trace->problems().front().message;
          if (c.streamed) {
            EXPECT_FALSE(r.trace->process().flight_dump) << c.name;
            EXPECT_NE(greenlet_named(*r.trace, "spinner-a"), 0u) << c.name;
          }
        }
        ::unlink(f.c_str());
      }
      ::rmdir(dir.c_str());
      if (HasFailure()) return;
    }
  }
}

TEST(ProcessTraceTest, FlightRecorderDumpsOnSignal) {
  const std::string path = temp_trace_path("flight-signal");
  Victim v("loop", {"GREENSCOPE_TRACE=" + path, "GREENSCOPE_TRACE_FLIGHT_MIB=1",
                    "GREENSCOPE_TRACE_DUMP_SIGNAL=SIGUSR1", "GREENSCOPE_TRACE_QUIET=1"});
  ASSERT_EQ(v.read_line(), "running");
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  ::kill(v.pid(), SIGUSR1);
  ASSERT_TRUE(wait_for([&] { return closed_cleanly(path); }));
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->process().flight_dump);
  // "running" comes after at least 400 switches (trace_victim's spin_for()),
  // all in the ring: 1 MiB holds far more.
  EXPECT_GT(count(*t, traceio::EventType::Switch), 100u);
}

}  // namespace
}  // namespace gs::test
