// Turns an exception that escaped a coroutine into a kb::error that keeps its what() text.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace kb::pipeline {

/// errc::internal with "`what` threw: <what()>" (or the exception's type when it is not a
/// std::exception), so an operator sees the cause instead of only "the coroutine threw".
[[nodiscard]] error error_from_exception(const std::exception_ptr& e, std::string_view what);

}  // namespace kb::pipeline
