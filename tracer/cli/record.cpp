// record.cpp: `greenscope record`, runs a program with GREENSCOPE_TRACE set
// and summarizes the trace it wrote.
//
// The program is forked and exec'd (the child learns its own pid for the
// default file name). SIGINT, SIGTERM and SIGHUP sent to greenscope are
// forwarded to the program; a Ctrl-C typed at the terminal already reaches
// both (same process group), so it is not sent twice.
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "cli.h"
#include "greenscope/trace_env.h"
#include "format.h"
#include "info.h"

namespace gs::cli {

namespace {

// The recorded program's pid, for forward(): atomic (lock-free), since the
// handler may run on any thread.
std::atomic<pid_t> g_child{0};
static_assert(std::atomic<pid_t>::is_always_lock_free);
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP};

void forward(int sig, siginfo_t* info, void*) {
  if (info != nullptr && info->si_code == SI_KERNEL) return;  // from the terminal: the child has it
  if (const pid_t child = g_child.load(); child > 0) ::kill(child, sig);
}

struct Plan {
  std::vector<std::string> argv;
  std::string output = trace_env::kDefault;
  std::vector<std::pair<std::string, std::string>> env;
  std::string toggle_signal, dump_signal;
  bool flight = false, quiet = false;
};

std::string signal_option(const Args& args, const std::string& name) {
  if (!args.has(name)) return {};
  const std::string text = args.get(name);
  if (trace_env::parse_signal(text) == 0) throw UsageError("--" + name + " '" + text + "' is not a signal name or number");
  return text;
}

Plan make_plan(const Args& args) {
  Plan plan;
  plan.argv = args.positional;
  if (plan.argv.empty()) throw UsageError("missing the PROGRAM to run");
  plan.output = args.get("output", plan.output);
  if (plan.output.empty()) throw UsageError("-o wants a file name");
  plan.quiet = args.has("quiet");
  plan.toggle_signal = signal_option(args, "signal");
  plan.dump_signal = signal_option(args, "dump-signal");
  if (const auto mib = args.number("flight", 1, 1 << 20)) {
    plan.flight = true;
    plan.env.emplace_back(trace_env::kFlightMib, std::to_string(*mib));
  }
  if (!plan.toggle_signal.empty()) plan.env.emplace_back(trace_env::kSignal, plan.toggle_signal);
  if (!plan.dump_signal.empty()) plan.env.emplace_back(trace_env::kDumpSignal, plan.dump_signal);
  if (plan.quiet) plan.env.emplace_back(trace_env::kQuiet, "1");
  return plan;
}

[[noreturn]] void exec_child(const Plan& plan, int error_pipe) {
  for (int sig : kForwarded) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::setenv(trace_env::kTrace, trace_env::expand_pid(plan.output, ::getpid()).c_str(), 1);
  for (const auto& [name, value] : plan.env) ::setenv(name.c_str(), value.c_str(), 1);
  std::vector<char*> argv;
  for (const std::string& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  const int err = errno;
  [[maybe_unused]] const ssize_t n = ::write(error_pipe, &err, sizeof err);
  ::_exit(127);
}

void install_forwarding() {
  struct sigaction sa {};
  sa.sa_sigaction = &forward;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : kForwarded) ::sigaction(sig, &sa, nullptr);
}

// exit_code() maps a wait status to the shell's convention.
int exit_code(int status, const std::string& program) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    warn(program + " was killed by SIG" + (abbrev != nullptr ? abbrev : std::to_string(sig)));
    return 128 + sig;
  }
  return kExitFailure;
}

// spawn_and_wait() runs the program and returns its exit code; 127 (not
// found) or 126 (not runnable) if exec failed.
int spawn_and_wait(const Plan& plan, pid_t& pid) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + strerror(errno));
  sigset_t block, old;
  sigemptyset(&block);
  for (int sig : kForwarded) sigaddset(&block, sig);
  ::sigprocmask(SIG_BLOCK, &block, &old);
  install_forwarding();
  pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (pid == 0) exec_child(plan, fds[1]);
  g_child.store(pid);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  ::close(fds[1]);
  int err = 0;
  ssize_t n;
  do n = ::read(fds[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof err)) {
    error("cannot run '" + plan.argv[0] + "': " + strerror(err));
    return err == ENOENT ? 127 : 126;
  }
  return exit_code(status, plan.argv[0]);
}

bool written_since(const std::string& path, const timespec& since) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  return st.st_mtim.tv_sec > since.tv_sec ||
         (st.st_mtim.tv_sec == since.tv_sec && st.st_mtim.tv_nsec >= since.tv_nsec);
}

void explain_missing(const Plan& plan, const std::string& path, pid_t pid) {
  if (!plan.toggle_signal.empty())
    warn("no trace written to " + path + ": tracing starts when the program gets " + plan.toggle_signal +
         " (kill -" + plan.toggle_signal + " " + std::to_string(pid) + ")");
  else if (plan.flight)
    warn("no flight-recorder dump in " + path + ": it is written on a crash or on the dump signal (--dump-signal)");
  else
    warn("no trace written to " + path + ": " + plan.argv[0] +
         " is probably not linked with greenscope's runtime (or could not create the file)");
}

void summarize(const std::string& path) {
  traceio::LoadResult result = traceio::load(path);
  if (!result.trace) {
    warn("cannot read the trace " + path + ": " + result.error);
    return;
  }
  print_summary(*result.trace, stderr);
}

int run_record_command(const Args& args) {
  const Plan plan = make_plan(args);
  timespec start{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &start);
  pid_t pid = 0;
  const int code = spawn_and_wait(plan, pid);
  if (plan.quiet || code == 126 || code == 127) return code;
  const std::string first = trace_env::expand_pid(plan.output, pid);
  if (!written_since(first, start)) {
    explain_missing(plan, first, pid);
    return code;
  }
  for (unsigned n = 1; n < 1000; ++n) {
    const std::string path = trace_env::numbered(first, n);
    if (!written_since(path, start)) break;
    summarize(path);
  }
  return code;
}

}  // namespace

const Command& record_command() {
  static const Command command = [] {
    Command c;
    c.name = "record";
    c.synopsis = "record [-o FILE] [--flight MIB] [--signal SIG] [--dump-signal SIG] [--] PROGRAM [ARGS...]";
    c.summary = "run a program linked with greenscope's runtime and record its trace";
    c.stop_at_positional = true;
    c.options = {
        {"output", 'o', true, "FILE", "trace file (default greenscope-<pid>.gstrace; %p = the program's pid)"},
        {"flight", 0, true, "MIB", "flight recorder: keep only the last MIB MiB, write on a crash or dump signal"},
        {"signal", 0, true, "SIG", "start with tracing off; each SIG toggles it (files FILE, FILE-2...)"},
        {"dump-signal", 0, true, "SIG", "SIG makes the flight recorder write its file (FILE, FILE-2...)"},
        {"quiet", 'q', false, "", "no messages from the tracer and no summary"},
        {"help", 'h', false, "", "show this help"},
    };
    c.details =
        "Runs PROGRAM with GREENSCOPE_TRACE=FILE in its environment: any program linked with\n"
        "greenscope's runtime then records itself. SIGINT, SIGTERM and SIGHUP are forwarded to it.\n"
        "Prints a summary of each file written. Exits with the program's status (128+N if\n"
        "signal N killed it, 127 if it was not found, 126 if it could not be run).\n";
    c.run = &run_record_command;
    return c;
  }();
  return command;
}

}  // namespace gs::cli
