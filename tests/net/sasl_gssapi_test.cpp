// Unit (gssapi builds only): the GSSAPI mechanism's failures that need no KDC — bad options,
// missing credentials — are errc values with actionable messages, and a failed exchange stays
// failed. The exchange itself is covered against a real KDC by gssapi_it_test.cpp.
#include <cstdlib>

#include <gtest/gtest.h>

#include "net/sasl.hpp"
#include "net/sasl_gssapi.hpp"

namespace kb::net {
namespace {

class sasl_gssapi_unit : public ::testing::Test {
 protected:
  void SetUp() override {
    // No ambient Kerberos setup: an empty profile and caches that do not exist.
    ::setenv("KRB5_CONFIG", "/dev/null", 1);
    ::setenv("KRB5CCNAME", "FILE:/nonexistent/kb-gssapi-unit.cc", 1);
    ::setenv("KRB5_CLIENT_KTNAME", "FILE:/nonexistent/kb-gssapi-unit.keytab", 1);
  }
};

TEST_F(sasl_gssapi_unit, factory_builds_gssapi_from_credentials) {
  sasl_credentials creds;
  creds.mechanism = "GSSAPI";
  creds.host = "localhost";
  auto mech = make_sasl_mechanism(creds);
  ASSERT_TRUE(mech) << mech.error().message;
  EXPECT_EQ((*mech)->name(), "GSSAPI");
}

TEST_F(sasl_gssapi_unit, empty_service_name_is_refused) {
  auto mech = sasl_gssapi::create({.service_name = "", .host = "localhost", .principal = {}, .keytab_path = {}});
  ASSERT_FALSE(mech);
  EXPECT_TRUE(mech.error().is(errc::invalid_argument));
  EXPECT_NE(mech.error().message.find("sasl_kerberos_service_name"), std::string::npos);
}

TEST_F(sasl_gssapi_unit, missing_keytab_fails_naming_it_and_stays_failed) {
  auto mech = sasl_gssapi::create({.service_name = "kafka", .host = "localhost", .principal = "client@KB.TEST",
                                   .keytab_path = "/nonexistent/client.keytab"});
  ASSERT_TRUE(mech) << mech.error().message;
  auto first = (*mech)->step({});
  ASSERT_FALSE(first);
  EXPECT_TRUE(first.error().is(errc::sasl)) << first.error().message;
  EXPECT_NE(first.error().message.find("/nonexistent/client.keytab"), std::string::npos) << first.error().message;
  auto again = (*mech)->step({});
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("already finished"), std::string::npos) << again.error().message;
}

TEST_F(sasl_gssapi_unit, principal_without_cache_entry_says_to_kinit) {
  auto mech = sasl_gssapi::create({.service_name = "kafka", .host = "localhost", .principal = "nobody@KB.TEST",
                                   .keytab_path = {}});
  ASSERT_TRUE(mech);
  auto first = (*mech)->step({});
  ASSERT_FALSE(first);
  EXPECT_TRUE(first.error().is(errc::sasl)) << first.error().message;
  EXPECT_NE(first.error().message.find("kinit"), std::string::npos) << first.error().message;
}

TEST_F(sasl_gssapi_unit, default_credentials_absent_fail_in_the_first_step_saying_to_kinit) {
  auto mech = sasl_gssapi::create({.service_name = "kafka", .host = "localhost", .principal = {}, .keytab_path = {}});
  ASSERT_TRUE(mech);
  auto first = (*mech)->step({});
  ASSERT_FALSE(first);
  EXPECT_TRUE(first.error().is(errc::sasl)) << first.error().message;
  EXPECT_NE(first.error().message.find("kinit"), std::string::npos) << first.error().message;
}

TEST_F(sasl_gssapi_unit, empty_host_is_an_internal_error) {
  auto mech = sasl_gssapi::create({.service_name = "kafka", .host = "", .principal = {}, .keytab_path = {}});
  ASSERT_TRUE(mech);
  auto first = (*mech)->step({});
  ASSERT_FALSE(first);
  EXPECT_TRUE(first.error().is(errc::internal)) << first.error().message;
}

}  // namespace
}  // namespace kb::net
