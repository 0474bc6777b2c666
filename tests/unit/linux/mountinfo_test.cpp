#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "core/fs.hpp"
#include "core/strings.hpp"
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

// read_mounts_of answers what mountinfo says, whether it took statmount(2)
// or the file: the same mounts, roots and types, and the filesystem options
// (a cgroup v1 mount's controllers) among mountinfo's super options.
TEST(MountInfo, MountsOfAFilesystemTypeAreMountinfosOwn) {
    for (const auto& [magic, type] : std::vector<std::pair<uint64_t, std::string>>{
             {0x01021994, "tmpfs"}, {0x9fa0, "proc"}, {0x27e0eb, "cgroup"}, {0x63677270, "cgroup2"}}) {
        std::vector<std::string> want, got;
        std::map<std::string, std::string> options;
        for (const auto& m : linux::read_mountinfo())
            if (m.fstype == type) {
                want.push_back(m.mount_point + " " + m.root);
                options[m.mount_point] += "," + m.super_options + ",";
            }
        for (const auto& m : linux::read_mounts_of({{magic, type}})) {
            EXPECT_EQ(m.fstype, type);
            got.push_back(m.mount_point + " " + m.root);
            for (const auto& o : split(m.super_options, ',')) {
                if (o.empty()) continue;
                EXPECT_NE(options[m.mount_point].find("," + o + ","), std::string::npos) << o << " " << m.mount_point;
            }
        }
        std::sort(want.begin(), want.end());
        std::sort(got.begin(), got.end());
        EXPECT_EQ(got, want) << type;
    }
}

// is_mount_point answers as the mount table does: every mount point in it is
// one (those this process can reach), a directory beneath one is not.
TEST(MountInfo, MountPointsAreThoseOfTheTable) {
    size_t checked = 0;
    for (const auto& m : linux::read_mountinfo()) {
        struct stat st {};
        if (::lstat(m.mount_point.c_str(), &st) < 0 || S_ISLNK(st.st_mode)) continue;
        EXPECT_TRUE(linux::is_mount_point(m.mount_point)) << m.mount_point;
        checked++;
    }
    EXPECT_GT(checked, 0u);
    TempDir dir("mountpoint");
    EXPECT_FALSE(linux::is_mount_point(dir.path()));
    EXPECT_FALSE(linux::is_mount_point(dir.path() + "/missing"));
}
