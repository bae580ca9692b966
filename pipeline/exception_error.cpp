// Exception text for errors at the coroutine edge.
#include "pipeline/exception_error.hpp"

#include <new>

#include <fmt/format.h>

namespace kb::pipeline {

error error_from_exception(const std::exception_ptr& e, std::string_view what) {
  std::string text;
  try {
    if (e) std::rethrow_exception(e);
    text = "no exception was recorded";
  } catch (const std::bad_alloc&) {
    text = "out of memory (std::bad_alloc): lower the memory settings (max_buffer_bytes) or give the process more";
  } catch (const std::exception& x) {
    text = x.what();
  } catch (...) {
    text = "an exception of unknown type";
  }
  return error{make_error_code(errc::internal), fmt::format("{} threw: {}", what, text)};
}

}  // namespace kb::pipeline
