// perfetto_writer.cpp: PacketWriter (perfetto_writer.h).
#include "perfetto_writer.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <zlib.h>

#include "perfetto_trace.pb.h"

namespace gs::cli {

namespace {

namespace pb = perfetto::protos;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::internal::WireFormatLite;

// kBatchBytes: Perfetto wants each compressed_packets packet under 512 KiB;
// deflate never grows a batch by more than a few hundred bytes.
constexpr std::size_t kBatchBytes = 256 << 10;
constexpr std::size_t kQueuedBatches = 2;

// append_packet() appends `packet` as a Trace's `packet` field: tag, length, bytes.
void append_packet(std::string& out, const pb::TracePacket& packet) {
  const std::size_t size = packet.ByteSizeLong();
  const std::uint32_t tag =
      WireFormatLite::MakeTag(pb::Trace::kPacketFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  const std::size_t at = out.size();
  out.resize(at + CodedOutputStream::VarintSize32(tag) + CodedOutputStream::VarintSize32(static_cast<std::uint32_t>(size)) + size);
  auto* p = reinterpret_cast<std::uint8_t*>(out.data() + at);
  p = CodedOutputStream::WriteVarint32ToArray(tag, p);
  p = CodedOutputStream::WriteVarint32ToArray(static_cast<std::uint32_t>(size), p);
  packet.SerializeWithCachedSizesToArray(p);
}

}  // namespace

PacketWriter::PacketWriter(std::FILE* out, bool compress) : out_(out), compress_(compress) {
  batch_.reserve(kBatchBytes + 4096);
  if (compress_) deflater_ = std::thread([this] { deflate_loop(); });
}

PacketWriter::~PacketWriter() {
  if (!finished_) finish();
}

void PacketWriter::write(const pb::TracePacket& packet) {
  const std::size_t before = batch_.size();
  append_packet(batch_, packet);
  raw_bytes_ += batch_.size() - before;
  ++packets_;
  if (batch_.size() >= kBatchBytes) hand_over();
}

bool PacketWriter::put(const std::string& bytes) {
  return bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), out_) == bytes.size();
}

// hand_over() passes the batch on: to the file, or to the deflating thread.
void PacketWriter::hand_over() {
  if (batch_.empty()) return;
  if (!compress_) {
    if (!put(batch_)) failed_ = true;
    batch_.clear();
    return;
  }
  std::string full;
  full.reserve(kBatchBytes + 4096);
  full.swap(batch_);
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return queue_.size() < kQueuedBatches; });
  queue_.push_back(std::move(full));
  changed_.notify_all();
}

// write_bundle() deflates `raw` into one TracePacket's compressed_packets.
bool PacketWriter::write_bundle(const std::string& raw, std::string& deflated) {
  deflated.resize(compressBound(static_cast<uLong>(raw.size())));
  uLongf size = static_cast<uLongf>(deflated.size());
  if (compress2(reinterpret_cast<Bytef*>(deflated.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), Z_BEST_SPEED) != Z_OK)
    return false;
  deflated.resize(size);
  pb::TracePacket bundle;
  bundle.set_compressed_packets(std::move(deflated));
  std::string out;
  append_packet(out, bundle);
  deflated = std::move(*bundle.mutable_compressed_packets());
  return put(out);
}

void PacketWriter::deflate_loop() {
  std::string deflated;
  for (;;) {
    std::string raw;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;
      raw = std::move(queue_.front());
    }
    const bool ok = write_bundle(raw, deflated);
    std::lock_guard lock(mutex_);
    queue_.pop_front();
    if (!ok) failed_ = true;
    changed_.notify_all();
  }
}

bool PacketWriter::finish() {
  if (finished_) return !failed_;
  finished_ = true;
  hand_over();
  if (compress_) {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      changed_.notify_all();
    }
    deflater_.join();
  }
  return !failed_;
}

}  // namespace gs::cli
