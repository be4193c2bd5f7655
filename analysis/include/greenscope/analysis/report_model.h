// report_model.h: the numbers behind `greenscope report`, as plain structs
// computed from a trace by pure functions (the viewer can show the same).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <vector>

#include "greenscope/traceio.h"

namespace gs::analysis {

inline constexpr std::size_t kReasons = gs::trace_format::kReasonCount;

// GreenletRow is one greenlet's time: running is the sum of its runs (from a
// switch to it until the next switch away; the hub's time blocked in the
// poll is not running), waiting is split by the reason it gave when it
// switched away.
struct GreenletRow {
  std::uint64_t id = 0;
  std::string name;
  std::uint32_t thread = 0;
  std::uint64_t spawner = 0;  // 0: none known
  std::string spawner_name;
  bool hub = false;
  std::int64_t running_ns = 0;
  std::uint64_t runs = 0;
  std::int64_t longest_run_ns = 0;
  std::int64_t waiting_ns = 0;                       // all reasons
  std::array<std::int64_t, kReasons> wait_ns{};      // by traceio::Reason
  std::array<std::uint64_t, kReasons> wait_count{};  // by traceio::Reason
  std::int64_t exit_ns = -1;                         // -1: alive at the end
  traceio::ExitKind exit_kind = traceio::ExitKind::Returned;
  std::string error;
};

// CallbackRow is one kind of hub callback: a watcher kind, or run_callback.
// total is wall time from begin to end, greenlets running inside included;
// hub is that minus the time greenlets ran inside it.
struct CallbackRow {
  std::string name;  // "io", "timer"... or "run_callback"
  std::uint64_t count = 0;
  std::int64_t total_ns = 0, hub_ns = 0, max_ns = 0;
};

// HubRow splits one hub thread's wall time (its first to last event).
struct HubRow {
  std::uint32_t thread = 0;
  std::string thread_name;
  std::uint64_t hub = 0;
  std::int64_t wall_ns = 0;
  std::int64_t poll_ns = 0;       // blocked in the poll
  std::uint64_t polls = 0;
  std::int64_t longest_poll_ns = 0;
  std::int64_t hub_ns = 0;        // the hub running: callbacks, watchers, loop overhead
  std::int64_t greenlets_ns = 0;  // other greenlets running (main included)
  std::int64_t other_ns = 0;      // the rest: nothing known running
};

// Stat accumulates durations.
struct Stat {
  std::uint64_t count = 0;
  std::int64_t total_ns = 0, max_ns = 0;
  void add(std::int64_t ns);
  std::int64_t mean_ns() const { return count == 0 ? 0 : total_ns / static_cast<std::int64_t>(count); }
};

// JobStats: queue is submit -> begin, run is begin -> end, total is
// submit -> done. begun_before_submit counts jobs whose worker recorded
// JobBegin before the submitter recorded JobSubmit (their queue time is 0).
struct JobStats {
  std::uint64_t submitted = 0, completed = 0, begun_before_submit = 0;
  Stat queue, run, total;
};

struct Report {
  std::vector<GreenletRow> greenlets;  // sorted by id
  std::vector<CallbackRow> callbacks;  // watcher kinds in enum order, then run_callback
  std::vector<HubRow> hubs;
  JobStats jobs;
  std::uint64_t mismatched = 0;  // events that did not pair (timeline.h)
};

struct ReportOptions {
  std::optional<std::uint32_t> thread;  // only this thread
};

Report build_report(const traceio::Trace& trace, const ReportOptions& options = {});

// ReportSink is build_report() for a traceio::scan(): give it as the sink,
// then call report(). It keeps no events: the timelines are walked as the
// events come, and only the thread-pool job events (JobSubmit...JobDone)
// are kept, to pair them across threads. The Trace the scan returns must
// outlive report() (the sink reads its tables).
class ReportSink final : public traceio::EventSink {
 public:
  explicit ReportSink(const ReportOptions& options = {});
  ~ReportSink() override;
  void start(const traceio::Trace& tables) override;
  void begin_thread(const traceio::ThreadInfo& thread) override;
  void events(const traceio::ThreadInfo& thread, std::span<const traceio::Event> events) override;
  void end_thread(const traceio::ThreadInfo& thread) override;
  Report report();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class SortKey { Running, Waiting, Runs, Longest };
// sort_greenlets() sorts descending by `key`, then by id.
void sort_greenlets(std::vector<GreenletRow>& rows, SortKey key);

}  // namespace gs::analysis
