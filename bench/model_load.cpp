// model_load.cpp: what loading a big trace into greenscope::analysis's Model
// costs (docs/benchmarks.md, "Loading the model"). A plain program, not a
// Google Benchmark: one load is the measurement, and its memory is the
// process's.
//
//   gs_model_load_bench generate FILE [EVENTS]   write a synthetic trace of
//       EVENTS events (default 10 million): 4 hub threads of 1000 greenlets
//       each woken by I/O watchers, callbacks, timers, loop lag, blocking
//       calls, and a stall monitor thread reporting a stall every 2,000
//       loop iterations. Written with tests/traceio's TraceBuilder.
//   gs_model_load_bench load FILE                load FILE into a Model once and
//       print the load time, spans, bytes per event (Model::resident_bytes()
//       and the process's VmHWM/VmRSS over the events).
//   gs_model_load_bench decode FILE [THREADS]     time traceio::load() alone with
//       LoadOptions::decode_threads = THREADS (0: automatic).
//   gs_model_load_bench follow FILE [PIECE_KIB]    follow FILE with
//       analysis::Follow from its start, PIECE_KIB (default 512, what the
//       viewer asks for per frame) per update(), as a viewer catching up
//       with a live trace does: the whole time, each update's time in the
//       first and the last tenth of the file (the same when nothing is read
//       twice), the model's bytes per event and the peak RSS.
#include <algorithm>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "greenscope/analysis/model.h"
#include "trace_builder.h"

namespace {

namespace tf = gs::trace_format;
using gs::test::BlockWriter;
using gs::test::ByteSink;
using gs::test::TraceBuilder;

constexpr std::uint32_t kHubThreads = 4;
constexpr std::uint64_t kGreenletsPerThread = 1000;
constexpr std::size_t kBlockBytes = 64 * 1024;
constexpr std::uint64_t kStallEvery = 2000;  // loop iterations
constexpr std::uint64_t kWhatRecv = 1, kWhatSleep = 2, kCallFsync = 3;

struct Stall {
  std::uint64_t begin_ticks, end_ticks, greenlet;
  std::uint32_t thread;
};

// ThreadWriter writes one thread's stream block by block, keeping what a
// BlockStart must repeat (ticks, current, hub, last resumed).
class ThreadWriter {
 public:
  ThreadWriter(TraceBuilder& file, std::uint32_t thread) : file_(file), thread_(thread) { open(); }

  ByteSink& event(tf::Tag tag, std::uint64_t delta) {
    ++events;
    ticks += delta;
    return block_->event(tag, delta);
  }
  void extension(tf::Tag tag, std::uint64_t delta, const ByteSink& fields) {
    ++events;
    ticks += delta;
    block_->extension(tag, delta, fields);
  }
  void resume(tf::Reason r, std::uint64_t delta, std::uint64_t to) {
    ++events;
    ticks += delta;
    block_->resume(r, delta).zz(static_cast<std::int64_t>(to - last_resumed));
    last_resumed = current = to;
  }
  ByteSink& suspend(tf::Reason r, std::uint64_t delta) {
    ++events;
    ticks += delta;
    current = hub;
    return block_->suspend(r, delta);
  }
  // flush_if_full() ends the block at an event boundary once it is big.
  void flush_if_full() {
    if (block_->bytes().size() >= kBlockBytes) {
      flush();
      open();
    }
  }
  void flush() { file_.events(thread_, seq_++, *block_); }

  std::uint64_t ticks = gs::test::kStartTicks, current = 0, hub = 0, last_resumed = 0;
  std::uint64_t events = 0;

 private:
  void open() { block_ = std::make_unique<BlockWriter>(ticks, current, hub, last_resumed); }

  TraceBuilder& file_;
  std::uint32_t thread_;
  std::uint32_t seq_ = 0;
  std::unique_ptr<BlockWriter> block_;
};

// hub_thread() writes one hub thread until it has `target` events.
void hub_thread(TraceBuilder& file, std::uint32_t index, std::uint64_t target, std::vector<Stall>& stalls) {
  ThreadWriter w(file, index);
  const std::uint64_t base = 1 + index * 100000ULL, hub = base, main = base + 1;
  w.current = main;
  w.event(tf::Tag::HubStart, 10).varint(hub).varint(main);
  w.hub = hub;
  for (std::uint64_t g = 0; g < kGreenletsPerThread; ++g)
    w.event(tf::Tag::Spawn, 20).varint(base + 2 + g).varint(main).str("worker-" + std::to_string(g));
  w.suspend(tf::Reason::Wait, 30).varint(0);
  std::uint64_t next = 0;  // the next greenlet to wake, round robin
  const auto wake = [&] { return base + 2 + (next++ * 7919) % kGreenletsPerThread; };
  for (std::uint64_t i = 0; w.events < target; ++i) {
    w.event(tf::Tag::PollBegin, 400);
    w.event(tf::Tag::PollEnd, 20000 + i % 5000).varint(3);
    for (int k = 0; k < 3; ++k) {
      const std::uint64_t g = wake();
      const std::int64_t fd = 10 + static_cast<std::int64_t>(g % 200);
      w.event(tf::Tag::WatcherBegin, 200).u8(static_cast<std::uint8_t>(tf::WatcherKind::Io)).zz(fd).varint(1);
      w.resume(tf::Reason::Resume, 300, g);
      const bool stall = k == 0 && i % kStallEvery == kStallEvery - 1;
      const std::uint64_t run = stall ? 60'000'000 : 1500 + (g % 13) * 100;  // ticks: 2 per ns
      if (stall) {
        stalls.push_back(Stall{w.ticks + 1, w.ticks + run, g, index});
        w.extension(tf::Tag::BlockingCall, run,
                    ByteSink().varint(kCallFsync).zz(fd).varint(run / 2).varint(1 + g % 8));
      }
      w.extension(tf::Tag::WaitStack, stall ? 100 : run, ByteSink().varint(1 + g % 8));
      w.suspend(tf::Reason::Io, 50).varint(kWhatRecv).varint(static_cast<std::uint64_t>(fd)).varint(1);
      w.event(tf::Tag::WatcherEnd, 200).u8(static_cast<std::uint8_t>(tf::WatcherKind::Io));
    }
    w.event(tf::Tag::CallbacksBegin, 300);
    w.event(tf::Tag::CallbackBegin, 100);
    w.event(tf::Tag::CallbackEnd, 900);
    w.event(tf::Tag::CallbacksEnd, 100).varint(1);
    if (i % 50 == 0) {
      w.event(tf::Tag::WatcherBegin, 200).u8(static_cast<std::uint8_t>(tf::WatcherKind::Timer)).zz(-1).varint(0x100);
      w.resume(tf::Reason::Resume, 300, wake());
      w.suspend(tf::Reason::Sleep, 2000).varint(kWhatSleep);
      w.event(tf::Tag::WatcherEnd, 200).u8(static_cast<std::uint8_t>(tf::WatcherKind::Timer));
      w.extension(tf::Tag::LoopLag, 100, ByteSink().varint(150000));
    }
    w.flush_if_full();
  }
  w.flush();
}

// monitor_thread() writes the stall monitor's reports of `stalls`.
std::uint64_t monitor_thread(TraceBuilder& file, std::uint32_t index, std::vector<Stall> stalls) {
  std::sort(stalls.begin(), stalls.end(), [](const Stall& x, const Stall& y) { return x.begin_ticks < y.begin_ticks; });
  ThreadWriter w(file, index);
  std::uint64_t id = 0;
  for (const Stall& s : stalls) {
    const std::uint64_t at = s.begin_ticks + 50'000'000;  // flagged 25 ms in
    if (at < w.ticks) continue;
    w.extension(tf::Tag::StallBegin, at - w.ticks,
                ByteSink().varint(++id).varint(s.thread).varint(s.begin_ticks).varint(s.greenlet).u8(0).u8(0));
    for (std::uint64_t k = 0; k < 3; ++k)
      w.extension(tf::Tag::StallSample, 1'000'000, ByteSink().varint(id).varint(1 + k).u8(0).zz(-1));
    w.extension(tf::Tag::StallEnd, s.end_ticks + 10 > w.ticks ? s.end_ticks + 10 - w.ticks : 1,
                ByteSink().varint(id).varint(s.end_ticks).varint(29'000'000).varint(30'000'000).u8(0).zz(-1));
    w.flush_if_full();
  }
  w.flush();
  return w.events;
}

int generate(const std::string& path, std::uint64_t events) {
  TraceBuilder file;
  file.process();
  for (std::uint32_t t = 0; t < kHubThreads; ++t) file.thread(t, "hub-" + std::to_string(t), 1000 + t);
  file.thread(kHubThreads, "greenscope-monitor", 2000);
  file.strings({{kWhatRecv, "socket.recv"}, {kWhatSleep, "sleep"}, {kCallFsync, "fsync()"}});
  std::vector<std::pair<std::uint64_t, std::vector<std::uint64_t>>> stacks;
  for (std::uint64_t s = 1; s <= 8; ++s) stacks.push_back({s, {0x401000 + s * 16, 0x402000, 0x403000}});
  file.stacks(stacks);
  std::vector<Stall> stalls;
  std::uint64_t written = 0;
  for (std::uint32_t t = 0; t < kHubThreads; ++t) hub_thread(file, t, events / kHubThreads, stalls);
  written += monitor_thread(file, kHubThreads, stalls);
  file.end();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(file.bytes().data()), static_cast<std::streamsize>(file.bytes().size()));
  std::printf("%s: %zu bytes, %zu stalls\n", path.c_str(), file.bytes().size(), stalls.size());
  return out ? 0 : 1;
}

// status_kib() is a /proc/self/status field ("VmHWM") in KiB.
long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + std::char_traits<char>::length(field) + 1, nullptr, 10);
  return -1;
}

int load(const std::string& path) {
  const long rss_before = status_kib("VmRSS");
  gs::analysis::Model model;
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  if (!model.load(path, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto events = static_cast<double>(model.processes.at(0).stats.events);
  const long hwm = status_kib("VmHWM"), rss = status_kib("VmRSS");
  std::printf("events            %.0f\n", events);
  std::printf("load              %.3f s (%.1f M events/s)\n", seconds, events / seconds / 1e6);
  std::printf("spans             %zu (%.2f per event)\n", model.span_count(), static_cast<double>(model.span_count()) / events);
  std::printf("resident_bytes    %zu (%.2f B/event; kept traces %zu)\n", model.resident_bytes(),
              static_cast<double>(model.resident_bytes()) / events, model.retained_trace_bytes());
  std::printf("VmRSS after load  %ld KiB (%.2f B/event over the %ld KiB before)\n", rss,
              static_cast<double>(rss - rss_before) * 1024 / events, rss_before);
  std::printf("VmHWM (peak)      %ld KiB (%.2f B/event)\n", hwm, static_cast<double>(hwm) * 1024 / events);
  // What of the RSS is free heap glibc kept (the decoded events, the
  // timeline's spans) rather than the model.
  malloc_trim(0);
  const long trimmed = status_kib("VmRSS");
  std::printf("VmRSS, malloc_trim %ld KiB (%.2f B/event over the %ld KiB before)\n", trimmed,
              static_cast<double>(trimmed - rss_before) * 1024 / events, rss_before);
  return 0;
}

// decode() times traceio::load() alone with `threads` decoding threads
// (LoadOptions::decode_threads; this mode needs the new option).
int decode(const std::string& path, unsigned threads) {
  gs::traceio::LoadOptions options;
  options.decode_threads = threads;
  const auto start = std::chrono::steady_clock::now();
  const gs::traceio::LoadResult r = gs::traceio::load(path, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (r.trace == nullptr) return 1;
  std::printf("traceio::load, %u decoding threads: %.3f s for %zu events\n", threads, seconds, r.trace->event_count());
  return 0;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int follow(const std::string& path, std::uint64_t piece_kib) {
  gs::analysis::Model model;
  gs::analysis::Follow f(model, path);
  std::vector<double> ms;
  const auto start = std::chrono::steady_clock::now();
  do {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string error = f.update(piece_kib << 10);
    if (!error.empty()) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  } while (!f.at_end());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto events = static_cast<double>(model.processes.at(0).stats.events);
  const std::size_t tenth = std::max<std::size_t>(1, ms.size() / 10);
  const std::vector<double> first(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(tenth));
  const std::vector<double> last(ms.end() - static_cast<std::ptrdiff_t>(tenth), ms.end());
  std::printf("events            %.0f\n", events);
  std::printf("follow            %.3f s (%.1f M events/s), %zu updates of %llu KiB\n", seconds,
              events / seconds / 1e6, ms.size(), static_cast<unsigned long long>(piece_kib));
  std::printf("update, median    first tenth %.2f ms, last tenth %.2f ms; slowest %.2f ms\n", median(first),
              median(last), *std::max_element(ms.begin(), ms.end()));
  std::printf("spans             %zu (%.2f per event)\n", model.span_count(), static_cast<double>(model.span_count()) / events);
  std::printf("resident_bytes    %zu (%.2f B/event)\n", model.resident_bytes(),
              static_cast<double>(model.resident_bytes()) / events);
  std::printf("VmHWM (peak)      %ld KiB (%.2f B/event)\n", status_kib("VmHWM"),
              static_cast<double>(status_kib("VmHWM")) * 1024 / events);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[1] : "";
  if (mode == "generate") return generate(argv[2], argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 10'000'000);
  if (mode == "load") return load(argv[2]);
  if (mode == "decode") return decode(argv[2], argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 0);
  if (mode == "follow") return follow(argv[2], argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 512);
  std::fprintf(stderr, "usage: %s generate FILE [EVENTS] | load FILE | decode FILE [THREADS] | follow FILE [PIECE_KIB]\n",
               argv[0]);
  return 2;
}
