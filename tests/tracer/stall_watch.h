// stall_watch.h: for tests that make real stalls. StallWatch, an observer
// that lets a test stall until the stall monitor has sampled it where the
// test wants, and wait for the stall's end to be reported, instead of
// stalling or sleeping a fixed time; ScopedEnv, a variable for one test.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <optional>
#include <functional>
#include <string>

#include "greenscope/observer.h"
#include "greenscope/stacks.h"
#include "greenscope/stall.h"

namespace gs::test {

// ScopedEnv sets an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1); else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// StallWatch stands between the runtime and the tracer's recorder while a
// staller runs: it passes every hook on to the recorder unchanged, and notes
// when the monitor has sampled the staller `wanted` times where `where`
// says (inside spin_without_yielding(), asleep in read...) and when it has
// reported the staller's stall ended, with that report. The spinner then
// stalls until it was sampled, not for a fixed time: a loaded machine can
// keep the monitor thread off the CPU for all of a fixed 50 ms, and the hub
// then finds the stall itself, at its end, with no sample. And the test
// waits for the stall's end to be reported rather than sleeping 30 ms.
class StallWatch final : public gs::Observer {
 public:
  using Where = std::function<bool(const StallSample&)>;
  // StallWatch() counts the samples that `where` accepts; the default is
  // the samples whose stack names spin_without_yielding().
  explicit StallWatch(Where where = in_function("spin_without_yielding"), int wanted = 1)
      : where_(std::move(where)), wanted_(wanted) {}
  // in_function() accepts the samples whose stack names `function`.
  static Where in_function(std::string function) {
    return [function](const StallSample& s) { return gs::format_stack(s.stack).find(function) != std::string::npos; };
  }

  // arm() watches greenlet `id` and puts the watch in front of the observer
  // installed now (the recorder trace::start() installed). Hub thread.
  void arm(std::uint64_t id) {
    inner_ = gs::observer();
    spinner_.store(id, std::memory_order_release);
    gs::set_observer(this);
  }
  // disarm() hands the hooks back to the recorder. The watch must outlive
  // the monitor's threads, which may still be in a call through it.
  void disarm() { gs::set_observer(inner_); }
  bool sampled() const { return seen_.load(std::memory_order_acquire) >= wanted_; }
  bool ended() const { return ended_.load(std::memory_order_acquire); }
  // report() is the staller's report as it ended; valid once ended().
  const StallReport& report() const { return report_; }

  // The stall hooks: passed on first, so that what the watch has seen is in
  // the trace.
  void on_stall_begin(const StallReport& r) override { inner_->on_stall_begin(r); }
  void on_stall_sample(const StallReport& r, const StallSample& sample) override {
    inner_->on_stall_sample(r, sample);
    if (!sampled() && is_spinner(r) && where_(sample)) seen_.fetch_add(1, std::memory_order_acq_rel);
  }
  void on_stall_end(const StallReport& r) override {
    inner_->on_stall_end(r);
    if (is_spinner(r) && r.ended && !ended()) {
      report_ = r;
      ended_.store(true, std::memory_order_release);
    }
  }

  // Every other hook, passed on as it is.
  void on_hub_start(const Hub& hub) override { inner_->on_hub_start(hub); }
  void on_hub_stop(const Hub& hub) override { inner_->on_hub_stop(hub); }
  void on_spawn(const GreenletInfo& g, const GreenletInfo& spawner) override { inner_->on_spawn(g, spawner); }
  void on_switch(const GreenletInfo& from, const GreenletInfo& to, SwitchReason reason) override {
    inner_->on_switch(from, to, reason);
  }
  void on_rename(const GreenletInfo& g) override { inner_->on_rename(g); }
  void on_exit(const GreenletInfo& g, ExitKind kind, std::string_view error) override {
    inner_->on_exit(g, kind, error);
  }
  void on_poll_begin(const Hub& hub) override { inner_->on_poll_begin(hub); }
  void on_poll_end(const Hub& hub, int pending) override { inner_->on_poll_end(hub, pending); }
  void on_callbacks_begin(const Hub& hub) override { inner_->on_callbacks_begin(hub); }
  void on_callbacks_end(const Hub& hub, std::size_t items) override { inner_->on_callbacks_end(hub, items); }
  void on_watcher_begin(const Hub& hub, WatcherKind kind, const void* watcher, int fd, int revents) override {
    inner_->on_watcher_begin(hub, kind, watcher, fd, revents);
  }
  void on_watcher_end(const Hub& hub, WatcherKind kind, const void* watcher) override {
    inner_->on_watcher_end(hub, kind, watcher);
  }
  void on_callback_enqueue(const Hub& hub) override { inner_->on_callback_enqueue(hub); }
  void on_callback_begin(const Hub& hub) override { inner_->on_callback_begin(hub); }
  void on_callback_end(const Hub& hub) override { inner_->on_callback_end(hub); }
  void on_error(const Hub& hub, const GreenletInfo* g, std::string_view text) override {
    inner_->on_error(hub, g, text);
  }
  void on_timeout(const Hub& hub, const GreenletInfo& target, Duration seconds) override {
    inner_->on_timeout(hub, target, seconds);
  }
  void on_patched_wait_begin(const char* call, int fd) override { inner_->on_patched_wait_begin(call, fd); }
  void on_patched_wait_end(const char* call, int fd) override { inner_->on_patched_wait_end(call, fd); }
  void on_job_submit(const Hub& hub, const void* job) override { inner_->on_job_submit(hub, job); }
  void on_job_begin(const void* job, std::size_t worker) override { inner_->on_job_begin(job, worker); }
  void on_job_end(const void* job, std::size_t worker) override { inner_->on_job_end(job, worker); }
  void on_job_done(const Hub& hub, const void* job) override { inner_->on_job_done(hub, job); }
  void on_loop_lag(const Hub& hub, std::int64_t lag_ns) override { inner_->on_loop_lag(hub, lag_ns); }
  void on_blocking_call(const char* call, int fd, std::int64_t duration_ns, const std::uintptr_t* stack,
                        std::size_t depth) override {
    inner_->on_blocking_call(call, fd, duration_ns, stack, depth);
  }
  void on_crash(int sig, std::uintptr_t fault_address, std::uint64_t greenlet_id, bool overflow,
                const std::uintptr_t* stack, std::size_t depth, std::string_view text) override {
    inner_->on_crash(sig, fault_address, greenlet_id, overflow, stack, depth, text);
  }
  void on_run_info(std::string_view trigger, std::string_view text) override { inner_->on_run_info(trigger, text); }

 private:
  bool is_spinner(const StallReport& r) const {
    return r.owner == gs::StallOwner::Greenlet && r.greenlet_id == spinner_.load(std::memory_order_acquire);
  }

  gs::Observer* inner_ = nullptr;  // set before the watch is installed, then never changed
  std::atomic<std::uint64_t> spinner_{0};
  const Where where_;
  const int wanted_;
  std::atomic<int> seen_{0};
  std::atomic<bool> ended_{false};
  StallReport report_;  // written before ended_ is set, then read only
};

}  // namespace gs::test
