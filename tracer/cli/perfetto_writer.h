// perfetto_writer.h: TracePackets to a file, as a Perfetto trace (a Trace
// message: each packet its `packet` field), optionally deflated in bundles.
//
// With compression on, packets are serialized into 256 KiB batches and each
// batch goes out as one TracePacket whose compressed_packets field holds it
// deflated (a zlib stream): what Perfetto's own tracing service writes when
// asked to compress, and what its trace processor and UI read. A second
// thread deflates while the caller encodes; at most two batches wait for it,
// so memory stays bounded whatever the trace's size.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace perfetto::protos {
class TracePacket;
}

namespace gs::cli {

class PacketWriter {
 public:
  // PacketWriter writes to `out` (not owned; the caller closes it).
  PacketWriter(std::FILE* out, bool compress);
  ~PacketWriter();
  PacketWriter(const PacketWriter&) = delete;
  PacketWriter& operator=(const PacketWriter&) = delete;

  // write() appends one packet.
  void write(const perfetto::protos::TracePacket& packet);
  // finish() writes what is buffered and stops the deflating thread; false
  // if a write or the deflating failed (errno says why for a write).
  bool finish();

  std::uint64_t packets() const { return packets_; }
  // raw_bytes() is the size of the packets before compression.
  std::uint64_t raw_bytes() const { return raw_bytes_; }

 private:
  void hand_over();
  void deflate_loop();
  bool write_bundle(const std::string& raw, std::string& deflated);
  bool put(const std::string& bytes);

  std::FILE* out_;
  const bool compress_;
  std::string batch_;
  std::uint64_t packets_ = 0, raw_bytes_ = 0;
  bool failed_ = false;  // guarded by mutex_ once the thread runs
  bool finished_ = false;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;  // guarded by mutex_: batches waiting to be deflated
  bool closing_ = false;           // guarded by mutex_
  std::thread deflater_;
};

}  // namespace gs::cli
