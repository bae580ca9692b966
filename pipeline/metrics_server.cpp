// The metrics endpoint: accept loop, one short-lived session per connection, each under a
// deadline timer that closes its socket.
#include "pipeline/metrics_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace kb::pipeline {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

result<std::shared_ptr<metrics_server>> metrics_server::start(const asio::any_io_executor& ex, metrics_server_options o,
                                                              render_fn render) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(o.bind_address, ec);
  if (ec) return fail(errc::config, fmt::format("metrics.bind_address '{}' is not an IP address", o.bind_address));
  tcp::acceptor acc(ex);
  const tcp::endpoint ep(addr, o.port);
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(errc::config, fmt::format("cannot serve metrics on {}:{} ({}); choose another metrics.port or "
                                          "metrics.bind_address",
                                          o.bind_address, o.port, ec.message()));
  }
  auto server = std::make_shared<metrics_server>(std::move(acc), std::move(o), std::move(render));
  asio::co_spawn(ex, server->async_accept_loop(), asio::detached);
  return server;
}

metrics_server::metrics_server(tcp::acceptor acceptor, metrics_server_options options, render_fn render)
    : acceptor_(std::move(acceptor)), options_(std::move(options)), render_(std::move(render)) {
  boost::system::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  port_ = ec ? options_.port : ep.port();
}

void metrics_server::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  // Sessions end once their pending read or write is cancelled by the close.
  for (auto& [id, s] : sessions_) s->close(ignored);
}

asio::awaitable<void> metrics_server::async_accept_loop() {
  auto self = shared_from_this();  // the loop may outlive its owner's last reference
  while (!stopped_) {
    boost::system::error_code ec;
    auto sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopped_) co_return;
    if (sessions_.size() >= options_.max_sessions) {
      sock.close(ec);  // a flood of idle clients cannot pile up descriptors
      continue;
    }
    const std::uint64_t id = ++next_id_;
    sessions_.emplace(id, std::make_shared<tcp::socket>(std::move(sock)));
    asio::co_spawn(acceptor_.get_executor(), async_session(id), asio::detached);
  }
}

asio::awaitable<void> metrics_server::async_session(std::uint64_t id) {
  auto self = shared_from_this();
  auto found = sessions_.find(id);
  if (found == sessions_.end()) co_return;
  std::shared_ptr<tcp::socket> s = found->second;
  // The deadline covers the whole exchange: an idle or slow client is cut off.
  asio::steady_timer deadline(acceptor_.get_executor(), options_.session_timeout);
  deadline.async_wait([s](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the session ended first
    boost::system::error_code ignored;
    s->close(ignored);
  });
  boost::beast::flat_buffer buf;
  http::request<http::empty_body> req;
  boost::system::error_code ec;
  co_await http::async_read(*s, buf, req, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec && !stopped_) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(false);
    const std::string_view target(req.target().data(), req.target().size());
    const std::string& path = options_.path;
    if (target == path || (target.starts_with(path) && target.size() > path.size() && target[path.size()] == '?')) {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = render_();
    } else if (target == "/health" || target.starts_with("/health?")) {
      // Served by the run's own loop: an answer means the process is alive and not wedged.
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain");
      res.body() = "ok\n";
    } else if (target == "/ready" || target.starts_with("/ready?")) {
      const std::string reason = options_.ready ? options_.ready() : std::string();
      res.result(reason.empty() ? http::status::ok : http::status::service_unavailable);
      res.set(http::field::content_type, "text/plain");
      res.body() = reason.empty() ? std::string("ready\n") : "not ready: " + reason + "\n";
    } else {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "text/plain");
      res.body() = "not found: metrics are served on " + path + ", probes on /health and /ready\n";
    }
    res.prepare_payload();
    co_await http::async_write(*s, res, asio::redirect_error(asio::use_awaitable, ec));
    s->shutdown(tcp::socket::shutdown_both, ec);
  }
  deadline.cancel();
  s->close(ec);
  sessions_.erase(id);
}

}  // namespace kb::pipeline
