#include "net/sasl_plain.hpp"

#include <gtest/gtest.h>

namespace kb::net {
namespace {

TEST(sasl_plain, message_is_empty_authzid_nul_user_nul_password) {
  auto mech = sasl_plain::create("backup", secret("pencil"));
  ASSERT_TRUE(mech);
  EXPECT_EQ((*mech)->name(), "PLAIN");
  auto first = (*mech)->step({});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, sasl_status::respond);
  // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
  const byte_vector expected = {0, 'b', 'a', 'c', 'k', 'u', 'p', 0, 'p', 'e', 'n', 'c', 'i', 'l'};
  EXPECT_EQ(first->response, expected);
  auto second = (*mech)->step({});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, sasl_status::done);
}

TEST(sasl_plain, rejects_nul_and_empty_user) {
  EXPECT_FALSE(sasl_plain::create("", secret("pw")));
  EXPECT_FALSE(sasl_plain::create(std::string("a\0b", 3), secret("pw")));
  auto bad = sasl_plain::create("user", secret(std::string("p\0w", 3)));
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(errc::invalid_argument));
}

TEST(sasl_factory, picks_mechanism_by_name) {
  for (const char* name : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    auto mech = make_sasl_mechanism({name, "user", secret("pw")});
    ASSERT_TRUE(mech) << name;
    EXPECT_EQ((*mech)->name(), name);
  }
  auto gssapi = make_sasl_mechanism({"GSSAPI", "user", secret("pw")});
#ifdef KB_HAVE_GSSAPI
  ASSERT_TRUE(gssapi) << gssapi.error().message;
  EXPECT_EQ((*gssapi)->name(), "GSSAPI");
#else
  ASSERT_FALSE(gssapi);
  EXPECT_TRUE(gssapi.error().is(errc::unsupported));
#endif
  auto unknown = make_sasl_mechanism({"SCRAM-SHA-1", "user", secret("pw")});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("SCRAM-SHA-512"), std::string::npos);
}

TEST(secret, wipes_on_move_and_has_value) {
  secret a("hunter2");
  EXPECT_EQ(a.reveal(), "hunter2");
  secret b(std::move(a));
  EXPECT_EQ(b.reveal(), "hunter2");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is wiped by contract
  secret c;
  c = b;
  EXPECT_EQ(c.reveal(), "hunter2");
}

}  // namespace
}  // namespace kb::net
