#include "cli/signals.hpp"

#include <chrono>
#include <cstring>

#include <unistd.h>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/interrupt.hpp"
#include "base/log.hpp"

namespace kb::cli {
namespace {

// Written by the handler on a second signal; filled before the handler is installed.
char second_message[256] = {0};
std::size_t second_message_size = 0;

extern "C" void on_signal(int signal_number) {
  kb::interrupt::raise(signal_number);
  if (kb::interrupt::count() >= 2) {
    // Only async-signal-safe calls here: write(2) and _exit(2).
    (void)!::write(STDERR_FILENO, second_message, second_message_size);
    ::_exit(static_cast<int>(kb::exit_code::runtime));
  }
}

}  // namespace

signal_scope::signal_scope(std::string command, std::function<void(int)> on_first)
    : command_(std::move(command)), on_first_(std::move(on_first)) {
  kb::interrupt::reset();
  const std::string text = fmt::format(
      "error: {}: second signal; exiting at once without committing what is in flight (a re-run resumes from "
      "the last commit)\n",
      command_);
  second_message_size = std::min(text.size(), sizeof(second_message) - 1);
  std::memcpy(second_message, text.data(), second_message_size);
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, &old_int_);
  ::sigaction(SIGTERM, &sa, &old_term_);
  watcher_ = std::thread([this] { watch(); });
}

signal_scope::~signal_scope() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  watcher_.join();
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGTERM, &old_term_, nullptr);
  kb::interrupt::reset();
}

void signal_scope::watch() {
  std::unique_lock lock(mutex_);
  while (!done_) {
    // A handler may not log or notify; polling every 50 ms answers a signal promptly enough.
    wake_.wait_for(lock, std::chrono::milliseconds(50));
    if (done_ || !kb::interrupt::requested()) continue;
    const int sig = kb::interrupt::first_signal();
    kb::log::info("{}: received signal {}; stopping (again to exit at once)", command_, sig);
    if (on_first_) on_first_(sig);
    break;
  }
  wake_.wait(lock, [this] { return done_; });
}

}  // namespace kb::cli
