#include <gtest/gtest.h>

#include "core/file_cache.hpp"
#include "core/fs.hpp"

using namespace ctk;

namespace {
struct FileCacheTest : ::testing::Test {
    TempDir dir{"filecache"};
    std::string path = dir.path() + "/state.json";
    FileCache<std::string> cache;
    int parses = 0;
    std::optional<std::string> load() {
        return cache.load(path, 1 << 20, [&](const std::string& text) {
            parses++;
            return text;
        });
    }
    void TearDown() override { file_caches_on = false; }
};
} // namespace

TEST_F(FileCacheTest, ParsesAFileAgainOnlyWhenItWasReplaced) {
    file_caches_on = true;
    EXPECT_FALSE(load());
    write_file_atomic(path, "one");
    EXPECT_EQ(load(), "one");
    EXPECT_EQ(load(), "one");
    EXPECT_EQ(parses, 1);
    write_file_atomic(path, "two"); // a new file renamed into place, as the store writes
    EXPECT_EQ(load(), "two");
    EXPECT_EQ(parses, 2);
    cache.keep_only({});
    EXPECT_EQ(load(), "two");
    EXPECT_EQ(parses, 3);
    ASSERT_EQ(::unlink(path.c_str()), 0);
    EXPECT_FALSE(load());
}

TEST_F(FileCacheTest, KeepsNothingUntilTurnedOn) {
    write_file_atomic(path, "one");
    EXPECT_EQ(load(), "one");
    EXPECT_EQ(load(), "one");
    EXPECT_EQ(parses, 2);
}
