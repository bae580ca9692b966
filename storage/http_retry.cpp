#include "storage/http_retry.hpp"

#include <random>

#include <fmt/format.h>

#include "base/interrupt.hpp"
#include "base/log.hpp"

namespace kb::storage {
namespace {

/// Each call draws its own jitter seed, so clients that failed together do not retry together.
std::uint64_t next_seed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

}  // namespace

bool transient_answer(const http_response_data& r) noexcept {
  if (r.failure != http_failure::none) return r.transient_failure();
  return r.status == 408 || r.status == 429 || r.status >= 500;
}

result<http_response_data> send_with_retries(const retrying_request& r) {
  retry_policy policy(r.settings, [] { return std::chrono::steady_clock::now(); }, next_seed());
  http_response_data last;
  for (int attempt = 1;; ++attempt) {
    auto sent = r.send();
    if (!sent) return tl::unexpected(sent.error());
    last = std::move(*sent);
    if (r.accept ? r.accept(last) : last.ok()) return last;
    if (!(r.retryable ? r.retryable(last) : transient_answer(last))) break;
    const auto retry_after = parse_retry_after(last.header("retry-after"), std::chrono::system_clock::now());
    const auto delay = policy.next_delay(retry_after);
    const kb::error cause = r.to_error(last);
    const std::string given_up = giving_up_text(policy.attempts(), policy.elapsed());
    if (!delay) return fail(cause.code, fmt::format("{}; {}", cause.message, given_up));
    log::warn("{}: {} {} failed on attempt {} ({}); retrying in {:.1f} s (storage.retry_budget_ms {} ms, "
              "{:.1f} s used)",
              r.backend, r.method, r.object, attempt, cause.message, static_cast<double>(delay->count()) / 1000.0,
              r.settings.budget.count(), static_cast<double>(policy.elapsed().count()) / 1000.0);
    if (!interrupt::sleep_for(*delay)) {
      return fail(errc::cancelled, fmt::format("{} {} was not retried: interrupted by signal {} after {} ({})",
                                               r.method, r.object, interrupt::first_signal(), given_up,
                                               cause.message));
    }
  }
  return tl::unexpected(r.to_error(last));
}

}  // namespace kb::storage
