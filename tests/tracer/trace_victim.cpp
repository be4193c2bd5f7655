// trace_victim: a program linked with the runtime only (no tracer code), for
// tests that trace it through the environment and kill it.
//   trace_victim loop        yields forever; prints "running" after 200 ms
//                            (and at least kMinYields yields of each spinner)
//   trace_victim exit N      runs briefly, then exits with status N
//   trace_victim crash       runs briefly, then dereferences null
//   trace_victim fork        runs briefly, forks a child that also yields
//   trace_victim crowd N KB  N greenlets yield forever on each of two hub
//                            threads, beside one that spawns and joins
//                            short-lived greenlets without end (a server's
//                            churn), every stack KB KiB; prints "running"
//                            once all run
//   trace_victim waiters N   the same with N greenlets per hub waiting, 40
//                            calls deep, on an Event never set, and one
//                            yielding (a dump must unwind them all; the
//                            loop turns at once)
//   trace_victim selfdump KB a greenlet with a KB KiB stack calls
//                            gs::format_run_info(); prints "dumped N lines"
//   trace_victim fsize PATH  runs until the trace at PATH reached the file
//                            size limit (RLIMIT_FSIZE, set by the test before
//                            exec), then a while longer; prints "survived"
//   trace_victim stacks      lowers RLIMIT_AS, spawns until spawn() throws,
//                            prints the error, checks the others still run
//   trace_victim maps        spends vm.max_map_count, spawns (which must
//                            throw), gives the mappings back, spawns again
//   trace_victim exit-in-greenlet N [other-thread]  a greenlet calls exit(N)
//                            while greenlets run on two hub threads (from
//                            the second thread's hub with other-thread)
//   trace_victim abort-in-greenlet   a greenlet named "aborter" calls abort()
//   trace_victim terminate-in-greenlet  a greenlet named "thrower" throws
//                            from a destructor: std::terminate()
//   trace_victim fork-exec [same-path PATH]  a greenlet forks; the child
//                            execs this program ("exit 0"; with
//                            GREENSCOPE_TRACE=PATH if given), prints "child
//                            PID"; exits with the child's status
//   trace_victim fork-exit   a greenlet forks; the child starts a stall
//                            monitor, stalls, prints "child saw its stall",
//                            and returns from main (exit handlers run there)
//   trace_victim slow-dump-crash  a second hub's 2,000 greenlets compute
//                            5 ms each before they yield (a run-info dump
//                            waits some 10 s for that hub); raises the dump
//                            signal (GREENSCOPE_DUMP_SIGNAL=SIGUSR1), then
//                            1 s later crashes in main's greenlet
//   trace_victim hub-churn N  prints "running", then N times starts two
//                            threads whose hubs run a few greenlets and end
//                            (hubs come and go under a dump storm); prints
//                            "done" and exits 0
//   trace_victim storm       prints "init" from a static constructor and
//                            sleeps there and in main before the runtime,
//                            runs briefly, exits 0 through exit handlers
//                            that sleep too (signal storm tests)
#include <cxxabi.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stacks.h"
#include "greenscope/stall.h"

extern char** environ;

using namespace std::chrono_literals;

namespace {

// kMinYields: the tests count the switches a run recorded (more than 100 of
// them). A time alone does not give them: a loaded machine can keep this
// process off the CPU for most of 50 ms, and TSan slows every switch. So
// each spinner yields at least this often, however long that takes, and
// every spin_for() records at least 4 * kMinYields switches (each yield is
// one switch to the hub and one back).
constexpr int kMinYields = 100;

// spin_for() runs two greenlets that yield to each other for `d`, and on
// until each has yielded kMinYields times.
void spin_for(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  const auto spin = [&end] {
    for (int n = 0; n < kMinYields || std::chrono::steady_clock::now() < end; ++n) gs::yield();
  };
  auto a = gs::spawn(spin);
  auto b = gs::spawn(spin);
  a.set_name("spinner-a");
  b.set_name("spinner-b");
  a.join();
  b.join();
}

// wait_deep() waits on `never` from `depth` calls down: a stack a dump
// takes a while to unwind and print.
// `waiting` counts the greenlets that got there.
[[gnu::noinline]] void wait_deep(int depth, gs::Event& never, int& waiting) {
  if (depth > 0) {
    wait_deep(depth - 1, never, waiting);
    asm volatile("" ::: "memory");  // not a tail call: each level keeps its frame
    return;
  }
  ++waiting;
  never.wait();
}

// compute_for() keeps the CPU busy for `d` without yielding.
void compute_for(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) asm volatile("" ::: "memory");
}

// crash_during_slow_dump() crashes while a run-info dump is under way and
// will be for seconds: a second hub's greenlets all stand in its ready
// queue ahead of the dump's request, each computing for 5 ms, so that hub
// reaches the request about 10 s later (moving all the while: the dump
// waits for it). The crash report, which needs the monitor thread to
// unwind the crashed stack, must not wait behind the dump.
[[gnu::noinline]] int crash_during_slow_dump() {
  std::atomic<bool> spawned{false};
  std::thread busy([&spawned] {
    std::vector<gs::Greenlet<void>> all;
    for (int i = 0; i < 2000; ++i) all.push_back(gs::spawn([] {
      for (;;) {
        compute_for(5ms);
        gs::yield();
      }
    }));
    spawned.store(true);
    for (auto& g : all) g.join();
  });
  busy.detach();
  while (!spawned.load()) gs::sleep(10ms);
  ::raise(SIGUSR1);
  gs::sleep(1s);
  std::printf("crashing\n");
  std::fflush(stdout);
  ::raise(SIGSEGV);
  return 1;
}

// churn_hubs() starts and ends hub threads `rounds` times, two at a time:
// each hub is created, runs greenlets that sleep and yield, and is torn
// down with its loop, while dumps may be asking it for its account.
int churn_hubs(int rounds) {
  std::printf("running\n");
  std::fflush(stdout);
  const auto life = [] {
    auto a = gs::spawn([] { gs::sleep(1ms); });
    auto b = gs::spawn([] {
      for (int i = 0; i < 20; ++i) gs::yield();
    });
    a.join();
    b.join();
  };
  for (int i = 0; i < rounds; ++i) {
    std::thread one(life), two(life);
    one.join();
    two.join();
  }
  std::printf("done\n");
  std::fflush(stdout);
  return 0;
}

// crowd() spawns `n` greenlets that yield forever on this thread's hub
// (`waiting`: that wait on an Event never set, beside one that yields) and
// one that spawns and joins short-lived greenlets, counts itself in
// `ready` (once all wait, if `waiting`), and joins them (never returns).
void crowd(int n, bool waiting, std::atomic<int>& ready) {
  std::vector<gs::Greenlet<void>> all;
  gs::Event never;
  int at_wait = 0;
  for (int i = 0; i < n; ++i) all.push_back(gs::spawn([waiting, &never, &at_wait] {
    if (waiting) wait_deep(40, never, at_wait);
    for (;;) gs::yield();
  }));
  if (waiting) all.push_back(gs::spawn([] {
    for (;;) gs::yield();
  }));
  all.push_back(gs::spawn([] {
    for (;;) {
      auto child = gs::spawn([] { gs::yield(); });
      child.join();
    }
  }));
  while (waiting && at_wait < n) gs::yield();  // all started and waiting first
  ready.fetch_add(1);
  for (auto& g : all) g.join();
}

void set_stack_kib(const char* kib) {
  gs::RuntimeOptions options;
  options.stack_size = static_cast<std::size_t>(std::atoi(kib)) * 1024;
  gs::configure(options);
}

// file_size() is the size of the file at `path` (0 if none).
long long file_size(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0 ? static_cast<long long>(st.st_size) : 0;
}

// fsize() spins until the trace reached the file size limit (a 20 s
// deadline: exit 3), then spins on: the tracer must not write past it,
// nor the limit's SIGXFSZ kill the program.
int fsize(const char* path) {
  rlimit limit{};
  ::getrlimit(RLIMIT_FSIZE, &limit);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (file_size(path) < static_cast<long long>(limit.rlim_cur)) {
    if (std::chrono::steady_clock::now() > deadline) return 3;
    spin_for(10ms);
  }
  spin_for(50ms);
  std::printf("survived\n");
  std::fflush(stdout);
  return 0;
}

// vm_size() is this process's address space in bytes (/proc/self/statm).
std::size_t vm_size() {
  unsigned long pages = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%lu", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// stacks() spawns greenlets with 8 MiB stacks under an address space limit
// 16 MiB above what the process uses: a spawn must fail cleanly, the
// greenlets already running go on, and once they end, spawning works again.
// Stacks much larger than what a sanitizer's runtime maps for each new
// greenlet (TSan: 0.75 MiB) make the stack the mapping that fails.
int stacks() {
  gs::RuntimeOptions options;
  options.stack_size = 8 << 20;
  options.stack_cache = 0;
  gs::configure(options);
  gs::Event go;
  std::vector<gs::Greenlet<int>> waiting;
  waiting.push_back(gs::spawn([&go] { go.wait(); return 1; }));
  gs::yield();  // the hub and the first greenlet have their stacks
  rlimit old{};
  ::getrlimit(RLIMIT_AS, &old);
  rlimit low = old;
  low.rlim_cur = vm_size() + (16u << 20);
  if (::setrlimit(RLIMIT_AS, &low) != 0) return 4;
  std::string error;
  for (int i = 0; i < 1000 && error.empty(); ++i) {
    try {
      waiting.push_back(gs::spawn([&go] { go.wait(); return 1; }));
      gs::yield();  // let it start (and take its stack)
    } catch (const std::exception& e) {
      char* type = abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, nullptr);
      error = std::string(type != nullptr ? type : typeid(e).name()) + ": " + e.what();
      std::free(type);
    }
  }
  std::printf("spawn failed: %s\n", error.empty() ? "(never)" : error.c_str());
  {
    gs::Pool pool(1);  // a Pool's spawn that fails gives its slot back
    try {
      pool.spawn([] {});
    } catch (const gs::ResourceError&) {
      std::printf("pool slots free after a failed spawn: %zu of 1\n", pool.free_count());
    }
  }
  go.set();
  int ran = 0;
  for (auto& g : waiting) {
    try {
      ran += g.get();
    } catch (const std::exception& e) {
      std::printf("greenlet failed: %s\n", e.what());
    }
  }
  std::printf("%d of %zu greenlets ran\n", ran, waiting.size());
  auto again = gs::spawn([] { return 7; });
  const int seven = again.get();
  ::setrlimit(RLIMIT_AS, &old);
  std::printf("spawn after: %d\n", seven);
  std::fflush(stdout);
  return error.empty() ? 5 : 0;
}

// count_maps() is the number of this process's mappings.
std::size_t count_maps() {
  std::size_t n = 0;
  if (std::FILE* f = std::fopen("/proc/self/maps", "r")) {
    for (int c; (c = std::fgetc(f)) != EOF;) n += c == '\n';
    std::fclose(f);
  }
  return n;
}

// maps() spends the process's mappings (vm.max_map_count) on a region split
// page by page, so that no stack can be mapped: spawn() must throw
// gs::ResourceError and the running greenlet go on; once the region is
// gone, spawning works again.
int maps() {
  gs::Event go;
  auto first = gs::spawn([&go] { go.wait(); return 1; });
  gs::yield();  // it has its stack
  std::printf("filling the map count\n");
  std::fflush(stdout);
  std::size_t max_maps = 65530;
  if (std::FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    if (std::fscanf(f, "%zu", &max_maps) != 1) max_maps = 65530;
    std::fclose(f);
  }
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t pages = 2 * (max_maps - std::min(max_maps, count_maps())) + 64;
  auto* region = static_cast<char*>(
      ::mmap(nullptr, pages * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (region == MAP_FAILED) return 4;
  std::size_t split = 0;
  for (std::size_t i = 1; i < pages; i += 2, ++split)
    if (::mprotect(region + i * page, page, PROT_READ) != 0) break;
  // Stacks are carved from slabs mapped ahead: greenlets still start from
  // the room left in the current slab, until a new slab must be mapped.
  std::string error;
  std::vector<gs::Greenlet<int>> waiting;
  try {
    for (int i = 0; i < 100000; ++i) {
      waiting.push_back(gs::spawn([&go] { go.wait(); return 2; }));
      gs::yield();  // it takes its stack
    }
  } catch (const std::exception& e) {
    char* type = abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, nullptr);
    error = std::string(type != nullptr ? type : typeid(e).name()) + ": " + e.what();
    std::free(type);
  }
  ::munmap(region, pages * page);
  std::printf("split %zu pages\nspawn failed: %s\n", split, error.empty() ? "(never)" : error.c_str());
  go.set();
  const int one = first.get();
  for (auto& g : waiting) g.join();
  const int seven = gs::spawn([] { return 7; }).get();
  std::printf("first greenlet: %d, spawn after: %d\n", one, seven);
  std::fflush(stdout);
  return error.empty() ? 5 : 0;
}

[[gnu::noinline]] void throw_from_destructor() { throw std::runtime_error("thrown from a destructor"); }

// ThrowsOnDestruction's destructor (noexcept, as every destructor is
// unless it says otherwise) lets an exception out: std::terminate().
struct ThrowsOnDestruction {
  ~ThrowsOnDestruction() { throw_from_destructor(); }
};

// ticker() runs greenlets on its own hub thread: exit() comes while it runs,
// or from it (`exits`: a greenlet there calls exit(status)).
void ticker(std::atomic<bool>& started, bool exits, int status) {
  auto g = gs::spawn([&started] {
    started.store(true);
    for (;;) gs::sleep(1ms);
  });
  g.set_name("ticker");
  if (exits) {
    auto exiter = gs::spawn([status] {
      spin_for(20ms);
      std::exit(status);
    });
    exiter.set_name("exiter");
  }
  g.join();
}

// exit_in_greenlet() calls exit(status) from a greenlet, on the main thread
// or on a second hub thread, while greenlets run on both.
int exit_in_greenlet(int status, bool from_other_thread) {
  std::atomic<bool> started{false};
  std::thread([&started, from_other_thread, status] { ticker(started, from_other_thread, status); }).detach();
  while (!started.load()) gs::sleep(1ms);
  auto other = gs::spawn([] {
    for (;;) gs::yield();
  });
  other.set_name("bystander");
  if (!from_other_thread) {
    auto exiter = gs::spawn([status] {
      spin_for(20ms);
      std::exit(status);
    });
    exiter.set_name("exiter");
  }
  other.join();
  return 100;  // not reached
}

// die_in_greenlet() has a greenlet call abort(), or std::terminate() by an
// exception out of a destructor (`terminate`).
int die_in_greenlet(bool terminate) {
  spin_for(20ms);
  auto g = gs::spawn([terminate] {
    gs::yield();
    if (terminate) {
      ThrowsOnDestruction t;
    } else {
      std::abort();
    }
  });
  g.set_name(terminate ? "thrower" : "aborter");
  g.join();
  return 100;  // not reached
}

// fork_exec() forks from a greenlet; the child execs this program ("exit
// 0") with the environment it inherited, or, given `same_path`, with
// GREENSCOPE_TRACE set to that path again (a parent that hands its children
// the trace path it was given).
// The child's environment and arguments are made before the fork: the
// child only execs, allocating nothing (under ASan, whose allocator does
// not lock around fork, a child that allocates can block for good on a
// lock another thread held at the fork).
int fork_exec(const char* self, const char* same_path) {
  spin_for(20ms);
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    if (same_path == nullptr || std::strncmp(*e, "GREENSCOPE_TRACE=", 17) != 0) vars.emplace_back(*e);
  }
  if (same_path != nullptr) vars.push_back(std::string("GREENSCOPE_TRACE=") + same_path);
  std::vector<char*> envp;
  for (std::string& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::string program = self, mode = "exit", code = "0";
  char* const argv[] = {program.data(), mode.data(), code.data(), nullptr};
  int status = 0;
  auto g = gs::spawn([&status, &argv, &envp] {
    const pid_t child = ::fork();
    if (child == 0) {
      ::execve(argv[0], argv, envp.data());
      std::_Exit(127);
    }
    std::printf("child %d\n", static_cast<int>(child));
    std::fflush(stdout);
    ::waitpid(child, &status, 0);
  });
  g.set_name("forker");
  g.join();
  spin_for(20ms);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// fork_exit() forks from a greenlet; the child, which inherited neither the
// tracer's writer nor the stall monitor's thread, starts a monitor of its
// own, stalls, sees the report, and returns from main (its exit handlers
// run). Its exit status is this one's.
int fork_exit() {
  spin_for(20ms);
  pid_t child = -1;
  auto g = gs::spawn([&child] { child = ::fork(); });
  g.join();
  if (child == 0) {
    static std::atomic<bool> seen{false};
    gs::on_stall([](const gs::StallReport&) { seen.store(true); });
    gs::StallOptions o;
    o.threshold = 10ms;
    gs::start_stall_monitor(o);
    auto staller = gs::spawn([] {
      const auto end = std::chrono::steady_clock::now() + 50ms;
      while (std::chrono::steady_clock::now() < end) {
      }
    });
    staller.set_name("child-staller");
    staller.join();
    for (int i = 0; i < 2000 && !seen.load(); ++i) gs::sleep(10ms);
    if (seen.load()) std::printf("child saw its stall\n");
    std::fflush(stdout);
    return seen.load() ? 0 : 6;  // exit handlers and static destructors run in the child
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  spin_for(20ms);
  if (!WIFEXITED(status)) return 10 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return WEXITSTATUS(status);
}

// sleep_ms() sleeps, through signals.
void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  while (::nanosleep(&ts, &ts) != 0) {
  }
}

// storm_init(): the storm mode's constructor says "init" and sleeps, so that the
// signals of a storm begin during static initialization.
[[gnu::constructor]] void storm_init(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "storm") != 0) return;
  std::printf("init\n");
  std::fflush(stdout);
  std::atexit([] { sleep_ms(10); });  // the storm goes on while exit handlers run
  sleep_ms(20);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "loop";
  if (mode == "fsize" && argc > 2) return fsize(argv[2]);
  if (mode == "stacks") return stacks();
  if (mode == "maps") return maps();
  if (mode == "exit-in-greenlet")
    return exit_in_greenlet(argc > 2 ? std::atoi(argv[2]) : 0, argc > 3 && std::strcmp(argv[3], "other-thread") == 0);
  if (mode == "abort-in-greenlet") return die_in_greenlet(false);
  if (mode == "terminate-in-greenlet") return die_in_greenlet(true);
  if (mode == "fork-exec")
    return fork_exec(argv[0], argc > 3 && std::strcmp(argv[2], "same-path") == 0 ? argv[3] : nullptr);
  if (mode == "fork-exit") return fork_exit();
  if (mode == "storm") {
    sleep_ms(20);  // the runtime has no hub yet
    spin_for(50ms);
    std::atexit([] { sleep_ms(10); });  // runs first, while the hub is gone and tracing still on
    return 0;
  }
  if (mode == "loop") {
    spin_for(200ms);
    std::printf("running\n");
    std::fflush(stdout);
    for (;;) spin_for(100ms);
  }
  if (mode == "exit") {
    spin_for(50ms);
    return argc > 2 ? std::atoi(argv[2]) : 0;
  }
  if (mode == "slow-dump-crash") return crash_during_slow_dump();
  if (mode == "hub-churn") return churn_hubs(argc > 2 ? std::atoi(argv[2]) : 100);
  if (mode == "crash") {
    spin_for(50ms);
    ::raise(SIGSEGV);  // as a null dereference would, without the compiler objecting
    return 1;
  }
  if (mode == "fork") {
    spin_for(20ms);
    const pid_t child = ::fork();
    if (child == 0) {
      spin_for(20ms);
      std::_Exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    spin_for(20ms);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  if (mode == "crowd" || mode == "waiters") {
    const int n = argc > 2 ? std::atoi(argv[2]) : 100;
    if (argc > 3) set_stack_kib(argv[3]);
    const bool waiting = mode == "waiters";
    std::atomic<int> ready{0};
    std::thread other([n, waiting, &ready] { crowd(n, waiting, ready); });
    other.detach();
    auto herald = gs::spawn([&ready] {
      while (ready.load() < 2) gs::yield();
      std::printf("running\n");
      std::fflush(stdout);
    });
    crowd(n, waiting, ready);
    return 0;
  }
  if (mode == "selfdump") {
    if (argc > 2) set_stack_kib(argv[2]);
    spin_for(20ms);
    auto dumper = gs::spawn([] {
      const std::string text = gs::format_run_info();
      std::printf("dumped %zu lines\n", static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')));
    });
    dumper.join();
    return 0;
  }
  std::fprintf(stderr, "trace_victim: unknown mode '%s'\n", mode.c_str());
  return 2;
}
