// A small fixed pool of threads fed by a bounded lock-free queue: frame compression and
// blocking storage calls run here, off the network thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <semaphore>
#include <thread>
#include <vector>

#include "pipeline/queue.hpp"

namespace kb::pipeline {

class worker_pool {
 public:
  using task = std::function<void()>;

  /// `threads` workers (at least one); at most `queue_capacity` tasks wait at a time.
  explicit worker_pool(std::size_t threads, std::size_t queue_capacity = 1024)
      : queue_(queue_capacity), slots_(static_cast<std::ptrdiff_t>(queue_.capacity())) {
    if (threads == 0) threads = 1;
    workers_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
  }
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  /// Runs every task already submitted, then joins.
  ~worker_pool() { shutdown(); }

  /// Queues a task; blocks while the queue is full (back-pressure on the producer). False, and
  /// the task is dropped unrun, once shutdown() has begun: nothing would ever run it.
  bool submit(task t) {
    // Counted before the check, so shutdown() waits for a submit that saw the pool open.
    submitting_.fetch_add(1);
    if (stopping_.load()) {
      submitting_.fetch_sub(1);
      return false;
    }
    slots_.acquire();
    // A free slot was reserved above, so the push cannot fail for lack of room.
    while (!queue_.try_push(t)) std::this_thread::yield();
    ready_.release();
    submitting_.fetch_sub(1);
    return true;
  }

  /// Stops accepting work, runs the queued tasks and joins the threads. Idempotent.
  void shutdown() {
    if (stopping_.exchange(true)) return;
    // A submit already past its check still queues its task; the workers must see it.
    while (submitting_.load() != 0) std::this_thread::yield();
    ready_.release(static_cast<std::ptrdiff_t>(workers_.size()));
    for (auto& w : workers_) w.join();
  }

  [[nodiscard]] std::size_t size() const noexcept { return workers_.size(); }

 private:
  void run() {
    for (;;) {
      ready_.acquire();
      // Every release follows a completed push, but with several producers the cell at the
      // head may still be being written by a slower one: spin briefly rather than lose a wake.
      for (;;) {
        if (auto t = queue_.try_pop()) {
          slots_.release();
          (*t)();
          break;
        }
        if (stopping_.load() && queue_.size_approx() == 0) return;
        std::this_thread::yield();
      }
    }
  }

  mpmc_queue<task> queue_;
  std::counting_semaphore<> slots_;
  std::counting_semaphore<> ready_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int> submitting_{0};
  std::vector<std::thread> workers_;
};

}  // namespace kb::pipeline
