// The report appended to a stopped restore's error: what was written, and a way on that fits
// the cause (advice about damaged segments only when data was found damaged).
#include "pipeline/restore/written_report.hpp"

#include <gtest/gtest.h>

namespace kb::pipeline::restore {
namespace {

restore_state half_written() {
  restore_state s;
  partition_state p;
  p.source_topic = "orders";
  p.target_topic = "orders-copy";
  p.next_source_offset = 120;
  p.records = 120;
  s.partitions.push_back(p);
  return s;
}

TEST(written_report, damaged_data_gets_the_advice_to_replace_the_segment) {
  const kb::error e = with_written_report(kb::error{make_error_code(errc::corrupt), "segment x: frame 0 checksum mismatch"},
                                          half_written(), "r-1", "s3://b/p/state.json");
  EXPECT_TRUE(e.is(errc::corrupt));
  EXPECT_NE(e.message.find("every record below source offset 120"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("put an intact copy of the segment back"), std::string::npos) << e.message;
}

TEST(written_report, a_store_refusal_is_not_called_damaged_data) {
  // A 403 or an unavailable store: nothing is damaged, the advice would send the operator astray.
  for (const errc code : {errc::authorization, errc::io, errc::connect, errc::timeout}) {
    const kb::error e = with_written_report(kb::error{make_error_code(code), "S3 refused GET 'x': HTTP 403 AccessDenied"},
                                            half_written(), "r-1", "s3://b/p/state.json");
    EXPECT_TRUE(e.is(code));
    EXPECT_NE(e.message.find("resumes after these offsets once the cause is fixed."), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("intact copy"), std::string::npos) << e.message;
  }
}

TEST(written_report, records_of_another_producer_in_the_target_are_not_called_damaged_data) {
  const kb::error e = with_written_report(
      kb::error{make_error_code(errc::corrupt), "t[3]: ... another producer (or a produce request of an interrupted "
                                                "earlier run) wrote offsets 40..55 meanwhile"},
      half_written(), "r-1", "s3://b/p/state.json");
  EXPECT_TRUE(e.is(errc::corrupt));  // still exit 4
  EXPECT_EQ(e.message.find("intact copy"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace kb::pipeline::restore
