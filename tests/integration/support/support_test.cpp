// The plumbing every integration test stands on: the temporary store, the
// environment the tools get, the registry fixture, and the clean-up.
#include <sys/mount.h>
#include <sys/stat.h>

#include "linux/mount.hpp"
#include "tool_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
std::string g_mounted_dir;
bool g_deferred_ran = false;

class Support : public ToolTest {};
} // namespace

TEST_F(Support, ToolsSeeTheTemporaryStore) {
    auto r = run_command({"sh", "-c", "echo $CTK_ROOT $CTK_RUN $HOME; echo oops >&2; exit 7"});
    EXPECT_EQ(r.status, 7);
    EXPECT_EQ(r.out, ctk_root() + " " + ctk_run() + " " + tmp() + "/home\n");
    EXPECT_EQ(r.err, "oops\n");
    struct stat st;
    EXPECT_EQ(::stat(ctk_root().c_str(), &st), 0);
    EXPECT_EQ(ctk_root().rfind(test_tmp_parent() + "/", 0), 0u);
}

TEST_F(Support, RegistryFixtureAnswersOnLoopback) {
    ASSERT_EQ(registry().rfind("127.", 0), 0u) << "tests only talk to loopback";
    auto r = run_command({"curl", "-fsS", "http://" + registry() + "/v2/tiny/tags/list"});
    ASSERT_EQ(r.status, 0) << r;
    Json tags = r.json();
    EXPECT_EQ(tags["name"], "tiny");
    EXPECT_NE(std::find(tags["tags"].begin(), tags["tags"].end(), "latest"), tags["tags"].end());
}

TEST_F(Support, FixtureLayoutsExist) {
    for (const char* name : {"tiny", "layered", "evil"}) {
        struct stat st;
        EXPECT_EQ(::stat((fixture_layout(name) + "/oci-layout").c_str(), &st), 0) << name;
    }
}

TEST_F(Support, JsonOutputIsParsed) {
    auto r = run_command({"sh", "-c", "echo '{\"a\":1}'; echo '{\"b\":2}'"});
    auto lines = r.json_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1]["b"], 2);
}

// A test that leaves a mount behind in its directory...
TEST_F(Support, CleanupUnmountsWhatATestLeft) {
    CTK_REQUIRE_ROOT();
    g_mounted_dir = tmp() + "/mnt";
    make_dirs(g_mounted_dir);
    linux::mount("tmpfs", g_mounted_dir, "tmpfs", 0, "size=1m");
    write_file_atomic(g_mounted_dir + "/f", "x");
    defer([] { g_deferred_ran = true; });
    EXPECT_TRUE(linux::is_mount_point(g_mounted_dir));
}

// ...finds it gone afterwards, directory and mount both.
TEST_F(Support, CleanupLeftNothing) {
    CTK_REQUIRE_ROOT();
    ASSERT_FALSE(g_mounted_dir.empty()) << "runs after CleanupUnmountsWhatATestLeft";
    EXPECT_TRUE(g_deferred_ran);
    struct stat st;
    EXPECT_NE(::stat(g_mounted_dir.c_str(), &st), 0);
    for (const auto& m : linux::read_mountinfo())
        EXPECT_NE(m.mount_point.rfind(g_mounted_dir, 0), 0u) << m.mount_point;
}
