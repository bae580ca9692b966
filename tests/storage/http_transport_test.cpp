// Unit tests of the one HTTP transport every storage backend uses, against a scripted HTTP
// server on 127.0.0.1: a body sent from several pieces arrives as one, a 2xx body lands in the
// caller's download buffer while an error body stays readable, and an endpoint that trickles
// slower than 1 KiB/s is reported as a stall naming storage.stall_timeout_ms.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "storage/http_transport.hpp"

namespace kb::storage {
namespace {

using namespace std::chrono_literals;

/// Accepts one connection, reads one request (headers and a Content-Length body) and answers
/// it with `answer`, which writes to the socket.
class one_shot_server {
 public:
  explicit one_shot_server(std::function<void(int fd)> answer) : answer_(std::move(answer)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~one_shot_server() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  one_shot_server(const one_shot_server&) = delete;
  one_shot_server& operator=(const one_shot_server&) = delete;

  [[nodiscard]] std::string url(std::string_view path) const { return fmt::format("http://127.0.0.1:{}{}", port_, path); }
  /// The request as received (headers and body); read after the exchange.
  [[nodiscard]] const std::string& request() const { return request_; }

 private:
  void serve() {
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    char buf[4096];
    std::size_t body_at = std::string::npos;
    std::size_t length = 0;
    for (int i = 0; i < 10'000; ++i) {  // bounded: a request is a few reads
      if (body_at != std::string::npos && request_.size() >= body_at + length) break;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      request_.append(buf, static_cast<std::size_t>(n));
      if (body_at == std::string::npos) {
        if (const auto end = request_.find("\r\n\r\n"); end != std::string::npos) {
          body_at = end + 4;
          if (const auto cl = request_.find("Content-Length: "); cl != std::string::npos && cl < end) {
            length = std::stoul(request_.substr(cl + 16));
          }
        }
      }
    }
    answer_(fd);
    ::close(fd);
  }

  std::function<void(int)> answer_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::thread thread_;
};

bool send_text(int fd, std::string_view text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

TEST(HttpTransport, BodyPiecesArriveAsOneBodyWithItsLength) {
  one_shot_server server([](int fd) { send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); });
  http_transport transport({});
  const std::string head = "--b\r\n", data(70'000, 'x'), tail = "\r\n--b--";
  http_request req{"POST", server.url("/upload"), {{"Content-Type", "multipart/related; boundary=b"}},
                   {as_bytes(head), as_bytes(data), as_bytes(tail)}};
  const auto r = transport.perform(req);
  ASSERT_EQ(r.failure, http_failure::none) << r.failure_text;
  EXPECT_EQ(r.status, 200);
  const std::string& seen = server.request();
  EXPECT_TRUE(seen.starts_with("POST /upload HTTP/1.1\r\n")) << seen.substr(0, 200);
  EXPECT_NE(seen.find(fmt::format("Content-Length: {}\r\n", head.size() + data.size() + tail.size())),
            std::string::npos);
  EXPECT_TRUE(seen.ends_with("\r\n\r\n" + head + data + tail));
}

TEST(HttpTransport, SuccessBodyGoesToTheDownloadBufferErrorBodyToTheResponse) {
  {
    one_shot_server server([](int fd) { send_text(fd, "HTTP/1.1 206 Partial\r\nContent-Length: 5\r\n\r\nhello"); });
    http_transport transport({});
    byte_vector into{'o', 'l', 'd'};
    http_request req{"GET", server.url("/obj"), {{"Range", "bytes=0-4"}}, {}, &into};
    const auto r = transport.perform(req);
    ASSERT_TRUE(r.ok()) << r.failure_text;
    EXPECT_EQ(std::string(into.begin(), into.end()), "hello");  // cleared first, then filled
    EXPECT_TRUE(r.body.empty());
    EXPECT_NE(server.request().find("Range: bytes=0-4\r\n"), std::string::npos);
  }
  {
    one_shot_server server([](int fd) {
      send_text(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 17\r\nX-Thing: a\r\n\r\n<Error>no</Error>");
    });
    http_transport transport({});
    byte_vector into;
    http_request req{"GET", server.url("/missing"), {}, {}, &into};
    const auto r = transport.perform(req);
    EXPECT_EQ(r.status, 404);
    EXPECT_TRUE(into.empty());
    EXPECT_EQ(r.body, "<Error>no</Error>");
    EXPECT_EQ(r.header("x-thing"), "a");
  }
}

TEST(HttpTransport, TrickleSlowerThanOneKibPerSecondIsAStall) {
  // Headers at once, then one byte every 200 ms: bytes keep moving, but far below 1 KiB/s.
  one_shot_server server([](int fd) {
    send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    for (int i = 0; i < 40 && send_text(fd, "x"); ++i) std::this_thread::sleep_for(200ms);  // until the client gives up
  });
  http_transport transport(http_transport_options{10'000ms, 1'000ms, {}});
  const auto started = std::chrono::steady_clock::now();
  const auto r = transport.perform("GET", server.url("/slow"), {});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.failure, http_failure::stalled) << r.failure_text;
  EXPECT_TRUE(r.transient_failure());
  EXPECT_LT(took, 6s);
  const auto e = http_failure_error(r, "GET 'k' in s3://b/", "S3 endpoint x", "storage.endpoint", 1'000ms);
  EXPECT_TRUE(e.is(errc::timeout));
  EXPECT_NE(e.message.find("storage.stall_timeout_ms"), std::string::npos) << e.message;
}

TEST(HttpTransport, FormBodyAndUrlEncoding) {
  EXPECT_EQ(form_body({{"grant_type", "refresh_token"}, {"a b", "x/y&z"}}), "grant_type=refresh_token&a%20b=x%2Fy%26z");
  EXPECT_EQ(url_encode("a b/c~"), "a%20b%2Fc~");
  EXPECT_EQ(url_encode("a b/c~", true), "a%20b/c~");
}

}  // namespace
}  // namespace kb::storage
