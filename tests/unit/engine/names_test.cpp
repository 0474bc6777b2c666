#include <gtest/gtest.h>

#include <set>

#include "core/error.hpp"
#include "engine/names.hpp"

using namespace ctk;
using namespace ctk::engine;

TEST(Names, ContainerIdsAre64HexAndDistinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 200; i++) {
        std::string id = new_container_id();
        EXPECT_TRUE(is_full_id(id)) << id;
        EXPECT_TRUE(seen.insert(id).second);
    }
    EXPECT_FALSE(is_full_id("abc"));
    EXPECT_FALSE(is_full_id(std::string(64, 'g')));
    EXPECT_TRUE(is_id_prefix("7af36f3b844b"));
    EXPECT_FALSE(is_id_prefix("7AF3"));
    EXPECT_FALSE(is_id_prefix(""));
}

TEST(Names, DockerNameRule) {
    for (const char* ok : {"w1", "web", "a.b", "a_b-c", "A9", "/web", "0x"}) EXPECT_TRUE(valid_container_name(ok)) << ok;
    for (const char* bad : {"w", "/w", "", "_a", ".a", "-a", "a b", "a/b", "é1", "a:b"})
        EXPECT_FALSE(valid_container_name(bad)) << bad;
    EXPECT_EQ(validate_container_name("/web"), "web");
    try {
        validate_container_name("w");
        FAIL() << "accepted a one-character name";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        EXPECT_STREQ(e.what(), "Invalid container name (w), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    }
}

TEST(Names, GeneratedNamesAreAdjectiveUnderscoreSurname) {
    for (int i = 0; i < 100; i++) {
        std::string n = generate_name();
        auto us = n.find('_');
        ASSERT_NE(us, std::string::npos) << n;
        EXPECT_GT(us, 0u);
        EXPECT_LT(us + 1, n.size());
        EXPECT_TRUE(valid_container_name(n)) << n;
    }
    // a retry appends one digit
    std::string r = generate_name(1, [](size_t) { return 0; });
    EXPECT_TRUE(r.back() == '0') << r;
    EXPECT_EQ(generate_name(0, [](size_t) { return 0; }) + "0", r);
}
