#include "core/strings.hpp"

#include <gtest/gtest.h>

using namespace ctk;

TEST(Strings, Split) {
    EXPECT_EQ(split("a:b::c", ':'), (std::vector<std::string>{"a", "b", "", "c"}));
    EXPECT_EQ(split("", ':'), (std::vector<std::string>{""}));
    auto kv = split_once("K=V=W", '=');
    ASSERT_TRUE(kv);
    EXPECT_EQ(kv->first, "K");
    EXPECT_EQ(kv->second, "V=W");
    EXPECT_FALSE(split_once("K", '='));
    EXPECT_EQ(join({"a", "b"}, ", "), "a, b");
    EXPECT_EQ(trim("  x \n"), "x");
}

TEST(Strings, ParseSize) {
    EXPECT_EQ(parse_size("64m"), 64ull << 20);
    EXPECT_EQ(parse_size("64MB"), 64ull << 20);
    EXPECT_EQ(parse_size("1g"), 1ull << 30);
    EXPECT_EQ(parse_size("512k"), 512ull << 10);
    EXPECT_EQ(parse_size("100b"), 100ull);
    EXPECT_EQ(parse_size("1024"), 1024ull);
    EXPECT_FALSE(parse_size(""));
    EXPECT_FALSE(parse_size("m"));
    EXPECT_FALSE(parse_size("-1"));
    EXPECT_FALSE(parse_size("12x"));
    EXPECT_FALSE(parse_size("99999999999999999999g"));
}

TEST(Strings, ParseUint) {
    EXPECT_EQ(parse_uint("0"), 0ull);
    EXPECT_EQ(parse_uint("18446744073709551615"), 18446744073709551615ull);
    EXPECT_FALSE(parse_uint("18446744073709551616"));
    EXPECT_FALSE(parse_uint("1 "));
}
