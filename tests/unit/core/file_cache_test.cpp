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
    std::shared_ptr<const std::string> loaded;
    std::optional<std::string> load() {
        loaded = cache.load(path, 1 << 20, [&](const std::string& text) {
            parses++;
            return text;
        });
        return loaded ? std::optional<std::string>(*loaded) : std::nullopt;
    }
    void TearDown() override { file_caches_on = false; }
};
} // namespace

TEST_F(FileCacheTest, ParsesAFileAgainOnlyWhenItWasReplaced) {
    file_caches_on = true;
    EXPECT_FALSE(load());
    write_file_atomic(path, "one");
    EXPECT_EQ(load(), "one");
    auto first = loaded;
    EXPECT_EQ(load(), "one");
    EXPECT_EQ(parses, 1);
    EXPECT_EQ(loaded, first) << "a value kept is shared, not copied";
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
