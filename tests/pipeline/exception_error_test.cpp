// error_from_exception keeps the text of an exception that escaped a coroutine.
#include "pipeline/exception_error.hpp"

#include <new>
#include <stdexcept>

#include <gtest/gtest.h>

namespace kb::pipeline {
namespace {

TEST(exception_error, keeps_what_of_a_std_exception) {
  const auto e = error_from_exception(std::make_exception_ptr(std::runtime_error("map::at: key not found")),
                                      "the restore engine");
  EXPECT_TRUE(e.is(errc::internal));
  EXPECT_EQ(e.message, "the restore engine threw: map::at: key not found");
}

TEST(exception_error, names_bad_alloc_as_out_of_memory) {
  const auto e = error_from_exception(std::make_exception_ptr(std::bad_alloc()), "the backup");
  EXPECT_NE(e.message.find("the backup threw: out of memory"), std::string::npos) << e.message;
}

TEST(exception_error, a_non_std_exception_is_still_reported) {
  const auto e = error_from_exception(std::make_exception_ptr(42), "x");
  EXPECT_EQ(e.message, "x threw: an exception of unknown type");
  EXPECT_EQ(error_from_exception(nullptr, "y").message, "y threw: no exception was recorded");
}

}  // namespace
}  // namespace kb::pipeline
