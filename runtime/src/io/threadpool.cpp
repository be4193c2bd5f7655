// threadpool.cpp: gs::ThreadPool. Workers take jobs from a locked queue and
// hand finished ones back through an ev_async, whose callback wakes the
// waiting greenlets on the hub's thread.
#include "greenscope/threadpool.h"

#include <ev.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "greenscope/config.h"
#include "greenscope/errors.h"
#include "greenscope/lock.h"
#include "hub_impl.h"
#include "sys.h"

namespace gs::detail {

// PoolJob is one apply() call. `fn` and `error` pass to a worker and back
// under the pool's mutex; `waiter` and `done` belong to the hub thread.
struct PoolJob {
  std::function<void()> fn;
  std::exception_ptr error;
  GreenletBase* waiter = nullptr;  // null once the caller stopped waiting
  bool done = false;
};

class ThreadPoolImpl {
 public:
  ThreadPoolImpl(HubImpl& hub, std::size_t max_threads) : hub_(hub), max_threads_(max_threads) {
    ev_async_init(&async_, &on_async);
    async_.data = this;
    ev_async_start(hub_.ev(), &async_);
    ev_unref(hub_.ev());  // only outstanding jobs keep the loop alive
  }

  ~ThreadPoolImpl() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      queue_.clear();
    }
    work_.notify_all();
    for (auto& t : threads_) t.join();
    if (outstanding_ == 0) ev_ref(hub_.ev());
    ev_async_stop(hub_.ev(), &async_);
  }

  HubImpl& hub() const { return hub_; }

  void submit(const std::shared_ptr<PoolJob>& job) {
    if (outstanding_++ == 0) ev_ref(hub_.ev());
    // Before the queue sees it: a worker may start the job at once.
    if (Observer* o = observer_if_any()) [[unlikely]] o->on_job_submit(hub_, job.get());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(job);
      if (idle_ == 0 && threads_.size() < max_threads_) {
        const std::size_t index = threads_.size();
        threads_.emplace_back([this, index] { work(index); });
      }
    }
    work_.notify_one();
  }

  std::size_t max_threads() const { return max_threads_; }
  std::size_t threads_started() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return threads_.size();
  }
  std::size_t pending() const { return outstanding_; }

 private:
  void work(std::size_t index) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      ++idle_;
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      --idle_;
      if (stopping_) return;
      std::shared_ptr<PoolJob> job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      if (Observer* o = observer_if_any()) [[unlikely]] o->on_job_begin(job.get(), index);
      std::exception_ptr error;
      try {
        job->fn();
      } catch (...) {
        error = std::current_exception();
      }
      if (Observer* o = observer_if_any()) [[unlikely]] o->on_job_end(job.get(), index);
      lock.lock();
      job->error = std::move(error);
      job->fn = nullptr;  // drop captures on the worker, not the hub
      finished_.push_back(std::move(job));
      ev_async_send(hub_.ev(), &async_);
    }
  }

  static void on_async(struct ev_loop*, ev_async* w, int revents) {
    auto* self = static_cast<ThreadPoolImpl*>(w->data);
    WatcherScope scope(self->hub_, WatcherKind::Async, w, -1, revents);
    std::vector<std::shared_ptr<PoolJob>> done;
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      done.swap(self->finished_);
    }
    for (auto& job : done) {
      job->done = true;
      if (Observer* o = observer_if_any()) [[unlikely]] o->on_job_done(self->hub_, job.get());
      if (job->waiter != nullptr) self->hub_.wake(*job->waiter);
      if (--self->outstanding_ == 0) ev_unref(self->hub_.ev());
    }
  }

  HubImpl& hub_;
  const std::size_t max_threads_;
  ev_async async_;
  std::size_t outstanding_ = 0;  // hub thread only
  mutable std::mutex mutex_;     // guards everything below
  std::condition_variable work_;
  std::deque<std::shared_ptr<PoolJob>> queue_;
  std::vector<std::shared_ptr<PoolJob>> finished_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

ThreadPool& HubImpl::default_pool() {
  if (!default_pool_) default_pool_ = std::make_unique<ThreadPool>(gs::options().threadpool_size);
  return *default_pool_;
}

int getaddrinfo_in_pool(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  // The job owns copies: a killed caller stops waiting, the lookup does not.
  struct Lookup {
    std::optional<std::string> node, service;
    std::optional<addrinfo> hints;
    addrinfo* result = nullptr;
    int rc = 0;
    bool taken = false;
    ~Lookup() {
      if (!taken && result != nullptr) ::freeaddrinfo(result);
    }
  };
  auto lookup = std::make_shared<Lookup>();
  if (node) lookup->node = node;
  if (service) lookup->service = service;
  if (hints) lookup->hints = *hints;
  HubImpl::current().default_pool().apply([lookup] {
    lookup->rc = sys::libc().getaddrinfo(lookup->node ? lookup->node->c_str() : nullptr,
                                         lookup->service ? lookup->service->c_str() : nullptr,
                                         lookup->hints ? &*lookup->hints : nullptr, &lookup->result);
  });
  *res = lookup->result;
  lookup->taken = true;
  return lookup->rc;
}

}  // namespace gs::detail

namespace gs {

ThreadPool::ThreadPool(std::size_t max_threads) {
  if (max_threads == 0) throw UsageError("gs::ThreadPool: max_threads must be at least 1");
  detail::checked_count(max_threads, "gs::ThreadPool");
  impl_ = std::make_unique<detail::ThreadPoolImpl>(detail::HubImpl::current(), max_threads);
}

ThreadPool::~ThreadPool() = default;

std::size_t ThreadPool::max_threads() const { return impl_->max_threads(); }
std::size_t ThreadPool::threads_started() const { return impl_->threads_started(); }
std::size_t ThreadPool::pending() const { return impl_->pending(); }

void ThreadPool::run(std::function<void()> fn) {
  detail::HubImpl& hub = impl_->hub();
  if (detail::HubImpl::current_if_any() != &hub) {
    throw UsageError("gs::ThreadPool::apply() must be called on the thread that created the pool; "
                     "give each thread its own pool (or use gs::run_in_thread())");
  }
  if (hub.running() == &hub.hub_greenlet_base()) {
    throw UsageError("gs::ThreadPool::apply() waits for the job; call it from a greenlet, not from a "
                     "hub callback");
  }
  auto job = std::make_shared<detail::PoolJob>();
  job->fn = std::move(fn);
  job->waiter = hub.running();
  impl_->submit(job);
  try {
    while (!job->done) hub.block_current(WaitInfo{SwitchReason::Wait, job.get(), "ThreadPool.apply()"}, kForever);
  } catch (...) {
    job->waiter = nullptr;
    throw;
  }
  job->waiter = nullptr;
  if (job->error) std::rethrow_exception(job->error);
}

ThreadPool& default_threadpool() { return detail::HubImpl::current().default_pool(); }

std::vector<AddressInfo> getaddrinfo(const std::string& host, const std::string& service, int family,
                                     int socktype, int flags) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = socktype;
  hints.ai_flags = flags;
  if (host.find('\0') != std::string::npos || service.find('\0') != std::string::npos) {
    // libc would read up to the NUL and resolve another name than asked.
    throw GaiError(EAI_NONAME, "gs::getaddrinfo(): the host or service holds a NUL byte, so it names "
                               "nothing; pass the name without it");
  }
  addrinfo* res = nullptr;
  const int rc = detail::getaddrinfo_in_pool(host.empty() ? nullptr : host.c_str(),
                                             service.empty() ? nullptr : service.c_str(), &hints, &res);
  if (rc != 0) {
    throw GaiError(rc, "gs::getaddrinfo(" + host + ", " + service + "): " + gai_strerror(rc));
  }
  std::vector<AddressInfo> out;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    AddressInfo info;
    info.family = a->ai_family;
    info.socktype = a->ai_socktype;
    info.protocol = a->ai_protocol;
    const auto* bytes = reinterpret_cast<const unsigned char*>(a->ai_addr);
    info.address.assign(bytes, bytes + a->ai_addrlen);
    if (a->ai_canonname != nullptr) info.canonical_name = a->ai_canonname;
    out.push_back(std::move(info));
  }
  ::freeaddrinfo(res);
  return out;
}

}  // namespace gs
