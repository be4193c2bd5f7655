// fuzz_seeds.cpp: writes the fuzz targets' seed corpus (tests/fuzz/corpus),
// inputs as tests/traceio/fuzz_frame.h reads them, from the trace files
// named on the command line and from tests/cli's synthetic traces:
//   raw-NAME     byte 0 = 0, then the file as it is
//   framed-NAME  byte 0 = 1 (or 3 for a 1.x file), then each chunk of at
//                most 255 bytes as (type, length, payload): the framed
//                inputs, whose checksums the harness makes right
// Run by hand when the corpus is remade (tests/fuzz/README.md):
//   cli_fuzz_seeds OUT_DIR traces/golden-v1.gstrace ...
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "greenscope/trace_format.h"
#include "synthetic_traces.h"

namespace {

namespace tf = gs::trace_format;
using Bytes = std::vector<std::uint8_t>;

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool write_file(const std::string& path, std::uint8_t first, const Bytes& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  std::fputc(first, f);
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
  return std::fclose(f) == 0;
}

// framed() is the file's chunks of at most 255 bytes and a type frame()
// can write, as frame() reads them; larger chunks are left out.
Bytes framed(const Bytes& file) {
  Bytes out;
  tf::FileHeader fh{};
  if (file.size() < sizeof(fh)) return out;
  std::memcpy(&fh, file.data(), sizeof(fh));
  for (std::size_t at = fh.header_size; at + sizeof(tf::ChunkHeader) <= file.size();) {
    tf::ChunkHeader h{};
    std::memcpy(&h, file.data() + at, sizeof(h));
    at += sizeof(h);
    if (h.sync != tf::kChunkSync || h.length > file.size() - at) break;
    if (h.length <= 255 && h.type < 12) {
      out.push_back(static_cast<std::uint8_t>(h.type));
      out.push_back(static_cast<std::uint8_t>(h.length));
      out.insert(out.end(), file.begin() + static_cast<std::ptrdiff_t>(at),
                 file.begin() + static_cast<std::ptrdiff_t>(at + h.length));
    }
    at += h.length;
  }
  return out;
}

std::string base_name(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  const std::size_t dot = name.rfind(".gstrace");
  return dot == std::string::npos ? name : name.substr(0, dot);
}

// add_seeds() writes the raw and the framed seed of one trace file.
bool add_seeds(const std::string& dir, const std::string& trace, const std::string& name) {
  const Bytes file = read_file(trace);
  if (file.size() < sizeof(tf::FileHeader)) {
    std::fprintf(stderr, "cli_fuzz_seeds: cannot read '%s'\n", trace.c_str());
    return false;
  }
  tf::FileHeader fh{};
  std::memcpy(&fh, file.data(), sizeof(fh));
  const Bytes chunks = framed(file);
  bool ok = write_file(dir + "/raw-" + name, 0, file);
  if (!chunks.empty()) ok &= write_file(dir + "/framed-" + name, fh.major < 2 ? 3 : 1, chunks);
  return ok;
}

// add_synthetic() seeds from a synthetic trace, then removes its file.
bool add_synthetic(const std::string& dir, const std::string& trace, const std::string& name) {
  const bool ok = add_seeds(dir, trace, name);
  std::remove(trace.c_str());
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cli_fuzz_seeds OUT_DIR [TRACE...]\n");
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  for (int i = 2; i < argc; ++i) ok &= add_seeds(dir, argv[i], base_name(argv[i]));
  ok &= add_synthetic(dir, gs::cli_test::write_stall_trace(), "synthetic-stalls");
  ok &= add_synthetic(dir, gs::cli_test::write_quiet_trace(2), "synthetic-quiet-2");
  ok &= add_synthetic(dir, gs::cli_test::write_quiet_trace(1), "synthetic-quiet-1");
  return ok ? 0 : 1;
}
