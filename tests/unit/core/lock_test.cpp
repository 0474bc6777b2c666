#include "core/lock.hpp"

#include <gtest/gtest.h>

#include "core/fs.hpp"

using namespace ctk;

TEST(FileLock, ExclusiveExcludesOthers) {
    TempDir dir("lock-test");
    std::string p = dir.path() + "/lock";
    FileLock held(p);
    EXPECT_TRUE(held.locked());
    EXPECT_FALSE(FileLock::try_lock(p).locked());
    EXPECT_FALSE(FileLock::try_lock(p, FileLock::Mode::shared).locked());
    held.unlock();
    EXPECT_TRUE(FileLock::try_lock(p).locked());
}

TEST(FileLock, SharedLocksCoexist) {
    TempDir dir("lock-test");
    std::string p = dir.path() + "/lock";
    FileLock a(p, FileLock::Mode::shared);
    FileLock b = FileLock::try_lock(p, FileLock::Mode::shared);
    EXPECT_TRUE(b.locked());
    EXPECT_FALSE(FileLock::try_lock(p).locked());
}
