#include "core/fs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace ctk;

TEST(Fs, WriteAndReadFile) {
    TempDir dir("fs-test");
    std::string p = dir.path() + "/f";
    write_file_atomic(p, "hello", 0600);
    EXPECT_EQ(read_file(p), "hello");
    struct stat st;
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    write_file_atomic(p, "second");
    EXPECT_EQ(read_file(p), "second");
}

TEST(Fs, ReadFileRefusesOversize) {
    TempDir dir("fs-test");
    std::string p = dir.path() + "/big";
    write_file_atomic(p, std::string(100, 'x'));
    EXPECT_THROW(read_file(p, 10), Error);
    EXPECT_FALSE(read_file_if_exists(dir.path() + "/absent").has_value());
}

// A writer killed at any moment leaves the old file whole or the new one whole,
// never a mix, and at most a stray temporary file beside it.
TEST(Fs, AtomicWriteSurvivesCrash) {
    TempDir dir("fs-crash");
    std::string p = dir.path() + "/state.json";
    std::string old_content(1 << 20, 'o');
    std::string new_content(8 << 20, 'n');
    for (int round = 0; round < 12; round++) {
        write_file_atomic(p, old_content);
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            try {
                for (;;) write_file_atomic(p, new_content);
            } catch (...) {
            }
            _exit(1);
        }
        ::usleep(static_cast<useconds_t>(500 + round * 1500));
        ::kill(pid, SIGKILL);
        int status;
        ::waitpid(pid, &status, 0);
        std::string now = read_file(p, 16 << 20);
        EXPECT_TRUE(now == old_content || now == new_content)
            << "round " << round << ": file has " << now.size() << " bytes";
    }
}

TEST(Fs, MakeDirsAndRemoveTree) {
    TempDir dir("fs-test");
    std::string deep = dir.path() + "/a/b/c";
    make_dirs(deep);
    make_dirs(deep);
    write_file_atomic(deep + "/f", "x");
    ASSERT_EQ(::symlink("/etc", (dir.path() + "/a/link").c_str()), 0);
    remove_tree(dir.path() + "/a");
    struct stat st;
    EXPECT_NE(::lstat((dir.path() + "/a").c_str(), &st), 0);
    // The symlink was removed, not followed.
    EXPECT_EQ(::stat("/etc/passwd", &st), 0);
}

TEST(Fs, OpenInRootStaysInsideRoot) {
    if (!have_openat2()) GTEST_SKIP() << "kernel without openat2";
    TempDir dir("fs-root");
    std::string root = dir.path() + "/root";
    make_dirs(root + "/etc");
    write_file_atomic(root + "/etc/marker", "inside");
    ASSERT_EQ(::symlink("/etc", (root + "/abs").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../../etc", (root + "/rel").c_str()), 0);
    UniqueFd rootfd = open_dir(root);
    // Absolute and climbing symlinks resolve inside the root, as if chrooted.
    EXPECT_EQ(read_fd(open_in_root(rootfd.get(), "abs/marker", O_RDONLY).get()), "inside");
    EXPECT_EQ(read_fd(open_in_root(rootfd.get(), "rel/marker", O_RDONLY).get()), "inside");
    EXPECT_EQ(read_fd(open_in_root(rootfd.get(), "/../../etc/marker", O_RDONLY).get()), "inside");
    // The host's /etc/passwd is out of reach.
    EXPECT_FALSE(try_open_in_root(rootfd.get(), "abs/passwd", O_RDONLY));
    EXPECT_THROW(open_in_root(rootfd.get(), "../etc/passwd", O_RDONLY), Error);
}

TEST(Fs, TempDirIsRemoved) {
    std::string path;
    {
        TempDir dir("fs-temp");
        path = dir.path();
        make_dirs(path + "/x/y");
    }
    struct stat st;
    EXPECT_NE(::stat(path.c_str(), &st), 0);
}

TEST(Fs, RandomHex) {
    std::string a = random_hex(8), b = random_hex(8);
    EXPECT_EQ(a.size(), 16u);
    EXPECT_NE(a, b);
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}
