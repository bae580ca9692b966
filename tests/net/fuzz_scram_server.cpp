// Fuzz target for the SCRAM client's parsing of server messages (server-first, server-final).
// Input: byte 0 picks the hash (even: SHA-256, odd: SHA-512); the rest is server-first, a NUL,
// then server-final. The client nonce is fixed so a corpus entry can carry a valid exchange.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/scram.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kb;
  if (size == 0) return 0;
  net::scram_options opts;
  opts.hash = (data[0] & 1) == 0 ? net::scram_hash::sha256 : net::scram_hash::sha512;
  // Keep each input cheap: PBKDF2 cost grows with the iteration count the input names.
  opts.max_iterations = 8192;
  opts.nonce_source = []() -> result<std::string> { return std::string("rOprNGfwEbeRWgbNEkqO"); };
  auto client = net::scram_client::create("user", net::secret("pencil"), opts);
  if (!client) std::abort();
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto nul = rest.find('\0');
  const std::string_view server_first = rest.substr(0, nul);
  const std::string_view server_final = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);

  // The password must never come out of an error, unless the server's own text (echoed, sanitized)
  // carried those letters: a fuzzer found "i=...pencil..." in the iteration count.
  const bool input_names_password = rest.find("pencil") != std::string_view::npos;
  const auto leaks = [&](const std::string& message) {
    return !input_names_password && message.find("pencil") != std::string::npos;
  };

  auto first = (*client)->step({});
  if (!first) std::abort();  // client-first needs no input
  auto final_msg = (*client)->step(as_bytes(server_first));
  if (!final_msg) {
    if ((*client)->current_state() != net::scram_client::state::failed) std::abort();
    if (leaks(final_msg.error().message)) std::abort();
    return 0;
  }
  if ((*client)->current_state() != net::scram_client::state::client_final_sent) std::abort();
  auto done = (*client)->step(as_bytes(server_final));
  const auto st = (*client)->current_state();
  if (done ? st != net::scram_client::state::done : st != net::scram_client::state::failed) std::abort();
  if (done && done->status != net::sasl_status::done) std::abort();
  if (!done && leaks(done.error().message)) std::abort();
  // Once finished (either way) the client accepts nothing more.
  if ((*client)->step({})) std::abort();
  return 0;
}
