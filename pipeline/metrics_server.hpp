// The Prometheus endpoint of a running backup or restore: one page of text over HTTP/1.1, plus the
// /health and /ready probes a Kubernetes pod points at. Every
// session has a deadline and stop() closes the listener and every open session, so an idle
// client can neither keep a run from exiting nor hold a descriptor for long.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "base/error.hpp"

namespace kb::pipeline {

struct metrics_server_options {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 9464;  ///< 0: any free port (see metrics_server::port)
  std::string path = "/metrics";
  /// A session that has not sent its request (or taken its response) by then is closed.
  std::chrono::milliseconds session_timeout{10'000};
  std::size_t max_sessions = 32;  ///< connections beyond this are closed at once
  /// `/ready`: returns "" when ready, else a one-line reason (served with 503). Called on the
  /// server's executor for each probe; unset means always ready. `/health` is 200 while served.
  std::function<std::string()> ready;
};

class metrics_server : public std::enable_shared_from_this<metrics_server> {
 public:
  using render_fn = std::function<std::string()>;

  /// Binds, listens and starts accepting on `ex`; `render` is called on that executor for each
  /// scrape of `path`. errc::config names the address and the fix when it cannot bind.
  [[nodiscard]] static result<std::shared_ptr<metrics_server>> start(const boost::asio::any_io_executor& ex,
                                                                     metrics_server_options options, render_fn render);

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::size_t open_sessions() const noexcept { return sessions_.size(); }

  /// Closes the listener and every session; nothing is served afterwards. Idempotent; call on
  /// the executor's thread.
  void stop();

  metrics_server(boost::asio::ip::tcp::acceptor acceptor, metrics_server_options options, render_fn render);

 private:
  boost::asio::awaitable<void> async_accept_loop();
  boost::asio::awaitable<void> async_session(std::uint64_t id);

  boost::asio::ip::tcp::acceptor acceptor_;
  metrics_server_options options_;
  render_fn render_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, std::shared_ptr<boost::asio::ip::tcp::socket>> sessions_;
};

}  // namespace kb::pipeline
