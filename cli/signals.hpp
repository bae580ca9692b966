// SIGINT/SIGTERM for the long-running commands: each signal is recorded in kb::interrupt (which
// storage requests and broker bootstraps watch, so a blocked call ends too), the first one also
// runs a callback on a watcher thread, and a second one ends the process at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <signal.h>

namespace kb::cli {

class signal_scope {
 public:
  /// Installs the handlers until destruction. `command` names the run in messages ("backup");
  /// `on_first` runs once, on the watcher thread, after the first signal (request a clean stop).
  signal_scope(std::string command, std::function<void(int signal_number)> on_first);
  ~signal_scope();
  signal_scope(const signal_scope&) = delete;
  signal_scope& operator=(const signal_scope&) = delete;

 private:
  void watch();

  std::string command_;
  std::function<void(int)> on_first_;
  struct sigaction old_int_{};
  struct sigaction old_term_{};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread watcher_;
};

}  // namespace kb::cli
