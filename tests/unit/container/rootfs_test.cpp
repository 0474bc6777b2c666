// In-root path handling without root: symlinks in a rootfs resolve inside it.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/process.hpp"
#include "container/rootfs.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"

using namespace ctk;
using namespace ctk::container;

namespace {
class InRoot : public ::testing::Test {
protected:
    void SetUp() override {
        root = dir.path() + "/root";
        outside = dir.path() + "/outside";
        make_dirs(root + "/etc");
        make_dirs(outside);
        rootfd = open_dir(root);
    }
    bool exists(const std::string& p) {
        struct stat st {};
        return ::lstat(p.c_str(), &st) == 0;
    }
    TempDir dir{"inroot"};
    std::string root, outside;
    UniqueFd rootfd;
};
} // namespace

TEST_F(InRoot, MakesMissingDirectories) {
    UniqueFd fd = make_dirs_in_root(rootfd.get(), "/a/b/c");
    EXPECT_TRUE(fd);
    EXPECT_TRUE(exists(root + "/a/b/c"));
}

TEST_F(InRoot, AbsoluteSymlinkStaysInside) {
    ASSERT_EQ(::symlink(outside.c_str(), (root + "/link").c_str()), 0);
    make_dirs_in_root(rootfd.get(), "/link/x");
    EXPECT_FALSE(exists(outside + "/x")) << "went outside through an absolute symlink";
    EXPECT_TRUE(exists(root + outside + "/x")) << "resolved as if the rootfs were /";
}

TEST_F(InRoot, DotDotSymlinkStaysInside) {
    ASSERT_EQ(::symlink("../../../../../../outside", (root + "/up").c_str()), 0);
    make_file_in_root(rootfd.get(), "/up/file");
    EXPECT_FALSE(exists(outside + "/file"));
    EXPECT_TRUE(exists(root + "/outside/file"));
    make_dirs_in_root(rootfd.get(), "/../../../../escape");
    EXPECT_FALSE(exists(dir.path() + "/escape"));
    EXPECT_TRUE(exists(root + "/escape"));
}

TEST_F(InRoot, FileUnderAFileFails) {
    make_file_in_root(rootfd.get(), "/etc/passwd");
    EXPECT_THROW(make_dirs_in_root(rootfd.get(), "/etc/passwd/x"), Error);
}

TEST_F(InRoot, SymlinkLoopsEnd) {
    ASSERT_EQ(::symlink("/loop", (root + "/loop").c_str()), 0);
    EXPECT_THROW(make_dirs_in_root(rootfd.get(), "/loop/x"), Error);
}

TEST(Sysctl, OnlyNamespacedOnesWithTheirNamespace) {
    oci::Spec spec;
    spec.linux = oci::Linux{};
    spec.linux->namespaces = {{"ipc", ""}, {"network", ""}};
    EXPECT_NO_THROW(check_sysctl("net.ipv4.ip_forward", spec));
    EXPECT_NO_THROW(check_sysctl("kernel.shmmax", spec));
    EXPECT_NO_THROW(check_sysctl("fs.mqueue.msg_max", spec));
    EXPECT_THROW(check_sysctl("kernel.hostname", spec), Error) << "needs a uts namespace";
    EXPECT_THROW(check_sysctl("kernel.core_pattern", spec), Error);
    EXPECT_THROW(check_sysctl("vm.overcommit_memory", spec), Error);
    spec.linux->namespaces = {};
    EXPECT_THROW(check_sysctl("net.ipv4.ip_forward", spec), Error) << "the host's network namespace";
}

TEST(Process, PlanChecksTheSpec) {
    oci::Process p;
    p.args = {"sh"};
    p.rlimits = {{"RLIMIT_NOFILE", 10, 5}};
    auto none = [](const std::string&) {};
    ProcessPlan plan = plan_process(p, std::nullopt, none);
    ASSERT_EQ(plan.rlimits.size(), 1u);
    EXPECT_EQ(plan.rlimits[0].second.rlim_cur, 5u);
    p.rlimits = {{"RLIMIT_NOPE", 1, 1}};
    EXPECT_THROW(plan_process(p, std::nullopt, none), Error);
    p.rlimits = {{"RLIMIT_NOFILE", 1, 2}};
    EXPECT_THROW(plan_process(p, std::nullopt, none), Error) << "soft above hard";
    p.rlimits = {};
    p.cwd = "relative";
    EXPECT_THROW(plan_process(p, std::nullopt, none), Error);
}

TEST(Process, FindsTheProgramInThePath) {
    ProcessPlan plan;
    plan.args = {"sh"};
    plan.env = {"PATH=/nonexistent:/bin:/usr/bin"};
    EXPECT_EQ(find_executable(plan), "/bin/sh");
    plan.args = {"/explicit/path"};
    EXPECT_EQ(find_executable(plan), "/explicit/path");
    plan.args = {"no-such-program-anywhere"};
    try {
        find_executable(plan);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
    }
}
