#include "pipeline/queue.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/memory_budget.hpp"
#include "pipeline/worker_pool.hpp"

namespace kb::pipeline {
namespace {

TEST(mpmc_queue, capacity_rounds_up_to_a_power_of_two) {
  EXPECT_EQ(mpmc_queue<int>(5).capacity(), 8u);
  EXPECT_EQ(mpmc_queue<int>(8).capacity(), 8u);
  EXPECT_EQ(mpmc_queue<int>(0).capacity(), 2u);
}

TEST(mpmc_queue, fifo_full_and_empty) {
  mpmc_queue<int> q(4);
  EXPECT_FALSE(q.try_pop().has_value());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(q.try_push(i));
  int extra = 99;
  EXPECT_FALSE(q.try_push(extra));
  EXPECT_EQ(extra, 99);  // a failed push leaves the value alone
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q.try_pop(), i);
  EXPECT_FALSE(q.try_pop().has_value());
  // Wraps around the ring several times.
  for (int round = 0; round < 10; ++round) {
    EXPECT_TRUE(q.try_push(round));
    EXPECT_EQ(q.try_pop(), round);
  }
}

TEST(mpmc_queue, moves_owning_values_and_destroys_leftovers) {
  auto counter = std::make_shared<int>(0);
  {
    mpmc_queue<std::shared_ptr<int>> q(4);
    EXPECT_TRUE(q.try_push(std::shared_ptr<int>(counter)));
    EXPECT_TRUE(q.try_push(std::shared_ptr<int>(counter)));
    EXPECT_EQ(counter.use_count(), 3);
    auto one = q.try_pop();
    ASSERT_TRUE(one.has_value());
    EXPECT_EQ(one->get(), counter.get());
  }
  EXPECT_EQ(counter.use_count(), 1);  // the one left in the queue was destroyed with it
}

// Bounded stress: 4 producers, 4 consumers, a small ring; every value arrives exactly once.
TEST(mpmc_queue, stress_every_value_exactly_once) {
  constexpr int producers = 4, consumers = 4, per_producer = 50'000;
  mpmc_queue<int> q(64);
  std::vector<std::atomic<int>> seen(producers * per_producer);
  std::atomic<int> popped{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        int v = p * per_producer + i;
        while (!q.try_push(v)) {
          if (std::chrono::steady_clock::now() > deadline) return;
          std::this_thread::yield();
        }
      }
    });
  }
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&] {
      while (popped.load() < producers * per_producer) {
        if (auto v = q.try_pop()) {
          seen[static_cast<std::size_t>(*v)].fetch_add(1);
          popped.fetch_add(1);
        } else {
          if (std::chrono::steady_clock::now() > deadline) return;
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(popped.load(), producers * per_producer);
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].load(), 1) << "value " << i;
}

// SPSC order: one producer, one consumer see the values in order.
TEST(mpmc_queue, single_producer_single_consumer_keeps_order) {
  constexpr int n = 100'000;
  mpmc_queue<int> q(16);
  std::thread producer([&] {
    for (int i = 0; i < n; ++i)
      while (!q.try_push(i)) std::this_thread::yield();
  });
  int expected = 0;
  while (expected < n) {
    if (auto v = q.try_pop()) {
      ASSERT_EQ(*v, expected);
      ++expected;
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
}

TEST(memory_budget, acquire_release_and_overshoot) {
  memory_budget b(100);
  EXPECT_TRUE(b.try_acquire(60));
  EXPECT_FALSE(b.try_acquire(41));
  EXPECT_TRUE(b.try_acquire(40));
  EXPECT_EQ(b.available(), 0u);
  b.release(50);
  EXPECT_EQ(b.used(), 50u);
  b.force_acquire(120);  // a batch larger than asked for (KIP-74)
  EXPECT_EQ(b.used(), 170u);
  EXPECT_EQ(b.available(), 0u);
  EXPECT_FALSE(b.try_acquire(1));
  b.release(170);
  EXPECT_TRUE(b.try_acquire(100));
  EXPECT_FALSE(b.try_acquire(101 - 100 + 100));
}

TEST(memory_budget, concurrent_acquirers_never_exceed_the_limit) {
  memory_budget b(1000);
  std::atomic<bool> over{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20'000; ++i) {
        if (b.try_acquire(300)) {
          if (b.used() > 1000) over = true;
          b.release(300);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(over.load());
  EXPECT_EQ(b.used(), 0u);
}

TEST(memory_budget, returning_free_memory_is_rate_limited) {
  using namespace std::chrono_literals;
  // The first call only starts the clock; a zero interval lets the next one through, and
  // right after it an hour-long interval holds every caller back, from any thread.
  (void)return_free_memory(1h);
  EXPECT_TRUE(return_free_memory(0s));
  EXPECT_FALSE(return_free_memory(1h));
  std::atomic<int> trimmed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j) trimmed += return_free_memory(1h) ? 1 : 0;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(trimmed.load(), 0);
}

TEST(worker_pool, runs_every_task_including_those_queued_at_shutdown) {
  std::atomic<int> ran{0};
  {
    worker_pool pool(3, 8);  // a small queue: submit blocks and applies back-pressure
    for (int i = 0; i < 1000; ++i) pool.submit([&] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(worker_pool, tasks_run_on_pool_threads) {
  std::atomic<int> on_caller{0};
  const auto caller = std::this_thread::get_id();
  worker_pool pool(2);
  for (int i = 0; i < 50; ++i)
    pool.submit([&] {
      if (std::this_thread::get_id() == caller) on_caller.fetch_add(1);
    });
  pool.shutdown();
  EXPECT_EQ(on_caller.load(), 0);
  EXPECT_EQ(pool.size(), 2u);
}

TEST(worker_pool, submit_after_shutdown_is_refused_and_never_queued) {
  std::atomic<int> ran{0};
  worker_pool pool(2);
  EXPECT_TRUE(pool.submit([&] { ran.fetch_add(1); }));
  pool.shutdown();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_FALSE(pool.submit([&] { ran.fetch_add(1); }));
  EXPECT_EQ(ran.load(), 1);
}

TEST(worker_pool, every_accepted_task_runs_when_shutdown_races_submits) {
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> accepted{0};
    std::atomic<int> ran{0};
    worker_pool pool(2, 4);
    std::vector<std::thread> submitters;
    for (int i = 0; i < 3; ++i)
      submitters.emplace_back([&] {
        for (int j = 0; j < 200; ++j)
          if (pool.submit([&] { ran.fetch_add(1); })) accepted.fetch_add(1);
      });
    pool.shutdown();
    for (auto& t : submitters) t.join();
    EXPECT_EQ(ran.load(), accepted.load()) << "round " << round;
  }
}

}  // namespace
}  // namespace kb::pipeline
