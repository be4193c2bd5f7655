// subprocess.cpp: gs::Subprocess and gs::PipeEnd. The exit is learned from
// an ev_child watcher on the main thread's hub (libev's default loop reaps
// every child there), and from a pidfd elsewhere; the pidfd also tells the
// main hub's wait() when to stop counting on the SIGCHLD.
#include "greenscope/subprocess.h"

#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "greenscope/detail/deadline.h"
#include "greenscope/detail/quiet_thread.h"

#include "greenscope/errors.h"
#include "greenscope/event.h"
#include "greenscope/greenlet.h"
#include "hub_impl.h"
#include "io_wait.h"
#include "sys.h"

extern char** environ;

namespace gs {

namespace {
using detail::sys::libc;

void wait_or_throw(int fd, int events, const char* what) {
  detail::throw_unless_ready(detail::wait_fd(fd, events, kForever, what), kForever, what);
}

int returncode_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}
}  // namespace

// --- PipeEnd ---------------------------------------------------------------------
PipeEnd::~PipeEnd() { close(); }
PipeEnd::PipeEnd(PipeEnd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
PipeEnd& PipeEnd::operator=(PipeEnd&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void PipeEnd::close() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));  // the runtime's close(): wakes waiters
}

std::string PipeEnd::read(std::size_t max) {
  if (max == 0 || max > static_cast<std::size_t>(PTRDIFF_MAX)) {
    throw UsageError("greenscope: gs::PipeEnd::read(" + std::to_string(max) + "): " +
                     (max == 0 ? "0 bytes cannot tell data from the end of the file"
                               : "a negative number passed as std::size_t") +
                     "; ask for at least 1 byte (the default is 65536)");
  }
  if (fd_ < 0) throw IoError(EBADF, "gs::PipeEnd::read(): the pipe is closed");
  std::string out(max, '\0');
  for (;;) {
    const ssize_t r = libc().read(fd_, out.data(), max);
    if (r >= 0) {
      out.resize(static_cast<std::size_t>(r));
      return out;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) throw IoError(errno, "gs::PipeEnd::read(fd " + std::to_string(fd_) + ")");
    wait_or_throw(fd_, kIoRead, "gs::PipeEnd::read()");
  }
}

std::string PipeEnd::read_all() {
  std::string all;
  for (;;) {
    std::string chunk = read();
    if (chunk.empty()) return all;
    all += chunk;
  }
}

void PipeEnd::write_all(std::string_view data) {
  if (fd_ < 0) throw IoError(EBADF, "gs::PipeEnd::write_all(): the pipe is closed");
  // A write to a pipe whose reader is gone raises SIGPIPE, which would kill
  // the process: block it for the write and discard it if it came.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  while (!data.empty()) {
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    const ssize_t r = libc().write(fd_, data.data(), data.size());
    const int error = errno;
    if (r < 0 && error == EPIPE) {
      const timespec zero{0, 0};
      sigtimedwait(&pipe_set, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (r >= 0) {
      data.remove_prefix(static_cast<std::size_t>(r));
      continue;
    }
    if (error == EINTR) continue;
    if (error != EAGAIN) throw IoError(error, "gs::PipeEnd::write_all(fd " + std::to_string(fd_) + ")");
    wait_or_throw(fd_, kIoWrite, "gs::PipeEnd::write_all()");
  }
}

// --- Subprocess ------------------------------------------------------------------
// Exit tracks the child's exit. Every child has a pidfd, readable once it has
// exited. On the main hub libev's default loop reaps every child on SIGCHLD
// (waitpid(-1)), and an ev_child watcher takes the status; it keeps Exit
// alive (self) until then, so a Subprocess may go first. Elsewhere wait()
// reaps the child itself once the pidfd is readable.
struct Subprocess::Exit {
  detail::HubImpl* hub = nullptr;
  pid_t pid = -1;
  std::optional<int> returncode;
  Event done;
  ev_child child;
  bool watching = false;
  bool unrefed = false;
  int pidfd = -1;
  std::shared_ptr<Exit> self;

  static void on_child(struct ev_loop* loop, ev_child* w, int revents) {
    auto* e = static_cast<Exit*>(w->data);
    detail::WatcherScope scope(*e->hub, WatcherKind::Child, w, -1, revents);
    e->returncode = returncode_of(w->rstatus);
    if (e->unrefed) ev_ref(loop);
    ev_child_stop(loop, w);
    e->watching = false;
    e->done.set();
    e->self.reset();  // may destroy *e: last statement
  }

  // wait_for_exit() waits until the status is known.
  void wait_for_exit(Duration timeout) {
    if (returncode) return;
    if (watching) return wait_for_watcher(timeout);
    reap_with_pidfd(timeout);
  }

  // wait_for_watcher() waits for the ev_child watcher (main hub). It does not
  // rely on the SIGCHLD reaching the loop: once the pidfd says the child has
  // exited, it tells libev a SIGCHLD came (ev_feed_signal), and libev reaps.
  // A lost SIGCHLD (blocked, taken by another library's handler, or lost
  // inside ThreadSanitizer, seen once in 300 runs) used to hang wait().
  void wait_for_watcher(Duration timeout) {
    detail::Deadline deadline(timeout, "gs::Subprocess::wait()");
    detail::throw_unless_ready(detail::wait_fd(pidfd, kIoRead, deadline.remaining(), "gs::Subprocess::wait()"),
                               timeout, "gs::Subprocess::wait(pidfd)");
    if (!returncode) ev_feed_signal(SIGCHLD);
    if (!returncode && !done.wait(deadline.remaining())) throw TimeoutError(timeout);
  }

  // reap_with_pidfd() waits for the child through its pidfd (non-main hubs).
  void reap_with_pidfd(Duration timeout) {
    detail::Deadline deadline(timeout, "gs::Subprocess::wait()");
    while (!returncode) {
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        returncode = returncode_of(status);
        break;
      }
      if (r < 0 && errno != EINTR) {
        throw IoError(errno, "gs::Subprocess::wait(pid " + std::to_string(pid) +
                                 "): the child was reaped elsewhere (on the main thread, libev's default "
                                 "loop reaps every child; start children from the main thread's hub)");
      }
      if (r == 0) {
        detail::throw_unless_ready(detail::wait_fd(pidfd, kIoRead, deadline.remaining(), "gs::Subprocess::wait()"),
                                   timeout, "gs::Subprocess::wait(pidfd)");
      }
    }
    done.set();
  }
};

namespace {
// check_strings() refuses what exec would silently cut short: a NUL byte in
// an argument, an environment entry or the directory; and an environment
// entry that is not NAME=value.
void check_strings(const std::vector<std::string>& argv, const Subprocess::Options& options) {
  auto refuse = [](const std::string& what) {
    throw UsageError("greenscope: gs::Subprocess: " + what + "; exec would cut it at the NUL, so pass it without");
  };
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i].find('\0') != std::string::npos) refuse("argv[" + std::to_string(i) + "] holds a NUL byte");
  }
  for (std::size_t i = 0; i < options.env.size(); ++i) {
    const std::string& e = options.env[i];
    if (e.find('\0') != std::string::npos) refuse("env[" + std::to_string(i) + "] holds a NUL byte");
    if (e.find('=') == std::string::npos || e[0] == '=') {
      throw UsageError("greenscope: gs::Subprocess: env[" + std::to_string(i) +
                       "] is not NAME=value; every entry names a variable and its value");
    }
  }
  if (options.cwd.find('\0') != std::string::npos) refuse("cwd holds a NUL byte");
}
}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv) : Subprocess(argv, Options{}) {}

Subprocess::Subprocess(const std::vector<std::string>& argv, Options options) {
  if (argv.empty()) throw UsageError("gs::Subprocess: argv needs at least the program name");
  check_strings(argv, options);
  if (options.in == Stdio::Stdout || options.out == Stdio::Stdout) {
    throw UsageError("gs::Subprocess: Stdio::Stdout is only for stderr (Options::err)");
  }
  detail::HubImpl& hub = detail::HubImpl::current();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  struct ActionsGuard {
    posix_spawn_file_actions_t* a;
    ~ActionsGuard() { posix_spawn_file_actions_destroy(a); }
  } actions_guard{&actions};
  std::vector<int> child_ends;
  struct ChildEndsGuard {
    std::vector<int>& fds;
    ~ChildEndsGuard() {
      for (int fd : fds) detail::sys::libc().close(fd);
    }
  } child_guard{child_ends};

  auto connect = [&](Stdio how, int target, PipeEnd& parent_end, bool child_reads) {
    switch (how) {
      case Stdio::Inherit: return;
      case Stdio::Null:
        posix_spawn_file_actions_addopen(&actions, target, "/dev/null", child_reads ? O_RDONLY : O_WRONLY, 0);
        return;
      case Stdio::Stdout:
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, target);
        return;
      case Stdio::Pipe: {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw IoError(errno, "gs::Subprocess: pipe2()");
        const int child = child_reads ? fds[0] : fds[1];
        const int parent = child_reads ? fds[1] : fds[0];
        ::fcntl(parent, F_SETFL, ::fcntl(parent, F_GETFL) | O_NONBLOCK);  // our own end only
        parent_end = PipeEnd(parent);
        child_ends.push_back(child);
        posix_spawn_file_actions_adddup2(&actions, child, target);
        return;
      }
    }
  };
  connect(options.in, STDIN_FILENO, in_, true);
  connect(options.out, STDOUT_FILENO, out_, false);
  connect(options.err, STDERR_FILENO, err_, false);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());

  // The child starts with default signal actions and an empty mask, whatever
  // this process ignores or blocks (SIGPIPE especially).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (const auto& e : options.env) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);

  exit_ = std::make_shared<Exit>();
  exit_->hub = &hub;
  const bool main_loop = ev_is_default_loop(hub.ev());
  // On the main hub the watcher must exist before the child can exit: libev
  // reaps at once and drops statuses nobody watches.
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, &attr, args.data(),
                                options.env.empty() ? environ : env.data());
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw IoError(rc, "gs::Subprocess: cannot run '" + argv[0] + "'");
  pid_ = pid;
  exit_->pid = pid;
  if (main_loop) {
    // The SIGCHLD that reports this child is handled by the loop, which runs
    // only once this greenlet yields, so starting the watcher now is in time.
    ev_child_init(&exit_->child, &Exit::on_child, pid, 0);
    exit_->child.data = exit_.get();
    ev_child_start(hub.ev(), &exit_->child);
    exit_->watching = true;
    exit_->self = exit_;
  }
  // The child cannot have been reaped yet: libev reaps only from the loop.
  exit_->pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (exit_->pidfd < 0) throw IoError(errno, "gs::Subprocess: pidfd_open()");
}

Subprocess::~Subprocess() {
  in_.close();
  out_.close();
  err_.close();
  if (!exit_) return;
  if (exit_->watching && !exit_->unrefed) {
    // Still running: keep reaping it, but no longer keep the loop alive.
    ev_unref(exit_->hub->ev());
    exit_->unrefed = true;
  }
  if (exit_->pidfd >= 0) {
    ::close(exit_->pidfd);
    exit_->pidfd = -1;
    if (!exit_->returncode && !exit_->watching) {
      // Reap it later from the pool so it does not stay a zombie.
      const pid_t pid = pid_;
      detail::quiet_thread([pid] {
        int status = 0;
        ::waitpid(pid, &status, 0);
      }).detach();
    }
  }
}

int Subprocess::wait(Duration timeout) {
  exit_->wait_for_exit(timeout);
  return *exit_->returncode;
}

std::optional<int> Subprocess::poll() const {
  if (!exit_->returncode && !exit_->watching) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) exit_->returncode = returncode_of(status);
  }
  return exit_->returncode;
}

void Subprocess::send_signal(int signo) {
  if (exit_->returncode) return;  // reaped: the pid may belong to someone else now
  if (::kill(pid_, signo) != 0 && errno != ESRCH) {
    throw IoError(errno, "gs::Subprocess::send_signal(pid " + std::to_string(pid_) + ")");
  }
}

void Subprocess::terminate() { send_signal(SIGTERM); }
void Subprocess::kill() { send_signal(SIGKILL); }

Subprocess::Result Subprocess::communicate(std::string_view input, Duration timeout) {
  detail::Deadline deadline(timeout, "gs::Subprocess::communicate()");
  Result result;
  std::vector<GreenletRef> workers;
  if (in_.is_open()) {
    std::string copy(input);
    workers.push_back(gs::spawn([this, copy] {
      try {
        if (!copy.empty()) in_.write_all(copy);
      } catch (const IoError& e) {
        if (e.error() != EPIPE) throw;  // the child stopped reading: not an error here
      }
      in_.close();
    }));
  }
  if (out_.is_open()) workers.push_back(gs::spawn([this, &result] { result.out = out_.read_all(); }));
  if (err_.is_open()) workers.push_back(gs::spawn([this, &result] { result.err = err_.read_all(); }));
  struct KillOnExit {
    std::vector<GreenletRef>& ws;
    ~KillOnExit() { gs::killall(ws, /*block=*/false); }
  } guard{workers};
  for (auto& w : workers) {
    if (!w.join(deadline.remaining())) {
      gs::killall(workers);  // they use `result`: wait until they are gone
      throw TimeoutError(timeout);
    }
    if (w.exception()) std::rethrow_exception(w.exception());
  }
  result.returncode = wait(deadline.remaining());
  return result;
}

}  // namespace gs
