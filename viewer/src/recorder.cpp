// recorder.cpp: Recorder, `greenscope record` as a child process.
#include "recorder.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace gs::viewer {

std::string find_greenscope() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path dir = self.parent_path();
    for (const auto& candidate : {dir / "greenscope", dir / ".." / "tracer" / "cli" / "greenscope"})
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "greenscope";
}

bool Recorder::start(const std::vector<std::string>& program, std::string* trace, std::string* error) {
  char dir[] = "/tmp/greenscope-viewer-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return *error = std::string("mkdtemp: ") + std::strerror(errno), false;
  *trace = std::string(dir) + "/live.gstrace";
  std::vector<std::string> argv = {find_greenscope(), "record", "-o", *trace, "--"};
  argv.insert(argv.end(), program.begin(), program.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return *error = std::string("fork: ") + std::strerror(errno), false;
  if (pid == 0) {
    ::execvp(cargv[0], cargv.data());
    std::fprintf(stderr, "greenscope-viewer: cannot run %s: %s\n", cargv[0], std::strerror(errno));
    ::_exit(127);
  }
  pid_ = pid;
  program_ = program.front();
  status_ = "recording " + program_ + " (pid " + std::to_string(pid) + ")";
  return true;
}

void Recorder::poll() {
  if (pid_ <= 0) return;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r != pid_) return;
  pid_ = -1;
  if (WIFEXITED(st)) status_ = program_ + " exited " + std::to_string(WEXITSTATUS(st));
  else status_ = program_ + " was killed by signal " + std::to_string(WTERMSIG(st));
}

Recorder::~Recorder() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace gs::viewer
