// pipeline/backup/stop_signals: SIGINT/SIGTERM while a backup runs — the first asks it to seal and commit
// what is in flight, a second exits at once (a later run resumes from the last checkpoint: nothing lost or doubled).
#pragma once

#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

namespace kb::pipeline::backup {

class stop_signals {
 public:
  /// `on_first(signal)` runs on the io thread for the first signal.
  stop_signals(boost::asio::io_context& io, std::function<void(int)> on_first);
  void cancel();

 private:
  boost::asio::signal_set set_;
  std::function<void(int)> on_first_;
};

}  // namespace kb::pipeline::backup
