#include <gtest/gtest.h>

#include "engine/timefmt.hpp"

using namespace ctk::engine;

TEST(TimeFormat, Rfc3339NanoRoundTrip) {
    int64_t t = 1795814083668586066;
    EXPECT_EQ(format_rfc3339_nano(t), "2026-11-27T21:14:43.668586066Z");
    EXPECT_EQ(parse_rfc3339("2026-11-27T21:14:43.668586066Z"), t);
    EXPECT_EQ(format_rfc3339_nano(1795814083000000000), "2026-11-27T21:14:43Z");
    EXPECT_EQ(format_rfc3339_nano(1795814083500000000), "2026-11-27T21:14:43.5Z");
    EXPECT_EQ(parse_rfc3339("2026-11-27T22:14:43+01:00"), 1795814083000000000);
    EXPECT_EQ(parse_rfc3339("2026-11-27"), 1795737600000000000);
    EXPECT_FALSE(parse_rfc3339(zero_time));
    EXPECT_FALSE(parse_rfc3339("yesterday"));
    EXPECT_FALSE(parse_rfc3339("2026-11-27T21:14"));
}

TEST(TimeFormat, HumanDurationAsGoUnits) {
    EXPECT_EQ(human_duration(0), "Less than a second");
    EXPECT_EQ(human_duration(1), "1 second");
    EXPECT_EQ(human_duration(59), "59 seconds");
    EXPECT_EQ(human_duration(60), "About a minute");
    EXPECT_EQ(human_duration(119), "About a minute");
    EXPECT_EQ(human_duration(120), "2 minutes");
    EXPECT_EQ(human_duration(3600), "About an hour");
    EXPECT_EQ(human_duration(3 * 3600), "3 hours");
    EXPECT_EQ(human_duration(47 * 3600), "47 hours");
    EXPECT_EQ(human_duration(3 * 86400), "3 days");
    EXPECT_EQ(human_duration(20 * 86400), "2 weeks");
    EXPECT_EQ(human_duration(90 * 86400), "3 months");
    EXPECT_EQ(human_duration(800 * 86400), "2 years");
}

TEST(TimeFormat, SinceUntilForms) {
    int64_t now = 1795814083000000000;
    EXPECT_EQ(parse_time_or_duration("10m", now), now - 600000000000);
    EXPECT_EQ(parse_time_or_duration("1h30m", now), now - 5400000000000);
    EXPECT_EQ(parse_time_or_duration("1795814000", now), 1795814000000000000);
    EXPECT_EQ(parse_time_or_duration("1795814000.5", now), 1795814000500000000);
    EXPECT_EQ(parse_time_or_duration("2026-11-27T21:14:43Z", now), now);
    EXPECT_FALSE(parse_time_or_duration("10x", now));
    EXPECT_FALSE(parse_time_or_duration("", now));
}
