// planted_blocking.cpp: the kinds that block the thread in the kernel: an
// unpatched read() of a pipe another thread writes late, a std::mutex
// another thread holds, a C library sleep (nanosleep) without patch_all(),
// and sqlite3 committing with synchronous=FULL (fdatasync) under
// patch_all(), as issue 13's user ran it.
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "greenscope/runtime.h"
#include "greenscope/threadpool.h"
#include "planted.h"

namespace hunt {
namespace {

void prepare_nothing(const Options&) {}

// --- read ---------------------------------------------------------------------

// hunt_read_reply() is the bug: a plain read() of a pipe whose writer
// answers late, on the hub's thread.
[[gnu::noinline]] char hunt_read_reply(int fd) {
  char c = 0;
  while (::read(fd, &c, 1) < 0 && errno == EINTR) {
  }
  return c;
}

Truth plant_read(const Options& o) {
  int p[2];
  if (::pipe(p) != 0) std::exit(1);
  std::thread writer([&o, fd = p[1]] {
    std::this_thread::sleep_for(o.length);
    if (::write(fd, "x", 1) != 1) std::exit(1);
  });
  Truth t = in_planted_greenlet([fd = p[0]](Truth& x) {
    Measure m;
    hunt_read_reply(fd);
    m.stop(x);
  });
  writer.join();
  ::close(p[0]);
  ::close(p[1]);
  t.function = "hunt_read_reply";
  t.expect = "blocked";
  t.calls = "read";
  return t;
}

// --- mutex --------------------------------------------------------------------

std::mutex g_cache_mutex;
volatile int g_cache_value = 0;

// The holder: an OS thread that takes the mutex in prepare() (before the
// runtime starts: waiting for it there stalls nothing), and once told to go
// holds it for the planted length more.
std::mutex g_go_mutex;
std::condition_variable g_go_cv;
bool g_go = false;
std::thread g_holder;

void prepare_mutex(const Options& o) {
  std::atomic<bool> held{false};
  g_holder = std::thread([length = o.length, &held] {
    const std::lock_guard lock(g_cache_mutex);
    held = true;
    {
      std::unique_lock go(g_go_mutex);
      g_go_cv.wait(go, [] { return g_go; });
    }
    std::this_thread::sleep_for(length);
    g_cache_value = g_cache_value + 1;
  });
  while (!held) std::this_thread::yield();
}

// hunt_cache_lookup() is the bug: it takes a std::mutex an OS thread holds.
[[gnu::noinline]] int hunt_cache_lookup() {
  const std::lock_guard lock(g_cache_mutex);
  return g_cache_value;
}

Truth plant_mutex(const Options&) {
  {
    const std::lock_guard go(g_go_mutex);
    g_go = true;
  }
  g_go_cv.notify_one();
  Truth t = in_planted_greenlet([](Truth& x) {
    Measure m;
    hunt_cache_lookup();
    m.stop(x);
  });
  g_holder.join();
  t.function = "hunt_cache_lookup";
  t.expect = "blocked";
  t.calls = "futex";
  return t;
}

// --- nanosleep ----------------------------------------------------------------

// hunt_rate_limit() is the bug: a vendored C library's own pause, with
// nanosleep() (glibc makes it clock_nanosleep), not made cooperative.
[[gnu::noinline]] void hunt_rate_limit(std::chrono::milliseconds d) {
  timespec ts{static_cast<time_t>(d.count() / 1000), static_cast<long>(d.count() % 1000) * 1'000'000};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

Truth plant_nanosleep(const Options& o) {
  Truth t = in_planted_greenlet([&o](Truth& x) {
    Measure m;
    hunt_rate_limit(o.length);
    m.stop(x);
  });
  t.function = "hunt_rate_limit";
  t.expect = "blocked";
  t.calls = "clock_nanosleep,nanosleep";
  return t;
}

// --- sqlite -------------------------------------------------------------------

sqlite3* g_db = nullptr;
std::string g_path;

void exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(g_db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::fprintf(stderr, "hunt_planted: sqlite: %s: %s\n", sql, error != nullptr ? error : "?");
    std::exit(1);
  }
}

void prepare_sqlite(const Options& o) {
  const std::string path = o.dir + "/hunt-" + std::to_string(::getpid()) + ".db";
  ::unlink(path.c_str());
  ::unlink((path + "-journal").c_str());
  if (sqlite3_open_v2(path.c_str(), &g_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "hunt_planted: cannot open %s\n", path.c_str());
    std::exit(1);
  }
  g_path = path;
  // PERSIST, not DELETE (sqlite's default): DELETE unlinks the journal at
  // every commit, and on ext4 that unlink waits behind the journal commit
  // for a share of the time that varies from run to run (seen: 8 to 61 % of
  // the asleep time); the bug is the syncs, and the truth is where they
  // block.
  exec("PRAGMA journal_mode=PERSIST");
  exec("PRAGMA synchronous=FULL");
  exec("CREATE TABLE events (id INTEGER PRIMARY KEY, at INTEGER, what TEXT)");
}

// hunt_commit_rows() is the bug: one transaction per row, each synced to
// the disk (journal and database, synchronous=FULL) on the hub's thread,
// for `d`.
[[gnu::noinline]] int hunt_commit_rows(std::chrono::milliseconds d) {
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(g_db, "INSERT INTO events (at, what) VALUES (?, 'planted row')", -1, &insert, nullptr);
  const auto end = Clock::now() + d;
  int rows = 0;
  while (Clock::now() < end) {
    // sqlite3_exec() directly: a helper of ours would be the innermost
    // frame of the program's own code, not this function.
    if (sqlite3_exec(g_db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) std::exit(1);
    sqlite3_bind_int64(insert, 1, rows);
    if (sqlite3_step(insert) != SQLITE_DONE) std::exit(1);
    sqlite3_reset(insert);
    if (sqlite3_exec(g_db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) std::exit(1);
    ++rows;
  }
  sqlite3_finalize(insert);
  return rows;
}

Truth plant_sqlite(const Options& o) {
  gs::patch_all();
  Truth t = in_planted_greenlet([&o](Truth& x) {
    Measure m;
    x.call_count = hunt_commit_rows(o.length);
    m.stop(x);
  });
  sqlite3_close(g_db);
  // In the thread pool, as a gevent program would: ext4 can hold an unlink
  // behind a journal commit for over 10 ms (seen: a 13 ms stall of its own).
  gs::run_in_thread([] {
    ::unlink(g_path.c_str());
    ::unlink((g_path + "-journal").c_str());  // PERSIST keeps it
  });
  t.function = "hunt_commit_rows";
  t.expect = "blocked";
  t.calls = "fdatasync,fsync";
  return t;
}

}  // namespace

void add_blocking_kinds(std::vector<Kind>& out) {
  out.push_back({"read", prepare_nothing, plant_read});
  out.push_back({"mutex", prepare_mutex, plant_mutex});
  out.push_back({"nanosleep", prepare_nothing, plant_nanosleep});
  out.push_back({"sqlite", prepare_sqlite, plant_sqlite});
}

}  // namespace hunt
