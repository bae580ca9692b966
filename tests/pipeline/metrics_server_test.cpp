// metrics_server over real loopback sockets: serves the page, 404s elsewhere, cuts idle clients
// off at the session deadline, and stop() ends everything so io_context::run() returns.
#include "pipeline/metrics_server.hpp"

#include <array>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

namespace kb::pipeline {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

metrics_server_options loopback(std::chrono::milliseconds timeout = 10'000ms) {
  metrics_server_options o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.path = "/metrics";
  o.session_timeout = timeout;
  return o;
}

// A blocking client on its own io_context: sends `request` (if any) and reads to EOF.
std::string exchange(std::uint16_t port, const std::string& request) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  std::array<char, 4096> chunk{};
  for (int i = 0; i < 1000; ++i) {
    const auto n = s.read_some(asio::buffer(chunk), ec);
    out.append(chunk.data(), n);
    if (ec) break;
  }
  return out;
}

TEST(metrics_server, serves_the_page_on_its_path_and_404_elsewhere) {
  asio::io_context io;
  auto server = metrics_server::start(io.get_executor(), loopback(), [] { return std::string("kb_x 1\n"); });
  ASSERT_TRUE(server) << server.error().message;
  const auto port = (*server)->port();
  ASSERT_NE(port, 0);
  std::thread t([&] { io.run_for(20s); });
  const auto ok = exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto query = exchange(port, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto other = exchange(port, "GET /metricsfoo HTTP/1.1\r\nHost: x\r\n\r\n");
  asio::post(io, [&] { (*server)->stop(); });
  t.join();
  EXPECT_NE(ok.find("200 OK"), std::string::npos) << ok;
  EXPECT_NE(ok.find("kb_x 1\n"), std::string::npos) << ok;
  EXPECT_NE(query.find("200 OK"), std::string::npos) << query;
  EXPECT_NE(other.find("404"), std::string::npos) << other;
  EXPECT_NE(other.find("served on /metrics"), std::string::npos) << other;
}

TEST(metrics_server, health_is_ok_and_ready_follows_the_engine_flag) {
  asio::io_context io;
  auto o = loopback();
  bool ready = false;  // read on the io thread only, set between exchanges via post
  o.ready = [&ready]() -> std::string { return ready ? std::string() : std::string("waiting for the store"); };
  auto server = metrics_server::start(io.get_executor(), o, [] { return std::string("kb_x 1\n"); });
  ASSERT_TRUE(server) << server.error().message;
  const auto port = (*server)->port();
  std::thread t([&] { io.run_for(20s); });
  const auto health = exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto not_ready = exchange(port, "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
  std::promise<void> flipped;
  asio::post(io, [&] {
    ready = true;
    flipped.set_value();
  });
  flipped.get_future().wait();
  const auto now_ready = exchange(port, "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
  asio::post(io, [&] { (*server)->stop(); });
  t.join();
  EXPECT_NE(health.find("200 OK"), std::string::npos) << health;
  EXPECT_NE(health.find("\r\n\r\nok\n"), std::string::npos) << health;
  EXPECT_NE(not_ready.find("503"), std::string::npos) << not_ready;
  EXPECT_NE(not_ready.find("not ready: waiting for the store\n"), std::string::npos) << not_ready;
  EXPECT_NE(now_ready.find("200 OK"), std::string::npos) << now_ready;
  EXPECT_NE(now_ready.find("ready\n"), std::string::npos) << now_ready;
}

TEST(metrics_server, ready_without_a_readiness_function_is_200) {
  asio::io_context io;
  auto server = metrics_server::start(io.get_executor(), loopback(), [] { return std::string(); });
  ASSERT_TRUE(server) << server.error().message;
  const auto port = (*server)->port();
  std::thread t([&] { io.run_for(20s); });
  const auto r = exchange(port, "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
  asio::post(io, [&] { (*server)->stop(); });
  t.join();
  EXPECT_NE(r.find("200 OK"), std::string::npos) << r;
}

TEST(metrics_server, stop_ends_an_idle_session_so_run_returns) {
  asio::io_context io;
  auto server = metrics_server::start(io.get_executor(), loopback(), [] { return std::string(); });
  ASSERT_TRUE(server) << server.error().message;
  asio::io_context client_io;
  tcp::socket idle(client_io);
  idle.connect({asio::ip::make_address("127.0.0.1"), (*server)->port()});  // and never sends a byte
  // Let the server accept it, then stop as a finished run does.
  for (int i = 0; i < 200 && (*server)->open_sessions() == 0; ++i) io.run_for(10ms);
  ASSERT_EQ((*server)->open_sessions(), 1u);
  (*server)->stop();
  const auto start = std::chrono::steady_clock::now();
  io.run_for(5s);  // returns early only when no work is left
  EXPECT_TRUE(io.stopped()) << "an idle metrics client kept the io_context busy after stop()";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ((*server)->open_sessions(), 0u);
}

TEST(metrics_server, an_idle_client_is_cut_off_at_the_session_deadline) {
  asio::io_context io;
  auto server = metrics_server::start(io.get_executor(), loopback(200ms), [] { return std::string(); });
  ASSERT_TRUE(server) << server.error().message;
  std::thread t([&] { io.run_for(20s); });
  asio::io_context client_io;
  tcp::socket idle(client_io);
  idle.connect({asio::ip::make_address("127.0.0.1"), (*server)->port()});
  const auto start = std::chrono::steady_clock::now();
  std::array<char, 16> chunk{};
  boost::system::error_code ec;
  (void)idle.read_some(asio::buffer(chunk), ec);  // blocks until the server closes the session
  const auto waited = std::chrono::steady_clock::now() - start;
  asio::post(io, [&] { (*server)->stop(); });
  t.join();
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 5s);
}

TEST(metrics_server, an_address_in_use_is_a_config_error_naming_it) {
  asio::io_context io;
  auto first = metrics_server::start(io.get_executor(), loopback(), [] { return std::string(); });
  ASSERT_TRUE(first) << first.error().message;
  auto o = loopback();
  o.port = (*first)->port();
  auto second = metrics_server::start(io.get_executor(), o, [] { return std::string(); });
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().is(errc::config));
  EXPECT_NE(second.error().message.find(fmt::format("127.0.0.1:{}", o.port)), std::string::npos) << second.error().message;
  (*first)->stop();
  io.run_for(2s);
}

}  // namespace
}  // namespace kb::pipeline
