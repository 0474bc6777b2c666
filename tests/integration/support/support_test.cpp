// The plumbing every integration test stands on: the temporary store, the
// environment the tools get, the registry fixture, and the clean-up.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <chrono>
#include <thread>

#include "core/process.hpp"
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
    keep_after_test(g_mounted_dir); // for the harness to unmount: not a leak here
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

// The leak check finds what a test leaves on the host, of each kind, only when
// it carries the test's identity, and removes it.
TEST_F(Support, LeakCheckReportsAndRemovesWhatATestLeft) {
    CTK_REQUIRE_ROOT();
    const std::string pid = std::to_string(::getpid());
    const std::string mnt = tmp() + "/leak-mnt";
    const std::string ns = "ctkt-" + pid + "-leak";
    const std::string link = "ctkt" + pid + "l";
    const std::string table = "ctkt" + pid + "leak";
    const std::string cgroup = "/sys/fs/cgroup/pids/ctkt-" + pid + "-leak";
    const std::string claimed = "ctk-lc" + random_hex(3); // another kind of name the test claims
    const std::string other = "ctk-lo" + random_hex(3);   // a name of somebody else's
    const std::string run_file = ctk_run() + "/runtime/x/state.json";
    const std::string tmp_file = ctk_root() + "/images/blobs/.tmp-123";
    // Whatever the assertions below do, nothing stays.
    defer([=] {
        for (const auto& n : {ns}) run_process({"ip", "netns", "del", n});
        for (const auto& n : {link, claimed, other}) run_process({"ip", "link", "del", n});
        run_process({"nft", "delete", "table", "ip", table});
        ::rmdir(cgroup.c_str());
        ::umount2(mnt.c_str(), MNT_DETACH);
    });
    claim_names(claimed);

    make_dirs(mnt);
    linux::mount("tmpfs", mnt, "tmpfs", 0, "size=1m");
    ASSERT_EQ(run_command({"ip", "netns", "add", ns}).status, 0);
    ASSERT_EQ(run_command({"ip", "link", "add", link, "type", "bridge"}).status, 0);
    ASSERT_EQ(run_command({"ip", "link", "add", claimed, "type", "bridge"}).status, 0);
    ASSERT_EQ(run_command({"ip", "link", "add", other, "type", "bridge"}).status, 0);
    ASSERT_EQ(run_command({"nft", "add table ip " + table + "; add chain ip " + table +
                                      " c; add rule ip " + table + " c counter comment \"leak\""})
                  .status,
              0);
    bool have_pids = ::access("/sys/fs/cgroup/pids", W_OK) == 0;
    if (have_pids) {
        ASSERT_EQ(::mkdir(cgroup.c_str(), 0755), 0);
    }
    auto bg = run_command({"sh", "-c", "cd \"$1\" && sleep 300 </dev/null >/dev/null 2>&1 & echo $!", "sh", tmp()});
    ASSERT_EQ(bg.status, 0) << bg;
    const pid_t sleeper = std::stoi(bg.out);
    defer([sleeper] { ::kill(sleeper, SIGKILL); });
    make_dirs(ctk_run() + "/runtime/x");
    write_file_atomic(run_file, "{}");
    make_dirs(ctk_root() + "/images/blobs");
    write_file_atomic(tmp_file, "partial");
    write_file_atomic(ctk_root() + "/images/index.json", "{}"); // the store's own files stay
    make_dirs(ctk_root() + "/layers/abc/diff/tmp");
    write_file_atomic(ctk_root() + "/layers/abc/diff/tmp/.tmp-in-an-image", ""); // content of a layer
    make_dirs(ctk_run() + "/locks");
    write_file_atomic(ctk_run() + "/locks/store.lock", ""); // and so do locks

    auto leaks = leak_report();
    std::string report = LeakScope::describe(leaks);
    auto has = [&](Leak::Kind kind, const std::string& text) {
        return std::any_of(leaks.begin(), leaks.end(), [&](const Leak& l) {
            return l.kind == kind && l.what.find(text) != std::string::npos;
        });
    };
    EXPECT_TRUE(has(Leak::Kind::mount, mnt + " (tmpfs")) << report;
    EXPECT_TRUE(has(Leak::Kind::netns, ns)) << report;
    EXPECT_TRUE(has(Leak::Kind::mount, "/run/netns/" + ns + " (nsfs")) << report;
    EXPECT_TRUE(has(Leak::Kind::link, link)) << report;
    EXPECT_TRUE(has(Leak::Kind::link, claimed)) << report;
    EXPECT_FALSE(has(Leak::Kind::link, other)) << report;
    EXPECT_TRUE(has(Leak::Kind::nft, "table ip " + table)) << report;
    EXPECT_TRUE(has(Leak::Kind::nft, "rule ip " + table + " c #")) << report;
    if (have_pids) {
        EXPECT_TRUE(has(Leak::Kind::cgroup, cgroup)) << report;
    }
    EXPECT_TRUE(has(Leak::Kind::process, "process " + std::to_string(sleeper) + " ")) << report;
    EXPECT_TRUE(has(Leak::Kind::file, run_file)) << report;
    EXPECT_TRUE(has(Leak::Kind::file, tmp_file)) << report;
    EXPECT_FALSE(has(Leak::Kind::file, "index.json")) << report;
    EXPECT_FALSE(has(Leak::Kind::file, "store.lock")) << report;
    EXPECT_FALSE(has(Leak::Kind::file, ".tmp-in-an-image")) << report;

    auto failed = clean_leaks(leaks);
    EXPECT_TRUE(failed.empty()) << failed.size() << " not removed";
    EXPECT_FALSE(linux::is_mount_point(mnt));
    EXPECT_NE(::access(("/var/run/netns/" + ns).c_str(), F_OK), 0);
    EXPECT_NE(::access(("/sys/class/net/" + link).c_str(), F_OK), 0);
    EXPECT_NE(::access(cgroup.c_str(), F_OK), 0);
    auto stat = read_file_if_exists("/proc/" + std::to_string(sleeper) + "/stat");
    EXPECT_TRUE(!stat || stat->find(") Z ") != std::string::npos) << "still runs: " << *stat; // gone, or dead and not yet reaped by init
    EXPECT_NE(run_command({"nft", "list", "table", "ip", table}).status, 0);
    // Files are the harness's to remove; with them gone the report is empty.
    ::unlink(run_file.c_str());
    ::unlink(tmp_file.c_str());
    EXPECT_EQ(LeakScope::describe(leak_report()), "");
    run_command({"ip", "link", "del", other});
}

// Ids that pass through the store are the test's even once their records are
// gone: a cgroup named by a container id it ran, a bridge and a veth of a
// network it had.
TEST_F(Support, LeakCheckKnowsTheIdsTheStoreHeld) {
    CTK_REQUIRE_ROOT();
    const std::string id = random_hex(32);
    const std::string cgroup = "/sys/fs/cgroup/pids/ctk-leakcheck-" + id.substr(0, 12);
    const std::string bridge = "ctk-lb" + random_hex(3);
    defer([=] {
        ::rmdir(cgroup.c_str());
        run_process({"ip", "link", "del", bridge});
    });
    if (::access("/sys/fs/cgroup/pids", W_OK) != 0) GTEST_SKIP() << "no pids cgroup hierarchy";
    make_dirs(ctk_root() + "/containers/" + id);
    make_dirs(ctk_root() + "/networks");
    write_file_atomic(ctk_root() + "/networks/n.json", Json{{"id", random_hex(32)}, {"bridge", bridge}}.dump());
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the store is polled
    remove_tree(ctk_root() + "/containers/" + id);
    ::unlink((ctk_root() + "/networks/n.json").c_str());
    ASSERT_EQ(::mkdir(cgroup.c_str(), 0755), 0);
    ASSERT_EQ(run_command({"ip", "link", "add", bridge, "type", "bridge"}).status, 0);

    auto leaks = leak_report();
    std::string report = LeakScope::describe(leaks);
    EXPECT_NE(report.find("cgroup " + cgroup), std::string::npos) << report;
    EXPECT_NE(report.find("network interface " + bridge), std::string::npos) << report;
    EXPECT_TRUE(clean_leaks(leaks).empty());
    EXPECT_EQ(LeakScope::describe(leak_report()), "");
}
