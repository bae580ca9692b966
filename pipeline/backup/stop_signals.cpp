#include "pipeline/backup/stop_signals.hpp"

#include <csignal>
#include <cstdlib>

#include "base/error.hpp"
#include "base/log.hpp"

namespace kb::pipeline::backup {

stop_signals::stop_signals(boost::asio::io_context& io, std::function<void(int)> on_first)
    : set_(io, SIGINT, SIGTERM), on_first_(std::move(on_first)) {
  set_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("backup: received signal {}; finishing what is in flight (again to exit at once)", sig);
    on_first_(sig);
    set_.async_wait([](const boost::system::error_code& ec2, int) {
      if (ec2) return;
      log::warn("backup: second signal; exiting without committing what is in flight");
      std::_Exit(static_cast<int>(exit_code::runtime));
    });
  });
}

void stop_signals::cancel() {
  boost::system::error_code ec;
  set_.cancel(ec);
}

}  // namespace kb::pipeline::backup
