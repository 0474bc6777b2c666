#include <gtest/gtest.h>

#include "linux/mount.hpp"

using namespace ctk;
using namespace ctk::linux;

TEST(MountOptions, FlagsPropagationAndData) {
    auto o = parse_mount_options({"nosuid", "noexec", "ro", "mode=755", "size=64k", "rprivate", "strictatime"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_RDONLY | MS_STRICTATIME));
    EXPECT_EQ(o.data_string(), "mode=755,size=64k");
    ASSERT_EQ(o.propagation.size(), 1u);
    EXPECT_EQ(o.propagation[0], static_cast<unsigned long>(MS_PRIVATE | MS_REC));
    EXPECT_FALSE(o.bind());
}

TEST(MountOptions, LaterOptionsWin) {
    auto o = parse_mount_options({"ro", "rw", "nodev", "dev"});
    EXPECT_EQ(o.flags & MS_RDONLY, 0u);
    EXPECT_EQ(o.flags & MS_NODEV, 0u);
    EXPECT_EQ(o.clear & (MS_RDONLY | MS_NODEV), static_cast<unsigned long>(MS_RDONLY | MS_NODEV));
}

TEST(MountOptions, BindAndRecursiveAttributes) {
    auto o = parse_mount_options({"rbind", "rro", "rnosuid", "ro"});
    EXPECT_TRUE(o.bind());
    EXPECT_TRUE(o.rbind());
    EXPECT_EQ(o.recursive.set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID));
    EXPECT_EQ(o.attr().set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
    EXPECT_TRUE(o.data.empty());
    auto b = parse_mount_options({"bind"});
    EXPECT_TRUE(b.bind());
    EXPECT_FALSE(b.rbind());
}

TEST(MountOptions, AttributesFollowTheFlags) {
    auto o = parse_mount_options({"noatime", "nodev", "rw", "exec"});
    auto a = o.attr();
    EXPECT_EQ(a.set, static_cast<uint64_t>(MOUNT_ATTR_NOATIME | MOUNT_ATTR_NODEV));
    EXPECT_EQ(a.clear, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC));
}

TEST(MountOptions, ExtensionsAreSetAside) {
    auto o = parse_mount_options({"tmpcopyup", "idmap", "uid=5"});
    EXPECT_EQ(o.unknown, (std::vector<std::string>{"tmpcopyup", "idmap"}));
    EXPECT_EQ(o.data_string(), "uid=5");
}
