// fd_table_support.h: what the tests of greenscope's own fd tables look at
// (greenscope/detail/own_fd_table.h): a thread's table as /proc shows it,
// and pipes of the program's that must stay open under it.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace gs::test {

// fd_links() is every fd of the table at `fd_dir` (a /proc .../fd folder), as
// the links /proc shows ("socket:[123]", a path).
inline std::set<std::string> fd_links(const std::filesystem::path& fd_dir) {
  std::set<std::string> links;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(fd_dir, ec)) {
    const auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec) links.insert(target.string());
  }
  return links;
}

// thread_fd_links() is the fds of the first thread named `name`; false when
// there is no such thread.
inline bool thread_fd_links(const std::string& name, std::set<std::string>& links) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string n;
    std::getline(comm, n);
    if (n != name) continue;
    links = fd_links(task.path() / "fd");
    return true;
  }
  return false;
}

// settled_thread_fd_links() waits up to 10 s for thread `name` to exist and
// its table to satisfy `done`: a thread leaves the program's table as it
// starts. The table must read the same twice running: a read while the
// thread closes its copy is torn (fd 1 read before the close, the socket's
// link gone when read), which looked like a table holding the program's
// stdout. False when there is no such thread.
template <class F>
bool settled_thread_fd_links(const std::string& name, std::set<std::string>& links, F&& done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool found = false;
  std::set<std::string> previous;
  do {
    previous = links;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    found = thread_fd_links(name, links);
  } while (std::chrono::steady_clock::now() < give_up && !(found && links == previous && done(links)));
  return found;
}

// ProgramPipes are `count` pipes of the program's, at its lowest free
// numbers, where a greenscope thread's own files go in its own table too.
// closed_under_us() lists the ends that are no longer the pipe they were.
class ProgramPipes {
 public:
  explicit ProgramPipes(int count) {
    for (int i = 0; i < count; ++i) {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) continue;
      for (const int fd : p) {
        struct stat st {};
        ::fstat(fd, &st);
        ends_.push_back({fd, st.st_ino});
      }
    }
  }
  ~ProgramPipes() {
    for (const End& e : ends_) ::close(e.fd);
  }
  ProgramPipes(const ProgramPipes&) = delete;
  ProgramPipes& operator=(const ProgramPipes&) = delete;

  std::size_t size() const { return ends_.size(); }
  std::vector<int> closed_under_us() const {
    std::vector<int> closed;
    for (const End& e : ends_) {
      struct stat st {};
      if (::fstat(e.fd, &st) != 0 || st.st_ino != e.inode) closed.push_back(e.fd);
    }
    return closed;
  }

 private:
  struct End {
    int fd;
    ino_t inode;
  };
  std::vector<End> ends_;
};

}  // namespace gs::test
