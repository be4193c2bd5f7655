// client_support.h: what the real-client tests and the timing program share:
// starting and stopping real server processes (a slow Python HTTP server, a
// private redis-server), and the client code itself (libcurl's and hiredis's
// blocking APIs, one call per greenlet).
//
// Nothing here depends on GoogleTest; errors are std::runtime_error.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace gs::clients {

// find_executable() looks `name` up in $PATH, then in /usr/local/bin,
// /usr/bin, /usr/sbin and /bin; nullopt if it is nowhere.
std::optional<std::string> find_executable(const std::string& name);

// ChildProcess is a server process this program started: its stdin is a pipe
// the child can watch for end of file, its stdout a pipe we read. Killed
// (SIGTERM, then SIGKILL) and reaped by stop() or the destructor, and killed
// by the kernel (PR_SET_PDEATHSIG) if the thread that started it dies first,
// so a crashed or timed-out test leaves no server running.
class ChildProcess {
 public:
  ChildProcess() = default;
  // start() runs argv[0] (a path) with `argv`; stderr is inherited.
  void start(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // read_line() returns the next line of the child's stdout; throws if none
  // comes within `timeout_ms` or the child exits first.
  std::string read_line(int timeout_ms);
  // running() is true until the child exited (reaps it if it did).
  bool running();
  void stop();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
};

// ---- The slow HTTP server (slow_http_server.py, a separate process) ---------
struct HttpStats {
  long requests = 0;       // requests served, /stats excluded
  long in_flight = 0;      // being served now
  long max_in_flight = 0;  // the most served at once since it started
};

class SlowHttpServer {
 public:
  // start() runs `python3 slow_http_server.py --delay-ms delay_ms` (and
  // `--gather gather` when it is not 0: every request is held until that many
  // are in flight together) and waits for the port it prints.
  void start(const std::string& python3, const std::string& script, int delay_ms, int gather = 0);
  void stop() { process_.stop(); }
  int port() const { return port_; }
  std::string url(const std::string& path) const;
  // stats() asks GET /stats. It runs on a fresh std::thread, which has no hub,
  // so its I/O goes straight to libc whatever patch_all() says.
  HttpStats stats() const;

 private:
  ChildProcess process_;
  int port_ = 0;
};

// ---- A private redis-server ----------------------------------------------------
// RedisServer runs redis-server on a Unix socket in a fresh temporary
// directory, with persistence off and TCP disabled; stop() kills it and
// removes the directory.
class RedisServer {
 public:
  void start(const std::string& redis_server);
  ~RedisServer();
  void stop();
  const std::string& socket_path() const { return socket_path_; }

 private:
  ChildProcess process_;
  std::string dir_;
  std::string socket_path_;
};

// BlockedClientsMonitor polls `INFO clients` on its own connection from a
// plain std::thread (no hub: its calls go straight to libc) every few
// milliseconds and keeps the largest blocked_clients seen.
class BlockedClientsMonitor {
 public:
  explicit BlockedClientsMonitor(std::string socket_path);
  ~BlockedClientsMonitor();  // stop()
  BlockedClientsMonitor(const BlockedClientsMonitor&) = delete;
  BlockedClientsMonitor& operator=(const BlockedClientsMonitor&) = delete;
  // stop() ends the polling; returns the largest blocked_clients seen.
  long stop();
  long max_blocked() const { return max_blocked_.load(); }
  long samples() const { return samples_.load(); }

 private:
  void run();
  std::string socket_path_;
  std::atomic<bool> stopping_{false};
  std::atomic<long> max_blocked_{0};
  std::atomic<long> samples_{0};
  std::string error_;  // written by the thread, read after join
  std::thread thread_;
};

// ---- The clients -----------------------------------------------------------------
// HttpResult is one curl_easy_perform()'s outcome.
struct HttpResult {
  int curl_code = -1;  // CURLcode
  long status = 0;
  std::string body;
  std::string error;  // curl's error buffer when curl_code != 0
};

// http_get() is one blocking libcurl easy transfer (curl_easy_perform).
HttpResult http_get(const std::string& url, long timeout_ms = 30000);

// run_curl_clients() spawns `n` greenlets, each doing one http_get() of
// server.url("/item/<i>"), joins them all and returns their results in order.
std::vector<HttpResult> run_curl_clients(const SlowHttpServer& server, int n);

// RedisResult is what one BLPOP (or other command) returned.
struct RedisResult {
  int type = 0;  // REDIS_REPLY_*; 0 when the command failed
  std::string text;  // the error, a string reply, or BLPOP's popped value
};

// blpop() connects to `socket_path` with hiredis's blocking API and runs
// `BLPOP key timeout_s` on its own connection.
RedisResult blpop(const std::string& socket_path, const std::string& key, double timeout_s);

// run_blpop_clients() spawns `n` greenlets, each doing blpop() on its own
// empty list "empty:<i>", joins them all and returns their results in order.
std::vector<RedisResult> run_blpop_clients(const std::string& socket_path, int n, double timeout_s);

// redis_command() runs one command on a new blocking hiredis connection and
// returns the reply as RedisResult (integers as decimal text).
RedisResult redis_command(const std::string& socket_path, const std::vector<std::string>& argv);

}  // namespace gs::clients
