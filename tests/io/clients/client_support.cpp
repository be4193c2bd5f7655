// client_support.cpp: see client_support.h.
#include "client_support.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "greenscope/runtime.h"

namespace gs::clients {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }
[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// number_after() reads the integer that follows `key` in `text`; -1 if absent.
long number_after(const std::string& text, const std::string& key) {
  const auto at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::strtol(text.c_str() + at + key.size(), nullptr, 10);
}

}  // namespace

std::optional<std::string> find_executable(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream in(path);
    for (std::string dir; std::getline(in, dir, ':');) {
      if (!dir.empty()) dirs.push_back(dir);
    }
  }
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin"}) dirs.emplace_back(dir);
  for (const auto& dir : dirs) {
    const std::string candidate = dir + "/" + name;
    if (is_executable(candidate)) return candidate;
  }
  return std::nullopt;
}

// ---- ChildProcess ----------------------------------------------------------------
void ChildProcess::start(const std::vector<std::string>& argv) {
  if (pid_ > 0) fail("ChildProcess::start(): already running");
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) fail_errno("pipe2");
  if (::pipe2(out, O_CLOEXEC) != 0) fail_errno("pipe2");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // The child: only raw system calls until exec (the runtime interposes
    // dup2/close, and another thread may hold its locks at fork time). It is
    // killed when this thread dies, so a crashed test leaves no server behind.
    ::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != parent) ::_exit(127);
    if (::syscall(SYS_dup3, in[0], 0, 0) < 0 || ::syscall(SYS_dup3, out[1], 1, 0) < 0) ::_exit(127);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(in[0]);
  ::close(out[1]);
  if (pid_ < 0) {
    ::close(in[1]);
    ::close(out[0]);
    errno = fork_errno;
    fail_errno("fork for " + argv.at(0));
  }
  stdin_fd_ = in[1];  // kept open: the child sees end of file when we are gone
  stdout_fd_ = out[0];
}

ChildProcess::~ChildProcess() { stop(); }

std::string ChildProcess::read_line(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto nl = buffered_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) fail("no line from the child process within " + std::to_string(timeout_ms) + " ms");
    pollfd p{stdout_fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno != EINTR) fail_errno("poll");
    if (r <= 0) continue;
    char buf[512];
    const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno != EINTR) fail_errno("read from the child process");
    if (n == 0) fail("the child process closed its stdout (exited?) before printing a line");
    if (n > 0) buffered_.append(buf, static_cast<std::size_t>(n));
  }
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void ChildProcess::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    bool reaped = false;
    for (int i = 0; i < 500 && !reaped; ++i) {  // up to 5 s
      reaped = ::waitpid(pid_, &status, WNOHANG) == pid_;
      if (!reaped) ::usleep(10000);
    }
    if (!reaped) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdin_fd_ = stdout_fd_ = -1;
}

// ---- SlowHttpServer ----------------------------------------------------------------
void SlowHttpServer::start(const std::string& python3, const std::string& script, int delay_ms, int gather) {
  std::vector<std::string> argv{python3, script, "--delay-ms", std::to_string(delay_ms)};
  if (gather != 0) argv.insert(argv.end(), {"--gather", std::to_string(gather)});
  process_.start(argv);
  const std::string line = process_.read_line(20000);
  port_ = std::atoi(line.c_str());
  if (port_ <= 0) fail("slow_http_server.py printed '" + line + "', not a port");
}

std::string SlowHttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

HttpStats SlowHttpServer::stats() const {
  HttpResult r;
  std::thread([&] { r = http_get(url("/stats"), 10000); }).join();
  if (r.curl_code != CURLE_OK || r.status != 200) {
    fail("GET /stats failed: curl code " + std::to_string(r.curl_code) + " " + r.error + ", status " +
         std::to_string(r.status));
  }
  HttpStats s;
  s.requests = number_after(r.body, "\"requests\": ");
  s.in_flight = number_after(r.body, "\"in_flight\": ");
  s.max_in_flight = number_after(r.body, "\"max_in_flight\": ");
  if (s.requests < 0 || s.in_flight < 0 || s.max_in_flight < 0) fail("GET /stats: unexpected body: " + r.body);
  return s;
}

// ---- RedisServer -------------------------------------------------------------------
void RedisServer::start(const std::string& redis_server) {
  char templ[] = "/tmp/gs-redis-XXXXXX";
  if (::mkdtemp(templ) == nullptr) fail_errno("mkdtemp");
  dir_ = templ;
  socket_path_ = dir_ + "/redis.sock";
  process_.start({redis_server, "--port", "0", "--unixsocket", socket_path_, "--unixsocketperm", "700",
                  "--save", "", "--appendonly", "no", "--dir", dir_, "--logfile", dir_ + "/redis.log",
                  "--daemonize", "no", "--databases", "1", "--loglevel", "warning"});
  // Ready once it answers PING on its socket.
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  std::string last_error = "no attempt";
  while (Clock::now() < deadline) {
    if (!process_.running()) fail("redis-server exited at startup; see its log in " + dir_);
    RedisResult pong = redis_command(socket_path_, {"PING"});
    if (pong.type == REDIS_REPLY_STATUS && pong.text == "PONG") return;
    last_error = pong.text;
    ::usleep(20000);
  }
  fail("redis-server did not answer PING on " + socket_path_ + ": " + last_error);
}

RedisServer::~RedisServer() { stop(); }

void RedisServer::stop() {
  process_.stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    dir_.clear();
  }
}

// ---- BlockedClientsMonitor ---------------------------------------------------------
BlockedClientsMonitor::BlockedClientsMonitor(std::string socket_path) : socket_path_(std::move(socket_path)) {
  thread_ = std::thread([this] { run(); });
}

BlockedClientsMonitor::~BlockedClientsMonitor() {
  try {
    stop();
  } catch (...) {
  }
}

void BlockedClientsMonitor::run() {
  redisContext* c = redisConnectUnix(socket_path_.c_str());
  if (c == nullptr || c->err) {
    error_ = c ? c->errstr : "redisConnectUnix failed";
    if (c) redisFree(c);
    return;
  }
  while (!stopping_.load()) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, "INFO clients"));
    if (reply == nullptr) {
      error_ = c->errstr;
      break;
    }
    if (reply->type == REDIS_REPLY_STRING) {
      const long blocked = number_after(std::string(reply->str, reply->len), "blocked_clients:");
      if (blocked > max_blocked_.load()) max_blocked_.store(blocked);
      samples_.fetch_add(1);
    }
    freeReplyObject(reply);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  redisFree(c);
}

long BlockedClientsMonitor::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  if (!error_.empty()) fail("the INFO clients monitor failed: " + error_);
  return max_blocked_.load();
}

// ---- The clients -----------------------------------------------------------------
namespace {
std::size_t append_body(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct RedisDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisConnection = std::unique_ptr<redisContext, RedisDeleter>;
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

RedisResult connect_unix(const std::string& socket_path, RedisConnection& out) {
  out.reset(redisConnectUnix(socket_path.c_str()));
  if (out == nullptr) return RedisResult{0, "redisConnectUnix: out of memory"};
  if (out->err) return RedisResult{0, std::string("redisConnectUnix: ") + out->errstr};
  return RedisResult{};
}

RedisResult to_result(redisContext* c, redisReply* raw) {
  Reply reply(raw);
  if (reply == nullptr) return RedisResult{0, std::string("no reply: ") + c->errstr};
  RedisResult r;
  r.type = reply->type;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR: r.text.assign(reply->str, reply->len); break;
    case REDIS_REPLY_INTEGER: r.text = std::to_string(reply->integer); break;
    case REDIS_REPLY_ARRAY:  // BLPOP: [key, value]
      if (reply->elements == 2 && reply->element[1]->type == REDIS_REPLY_STRING) {
        r.text.assign(reply->element[1]->str, reply->element[1]->len);
      }
      break;
    default: break;
  }
  return r;
}
}  // namespace

HttpResult http_get(const std::string& url, long timeout_ms) {
  HttpResult r;
  std::unique_ptr<CURL, CurlDeleter> h(curl_easy_init());
  if (!h) {
    r.error = "curl_easy_init failed";
    return r;
  }
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, &append_body);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &r.body);
  r.curl_code = curl_easy_perform(h.get());
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &r.status);
  if (r.curl_code != CURLE_OK) r.error = error[0] ? error : curl_easy_strerror(static_cast<CURLcode>(r.curl_code));
  return r;
}

std::vector<HttpResult> run_curl_clients(const SlowHttpServer& server, int n) {
  std::vector<gs::Greenlet<HttpResult>> greenlets;
  for (int i = 0; i < n; ++i) {
    greenlets.push_back(gs::spawn([url = server.url("/item/" + std::to_string(i))] { return http_get(url); }));
  }
  gs::joinall(greenlets);
  std::vector<HttpResult> results;
  for (auto& g : greenlets) results.push_back(g.get());
  return results;
}

RedisResult blpop(const std::string& socket_path, const std::string& key, double timeout_s) {
  RedisConnection c;
  RedisResult r = connect_unix(socket_path, c);
  if (!c || c->err) return r;
  char timeout[32];
  std::snprintf(timeout, sizeof timeout, "%g", timeout_s);
  return to_result(c.get(), static_cast<redisReply*>(redisCommand(c.get(), "BLPOP %s %s", key.c_str(), timeout)));
}

std::vector<RedisResult> run_blpop_clients(const std::string& socket_path, int n, double timeout_s) {
  std::vector<gs::Greenlet<RedisResult>> greenlets;
  for (int i = 0; i < n; ++i) {
    greenlets.push_back(gs::spawn(
        [&socket_path, i, timeout_s] { return blpop(socket_path, "empty:" + std::to_string(i), timeout_s); }));
  }
  gs::joinall(greenlets);
  std::vector<RedisResult> results;
  for (auto& g : greenlets) results.push_back(g.get());
  return results;
}

RedisResult redis_command(const std::string& socket_path, const std::vector<std::string>& argv) {
  RedisConnection c;
  RedisResult r = connect_unix(socket_path, c);
  if (!c || c->err) return r;
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.c_str());
    lens.push_back(a.size());
  }
  return to_result(c.get(), static_cast<redisReply*>(redisCommandArgv(c.get(), static_cast<int>(args.size()),
                                                                       args.data(), lens.data())));
}

}  // namespace gs::clients
