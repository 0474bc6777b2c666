#include <gtest/gtest.h>

#include "core/fs.hpp"
#include "linux/mount.hpp"

using namespace ctk;

TEST(MountInfo, ParsesAndUnescapes) {
    TempDir dir("mountinfo");
    std::string p = dir.path() + "/mountinfo";
    write_file_atomic(p,
        "22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
        "30 22 0:25 / /tmp/with\\040space rw master:1 - tmpfs tmp\\040fs rw,size=10k\n"
        "31 30 0:26 /sub /mnt rw - overlay overlay rw,lowerdir=/a:/b\n");
    auto m = linux::read_mountinfo(p);
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0].mount_point, "/proc");
    EXPECT_EQ(m[0].fstype, "proc");
    EXPECT_EQ(m[1].mount_point, "/tmp/with space");
    EXPECT_EQ(m[1].source, "tmp fs");
    EXPECT_EQ(m[1].parent, 22);
    EXPECT_EQ(m[0].optional, "shared:12");
    EXPECT_EQ(m[1].optional, "master:1");
    EXPECT_EQ(m[2].optional, "");
    EXPECT_EQ(m[2].root, "/sub");
    EXPECT_EQ(m[2].super_options, "rw,lowerdir=/a:/b");
}

TEST(MountInfo, ReadsOwnTable) {
    auto m = linux::read_mountinfo();
    ASSERT_FALSE(m.empty());
    bool root = false;
    for (const auto& e : m) root |= e.mount_point == "/";
    EXPECT_TRUE(root);
}
