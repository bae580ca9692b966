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
    static const harness_env env = load("KB_TEST_ENV");
    return env;
  }
  /// The three-broker profile ($KB_TEST_ENV_CLUSTER3).
  static const harness_env& get_cluster3() {
    static const harness_env env = load("KB_TEST_ENV_CLUSTER3");
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
  static harness_env load(const std::string& var) {
    harness_env env;
    const char* path = std::getenv(var.c_str());
    if (path == nullptr || *path == '\0') {
      env.error = var + " is not set: run `python3 tests/harness/cluster.py up` and export " + var +
                  "=<run-dir>/env.json";
      return env;
    }
    std::ifstream in(path);
    if (!in) {
      env.error = "cannot read " + var + " file " + path;
      return env;
    }
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    auto value = json::parse(text.str(), ec);
    if (ec || !value.is_object()) {
      env.error = var + " file is not a JSON object: " + path;
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

inline const harness_env& env3() {
  const auto& e = harness_env::get_cluster3();
  EXPECT_TRUE(e.error.empty()) << e.error;
  EXPECT_EQ(e.str({"profile"}), "cluster3") << "KB_TEST_ENV_CLUSTER3 must name a cluster3 profile env.json";
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
