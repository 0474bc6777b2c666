// Copy-up without root: files, modes, times, symlinks, hardlinks, FIFOs, and that a
// symlink in the image resolves inside the rootfs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "volume/copy_up.hpp"

using namespace ctk;
using namespace ctk::volume;

namespace {

void put(const std::string& path, const std::string& data, mode_t mode = 0644) {
    write_file_atomic(path, data, mode);
}

struct stat lstat_of(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st;
}

} // namespace

TEST(CopyUp, CopiesTreeWithMetadata) {
    TempDir t("copyup");
    std::string src = t.path() + "/src", dst = t.path() + "/dst";
    make_dirs(src + "/sub/deep");
    make_dirs(dst);
    put(src + "/a.txt", "alpha", 0640);
    put(src + "/exec.sh", "#!/bin/sh\n", 0755);
    put(src + "/sub/deep/b.txt", std::string(300000, 'b'));
    ASSERT_EQ(::chmod((src + "/sub").c_str(), 0710), 0);
    ASSERT_EQ(::symlink("../a.txt", (src + "/sub/rel").c_str()), 0);
    ASSERT_EQ(::symlink("/etc/passwd", (src + "/abs").c_str()), 0);
    ASSERT_EQ(::link((src + "/a.txt").c_str(), (src + "/sub/hard").c_str()), 0);
    ASSERT_EQ(::mkfifo((src + "/fifo").c_str(), 0600), 0);
    struct timespec times[2] = {{1000000000, 0}, {1234567890, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (src + "/a.txt").c_str(), times, 0), 0);
    bool have_xattr = ::setxattr((src + "/exec.sh").c_str(), "user.ctk", "v1", 2, 0) == 0;

    UniqueFd s = open_dir(src), d = open_dir(dst);
    CopyStats stats = copy_tree(s.get(), d.get());
    EXPECT_EQ(stats.files, 3u);
    EXPECT_EQ(stats.dirs, 2u);
    EXPECT_EQ(stats.symlinks, 2u);
    EXPECT_EQ(stats.hardlinks, 1u);
    EXPECT_EQ(stats.specials, 1u);

    EXPECT_EQ(read_file(dst + "/a.txt"), "alpha");
    EXPECT_EQ(read_file(dst + "/sub/deep/b.txt").size(), 300000u);
    EXPECT_EQ(lstat_of(dst + "/a.txt").st_mode & 07777, 0640u);
    EXPECT_EQ(lstat_of(dst + "/exec.sh").st_mode & 07777, 0755u);
    EXPECT_EQ(lstat_of(dst + "/sub").st_mode & 07777, 0710u);
    EXPECT_EQ(lstat_of(dst + "/a.txt").st_mtim.tv_sec, 1234567890);
    EXPECT_EQ(lstat_of(dst + "/a.txt").st_uid, lstat_of(src + "/a.txt").st_uid);
    EXPECT_TRUE(S_ISLNK(lstat_of(dst + "/abs").st_mode));
    char buf[64] = {};
    ASSERT_GT(::readlink((dst + "/abs").c_str(), buf, sizeof buf - 1), 0);
    EXPECT_STREQ(buf, "/etc/passwd") << "symlinks are copied as they are, not followed";
    EXPECT_EQ(lstat_of(dst + "/sub/hard").st_ino, lstat_of(dst + "/a.txt").st_ino) << "hardlinks stay linked";
    EXPECT_EQ(lstat_of(dst + "/a.txt").st_nlink, 2u);
    EXPECT_TRUE(S_ISFIFO(lstat_of(dst + "/fifo").st_mode));
    if (have_xattr) {
        char v[8] = {};
        EXPECT_EQ(::getxattr((dst + "/exec.sh").c_str(), "user.ctk", v, sizeof v), 2);
        EXPECT_STREQ(v, "v1");
    }
}

TEST(CopyUp, DirectoryAttributes) {
    TempDir t("copyup");
    make_dirs(t.path() + "/src");
    make_dirs(t.path() + "/dst");
    ASSERT_EQ(::chmod((t.path() + "/src").c_str(), 0750), 0);
    UniqueFd s = open_dir(t.path() + "/src"), d = open_dir(t.path() + "/dst");
    copy_dir_attributes(s.get(), d.get());
    EXPECT_EQ(lstat_of(t.path() + "/dst").st_mode & 07777, 0750u);
}

TEST(CopyUp, SourceResolvesInsideTheRootfs) {
    TempDir t("copyup");
    std::string rootfs = t.path() + "/rootfs", host = t.path() + "/host";
    make_dirs(rootfs + "/etc");
    make_dirs(host);
    put(host + "/secret", "host file");
    put(rootfs + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    // Absolute and climbing symlinks in the image: both must stay in the rootfs.
    ASSERT_EQ(::symlink(host.c_str(), (rootfs + "/abs").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../../../../../../../../..", (rootfs + "/up").c_str()), 0);
    ASSERT_EQ(::symlink("/etc", (rootfs + "/etclink").c_str()), 0);
    UniqueFd root = open_dir(rootfs);

    int fd = -1;
    EXPECT_EQ(open_copy_up_source(root.get(), "/abs", fd), CopyUpSource::missing);
    EXPECT_EQ(open_copy_up_source(root.get(), "/up" + host, fd), CopyUpSource::missing);
    ASSERT_EQ(open_copy_up_source(root.get(), "/up/etc", fd), CopyUpSource::directory);
    {
        UniqueFd owner(fd);
        struct stat a, b;
        ASSERT_EQ(::fstat(fd, &a), 0);
        ASSERT_EQ(::stat((rootfs + "/etc").c_str(), &b), 0);
        EXPECT_EQ(a.st_ino, b.st_ino) << "/up/etc is the rootfs's /etc";
    }
    ASSERT_EQ(open_copy_up_source(root.get(), "/etclink", fd), CopyUpSource::directory);
    ::close(fd);
    EXPECT_EQ(open_copy_up_source(root.get(), "/etc/passwd", fd), CopyUpSource::not_directory);
    EXPECT_EQ(open_copy_up_source(root.get(), "/etc/passwd/x", fd), CopyUpSource::missing);
    EXPECT_EQ(open_copy_up_source(root.get(), "/nope", fd), CopyUpSource::missing);
}

TEST(CopyUp, EmptyDirectory) {
    TempDir t("copyup");
    UniqueFd d = open_dir(t.path());
    EXPECT_TRUE(directory_empty(d.get()));
    put(t.path() + "/x", "");
    EXPECT_FALSE(directory_empty(d.get()));
}
