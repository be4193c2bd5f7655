// chunk_file.h: a trace file being written, chunk by chunk.
#pragma once

#include <signal.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "greenscope/trace_format.h"

namespace gs::trace::detail {

// ChunkFile owns the file descriptor. Only the writer thread (or whoever
// holds the session's lock) calls it. After a write error it stops writing
// and error() says why.
class ChunkFile {
 public:
  ChunkFile() = default;
  ~ChunkFile();
  ChunkFile(const ChunkFile&) = delete;
  ChunkFile& operator=(const ChunkFile&) = delete;

  // open() creates `path` anew (mode 0600, never through a link; an older
  // file of this user's there is replaced, a pipe or device written into)
  // and writes the file header. Where another process is writing its trace,
  // it writes path-PID instead (path() says which), and says so on stderr.
  bool open(const std::string& path, std::uint64_t flags, std::string* error);
  void close();
  // abandon() closes the file without writing (a forked child's copy),
  // unless this table's copy was closed already (close_program_copy()).
  void abandon();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // close_program_copy() closes this thread's number of the file once the
  // writer thread holds it in a table of its own (own_fd_table.h): the
  // program's close_range() or dup2() then cannot cut the trace short, and
  // the program's table holds nothing of ours. The writer writes and closes
  // the same number in its table. Program's thread, before any fork.
  void close_program_copy();

  // write_chunk() writes one chunk whose payload is the concatenation of
  // `parts`.
  void write_chunk(trace_format::ChunkType type, const std::vector<iovec>& parts);
  void write_chunk(trace_format::ChunkType type, const void* data, std::size_t size) {
    write_chunk(type, {iovec{const_cast<void*>(data), size}});
  }

  std::uint64_t bytes() const { return bytes_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  bool create(const std::string& path, std::string* why, bool* busy);
  bool write_all(std::vector<iovec> parts);

  int fd_ = -1;
  bool opener_holds_ = true;  // the table it was opened in holds it (until close_program_copy())
  std::string path_;
  std::uint32_t sequence_ = 0;
  std::uint64_t bytes_ = 0;
  std::string error_;
};

// FileSizeSignalBlocked keeps the file size limit's SIGXFSZ, whose default
// action kills the process, from reaching this thread while it writes the
// trace: a write past RLIMIT_FSIZE then fails with EFBIG, which ChunkFile
// reports, and the program runs on. The signal that write raised is taken
// back; the program's own disposition is never changed. For threads of the
// program that write (start() writes the file's preamble); greenscope's own
// threads block it for good (quiet_thread.h).
class FileSizeSignalBlocked {
 public:
  FileSizeSignalBlocked();
  ~FileSizeSignalBlocked();
  FileSizeSignalBlocked(const FileSizeSignalBlocked&) = delete;
  FileSizeSignalBlocked& operator=(const FileSizeSignalBlocked&) = delete;

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
};

// PayloadBuilder assembles a small payload: fixed records, varints, strings.
class PayloadBuilder {
 public:
  template <class T>
  void record(const T& value) {
    append(&value, sizeof(T));
  }
  void append(const void* data, std::size_t size);
  void varint(std::uint64_t v);
  void string(std::string_view s);
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }
  void clear() { bytes_.clear(); }

 private:
  std::vector<std::uint8_t> bytes_;
};

}  // namespace gs::trace::detail
