// Shared by the net integration tests: the harness's env.json ($KB_TEST_ENV, tests fail
// without it) and a helper that runs one coroutine on an io_context with a time limit.
#pragma once

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace kb::net::testing {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

struct harness_env {
  json::value root;
  std::string error;

  static const harness_env& get() {
    static const harness_env env = load();
    return env;
  }
  std::string str(std::initializer_list<const char*> path) const {
    const json::value* v = &root;
    for (const char* key : path) {
      if (!v->is_object() || !v->as_object().contains(key)) return {};
      v = &v->as_object().at(key);
    }
    return v->is_string() ? std::string(v->as_string()) : std::string();
  }

 private:
  static harness_env load() {
    harness_env env;
    const char* path = std::getenv("KB_TEST_ENV");
    if (path == nullptr || *path == '\0') {
      env.error = "KB_TEST_ENV is not set: run `python3 tests/harness/cluster.py up` and export "
                  "KB_TEST_ENV=<run-dir>/env.json";
      return env;
    }
    std::ifstream in(path);
    if (!in) {
      env.error = std::string("cannot read KB_TEST_ENV file ") + path;
      return env;
    }
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    auto value = json::parse(text.str(), ec);
    if (ec || !value.is_object()) {
      env.error = std::string("KB_TEST_ENV file is not a JSON object: ") + path;
      return env;
    }
    env.root = value;
    return env;
  }
};

inline const harness_env& env() {
  const auto& e = harness_env::get();
  EXPECT_TRUE(e.error.empty()) << e.error;
  return e;
}

template <class T>
result<T> run(asio::io_context& io, asio::awaitable<result<T>> task, std::chrono::milliseconds limit = 60s) {
  std::optional<result<T>> out;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, result<T> r) {
    out = e ? result<T>(fail(errc::internal, "coroutine threw")) : std::move(r);
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!out && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(20ms);
  }
  if (!out) return fail(errc::internal, "task did not finish in time");
  return std::move(*out);
}

}  // namespace kb::net::testing
