#include "chunk_file.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "greenscope/trace_env.h"

namespace gs::trace::detail {

namespace tf = trace_format;

ChunkFile::~ChunkFile() { close(); }

namespace {

// create_new() creates `path` as a new file only this user can read: a
// trace holds the program's arguments, host name and stacks.
// O_EXCL and O_NOFOLLOW: nothing already at the path is ever written
// through, so a symbolic link planted there (in a shared /tmp) cannot make
// the tracer overwrite the file it points to.
int create_new(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

// being_written() says whether the regular file at `path` is a trace that a
// live process is writing: the tracer holds an exclusive flock() on every
// trace file while it writes it (a forked child, which shares it, does too).
bool being_written(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  const bool locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return locked;
}

// open_existing() opens what already stands at `path`, or says why not:
// this user's own regular file (an earlier run's trace) is replaced, by
// unlinking it (a hard link to it keeps its contents, where truncating
// would not), unless a live process is writing it (`*busy`); a pipe or a
// character device (mkfifo, /dev/null) is written into, which clobbers no
// file; anything else is refused.
int open_existing(const std::string& path, std::string* why, bool* busy) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return create_new(path);  // gone meanwhile
  if (S_ISLNK(st.st_mode)) {
    *why = "it is a symbolic link, and greenscope does not write through links (remove it, or choose another path)";
    return -1;
  }
  if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) return ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (!S_ISREG(st.st_mode)) {
    *why = "something other than a file, a pipe or a device is there (choose another path)";
    return -1;
  }
  if (st.st_uid != ::geteuid()) {
    *why = "a file of another user is there (choose another path)";
    return -1;
  }
  if (being_written(path)) {
    *why = "another process is writing its trace there";
    *busy = true;
    return -1;
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    *why = std::string("an older file is there and cannot be removed: ") + std::strerror(errno);
    return -1;
  }
  return create_new(path);  // EEXIST now: something was planted since the unlink
}

}  // namespace

// create() creates the file for open(); false with the reason in `why`.
// A regular file is locked (flock) for as long as it is open: another
// process tracing to the same path (a child given it explicitly) must not
// replace it (being_written()).
bool ChunkFile::create(const std::string& path, std::string* why, bool* busy) {
  fd_ = create_new(path);
  if (fd_ < 0 && errno == EEXIST) fd_ = open_existing(path, why, busy);
  if (fd_ < 0) {
    if (why->empty()) *why = std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) ::flock(fd_, LOCK_EX);
  return true;
}

bool ChunkFile::open(const std::string& path, std::uint64_t flags, std::string* error) {
  close();
  opener_holds_ = true;
  std::string why;
  bool busy = false;
  std::string chosen = path;
  if (!create(path, &why, &busy) && busy) {
    // Another process's live trace: this one gets a file of its own.
    chosen = trace_env::expand_pid(trace_env::per_process(path), ::getpid());
    std::fprintf(stderr, "greenscope: '%s' is being written by another process's tracer; tracing to '%s' instead\n",
                 path.c_str(), chosen.c_str());
    why.clear();
    create(chosen, &why, &busy);
  }
  if (fd_ < 0) {
    if (error) *error = "cannot create trace file '" + chosen + "': " + why;
    return false;
  }
  path_ = chosen;
  sequence_ = 0;
  bytes_ = 0;
  error_.clear();
  tf::FileHeader h{};
  std::memcpy(h.magic, tf::kFileMagic, sizeof h.magic);
  h.major = tf::kFormatMajor;
  h.minor = tf::kFormatMinor;
  h.header_size = sizeof h;
  h.flags = flags;
  if (!write_all({iovec{&h, sizeof h}})) {
    if (error) *error = error_;
    close();
    return false;
  }
  return true;
}

void ChunkFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void ChunkFile::abandon() {
  // Closes this process's descriptor only: the lock stays with the other's.
  if (fd_ >= 0 && opener_holds_) ::close(fd_);
  fd_ = -1;
  error_ = "abandoned";
}

void ChunkFile::close_program_copy() {
  if (fd_ < 0 || !opener_holds_) return;
  // Marked first: a fork in between leaves the child a stray copy to close
  // at exec (O_CLOEXEC), never a number of someone else's to close.
  opener_holds_ = false;
  ::close(fd_);
}

void ChunkFile::write_chunk(tf::ChunkType type, const std::vector<iovec>& parts) {
  if (fd_ < 0 || !error_.empty()) return;
  tf::ChunkHeader h{};
  h.sync = tf::kChunkSync;
  h.type = static_cast<std::uint16_t>(type);
  std::uint32_t crc = 0;
  std::size_t length = 0;
  for (const iovec& part : parts) {
    crc = tf::crc32c(part.iov_base, part.iov_len, crc);
    length += part.iov_len;
  }
  h.length = static_cast<std::uint32_t>(length);
  h.payload_crc = crc;
  h.sequence = sequence_++;
  h.header_crc = tf::header_crc(h);
  std::vector<iovec> all;
  all.reserve(parts.size() + 1);
  all.push_back(iovec{&h, sizeof h});
  all.insert(all.end(), parts.begin(), parts.end());
  write_all(std::move(all));
}

// write_all() writes every part, resuming after short writes and EINTR.
bool ChunkFile::write_all(std::vector<iovec> parts) {
  std::size_t first = 0;
  while (first < parts.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(parts.size() - first, IOV_MAX));
    const ssize_t n = ::writev(fd_, &parts[first], count);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = "writing trace file '" + path_ + "' failed: " + std::strerror(errno);
      if (errno == EFBIG) error_ += " (the process's file size limit, RLIMIT_FSIZE: ulimit -f)";
      return false;
    }
    bytes_ += static_cast<std::uint64_t>(n);
    std::size_t left = static_cast<std::size_t>(n);
    while (first < parts.size() && left >= parts[first].iov_len) left -= parts[first++].iov_len;
    if (left > 0) {
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + left;
      parts[first].iov_len -= left;
    }
  }
  return true;
}

namespace {

bool xfsz_pending() {
  sigset_t pending;
  return ::sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ) == 1;
}

}  // namespace

FileSizeSignalBlocked::FileSizeSignalBlocked() {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGXFSZ);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask_);
  was_pending_ = xfsz_pending();
}

FileSizeSignalBlocked::~FileSizeSignalBlocked() {
  if (!was_pending_ && xfsz_pending()) {  // raised by our write past the limit: not the program's
    sigset_t which;
    sigemptyset(&which);
    sigaddset(&which, SIGXFSZ);
    const timespec now{0, 0};
    ::sigtimedwait(&which, nullptr, &now);
  }
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void PayloadBuilder::varint(std::uint64_t v) {
  std::uint8_t buf[tf::kMaxVarint];
  const std::uint8_t* end = tf::put_varint(buf, v);
  bytes_.insert(bytes_.end(), static_cast<const std::uint8_t*>(buf), end);
}

void PayloadBuilder::append(const void* data, std::size_t size) {
  const std::size_t at = bytes_.size();
  bytes_.resize(at + size);
  std::memcpy(bytes_.data() + at, data, size);
}

void PayloadBuilder::string(std::string_view s) {
  varint(s.size());
  bytes_.insert(bytes_.end(), s.begin(), s.end());
}

}  // namespace gs::trace::detail
