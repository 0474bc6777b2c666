#include <gtest/gtest.h>
#include <sys/mount.h>

#include "core/error.hpp"
#include "volume/mount_options.hpp"

using namespace ctk;
using namespace ctk::volume;

TEST(MountOptions, FlagsAndData) {
    auto p = parse_mount_options("ro,nosuid,size=64m,mode=1777,rshared");
    EXPECT_EQ(p.flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
    EXPECT_EQ(p.propagation, static_cast<unsigned long>(MS_SHARED | MS_REC));
    EXPECT_EQ(p.data, "size=64m,mode=1777");
    EXPECT_EQ(parse_mount_options("ro,rw").flags, 0ul) << "rw clears ro";
    EXPECT_EQ(parse_mount_options("rbind").flags, static_cast<unsigned long>(MS_BIND | MS_REC));
    EXPECT_EQ(parse_mount_options("").data, "");
}

TEST(TmpfsOptions, DockerDefaultsFirstUserWins) {
    EXPECT_EQ(merge_tmpfs_options({}), (std::vector<std::string>{"noexec", "nosuid", "nodev", "rprivate"}));
    EXPECT_EQ(merge_tmpfs_options({"size=64m", "mode=1777"}),
              (std::vector<std::string>{"noexec", "nosuid", "nodev", "rprivate", "size=64m", "mode=1777"}));
    // exec overrides the default noexec; the later size wins; one propagation only.
    EXPECT_EQ(merge_tmpfs_options({"exec,size=1m", "size=2m", "rshared"}),
              (std::vector<std::string>{"nosuid", "nodev", "exec", "size=2m", "rshared"}));
    EXPECT_EQ(merge_tmpfs_options({"defaults,ro"}),
              (std::vector<std::string>{"noexec", "nosuid", "nodev", "rprivate", "ro"}));
}

TEST(TmpfsOptions, Rejects) {
    for (const char* bad : {"foo", "foo=1", "size=", "size=abc", "size=10x", "mode=8", "mode=", "uid=-1",
                            "nr_inodes=1%", "bind", "rbind", "remount"}) {
        try {
            merge_tmpfs_options({bad});
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid);
            EXPECT_NE(std::string(e.what()).find("invalid tmpfs option"), std::string::npos) << e.what();
        }
    }
    for (const char* good : {"size=1", "size=10k", "size=64M", "size=1g", "size=50%", "mode=0755", "mode=1777",
                             "uid=1000", "gid=0", "nr_inodes=10k", "nr_blocks=100", "mpol=default"})
        EXPECT_NO_THROW(check_tmpfs_option(good)) << good;
}

TEST(TmpfsOptions, SizeLikeDocker) {
    EXPECT_EQ(tmpfs_size_option(64ull << 20), "size=64m");
    EXPECT_EQ(tmpfs_size_option(2ull << 30), "size=2g");
    EXPECT_EQ(tmpfs_size_option(1536), "size=1536");
    EXPECT_EQ(tmpfs_size_option(3072), "size=3k");
    EXPECT_EQ(tmpfs_size_option(1000), "size=1000");
}
