// Many ctl processes at once, and ctl interrupted at any point: the store stays
// consistent and rm -f removes whatever is left.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class CtlRobust : public CtlTest {
protected:
    void SetUp() override {
        CtlTest::SetUp();
        if (::geteuid() == 0) load_tiny();
    }
    // Starts ctl with `args` in the background and returns its pid.
    pid_t spawn(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {tool_path("ctl")};
        argv.insert(argv.end(), args.begin(), args.end());
        auto env = tool_env({"CTK_CONFIG=" + config_path()});
        pid_t pid = ::fork();
        if (pid == 0) {
            int null = ::open("/dev/null", O_RDWR);
            ::dup2(null, 0);
            ::dup2(null, 1);
            ::dup2(null, 2);
            std::vector<char*> a, e;
            for (auto& s : argv) a.push_back(s.data());
            a.push_back(nullptr);
            for (auto& s : env) e.push_back(s.data());
            e.push_back(nullptr);
            ::execve(a[0], a.data(), e.data());
            ::_exit(127);
        }
        return pid;
    }
    std::string leftovers() {
        auto r = run_command({"sh", "-c", "find " + ctk_root() + "/containers " + ctk_run() +
                                              "/netns -mindepth 1 -maxdepth 1 ! -name .lock 2>/dev/null; grep -c " + tmp() +
                                              " /proc/self/mountinfo"});
        return r.out;
    }
};
} // namespace

TEST_F(CtlRobust, TenDetachedRunsAtOnceGetDistinctNamesIdsAndAddresses) {
    CTK_REQUIRE_ROOT();
    std::vector<pid_t> pids;
    for (int i = 0; i < 10; i++) pids.push_back(spawn({"run", "-d", tiny(), "sleep", "1000"}));
    for (pid_t p : pids) {
        int st = 0;
        ::waitpid(p, &st, 0);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "a ctl run -d failed: " << st;
    }
    auto ps = ctl({"ps", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.State}}"});
    auto lines = split(std::string(trim(ps.out)), '\n');
    ASSERT_EQ(lines.size(), 10u) << ps.out;
    std::set<std::string> ids, names, ips;
    for (const auto& l : lines) {
        auto f = split(l, ' ');
        ASSERT_EQ(f.size(), 3u) << l;
        ids.insert(f[0]);
        names.insert(f[1]);
        EXPECT_EQ(f[2], "running");
        ips.insert(std::string(trim(ctl({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", f[0]}).out)));
    }
    EXPECT_EQ(ids.size(), 10u);
    EXPECT_EQ(names.size(), 10u);
    EXPECT_EQ(ips.size(), 10u);
    EXPECT_EQ(ips.count(""), 0u);
}

TEST_F(CtlRobust, KilledAtAnyPointRmForceRemovesWhatIsLeft) {
    CTK_REQUIRE_ROOT();
    // SIGKILL ctl at increasing points of a run -d; whatever it left must go with rm -f
    for (int delay_ms : {5, 20, 40, 80, 160, 320}) {
        pid_t p = spawn({"run", "-d", "-v", "/anon", "-p", "127.0.0.1:28090:80", tiny(), "sleep", "1000"});
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        ::kill(p, SIGKILL);
        ::waitpid(p, nullptr, 0);
        auto ids = ctl({"ps", "-aq", "--no-trunc"});
        for (const auto& id : split(ids.out, '\n')) {
            if (id.empty()) continue;
            auto rm = ctl({"rm", "-f", "-v", id});
            EXPECT_EQ(rm.status, 0) << "after " << delay_ms << " ms: " << rm;
        }
        EXPECT_EQ(ctl({"ps", "-aq"}).out, "") << delay_ms;
        EXPECT_EQ(ctl({"volume", "ls", "-q"}).out, "") << delay_ms;
        auto left = leftovers();
        EXPECT_EQ(trim(left), "0") << "after " << delay_ms << " ms: " << left;
        // the published port is free again
        auto again = ctl({"run", "--rm", "-p", "127.0.0.1:28090:80", tiny(), "true"});
        EXPECT_EQ(again.status, 0) << delay_ms << ": " << again;
    }
}

TEST_F(CtlRobust, SigintWhileCreatingRollsBack) {
    CTK_REQUIRE_ROOT();
    for (int delay_ms : {10, 40, 120}) {
        pid_t p = spawn({"create", "--name", "half", tiny(), "true"});
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        ::kill(p, SIGINT);
        int st = 0;
        ::waitpid(p, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            ASSERT_EQ(ctl({"rm", "half"}).status, 0); // it finished before the signal
            continue;
        }
        EXPECT_EQ(ctl({"ps", "-aq"}).out, "") << "an interrupted create left a container (" << delay_ms << " ms)";
        EXPECT_EQ(trim(leftovers()), "0") << delay_ms;
    }
}

// Issue 16: what docker refuses is refused with 125 before anything is made.
TEST_F(CtlRobust, BadRunArgumentsAreRefusedWith125) {
    CTK_REQUIRE_ROOT();
    struct Case {
        std::vector<std::string> args;
        std::string message;
    } cases[] = {
        {{"run", "--frobnicate", tiny(), "true"}, "unknown flag: --frobnicate"},
        {{"run", "--rm", "--add-host", "a:1.2.3.4\n5.6.7.8 x", tiny(), "cat", "/etc/hosts"},
         "invalid IP address in add-host: \"1.2.3.4\\x0a5.6.7.8 x\""},
        {{"run", "--rm", "-e", "=x", tiny(), "true"}, "invalid environment variable: =x"},
        {{"run", "--rm", "-e", "", tiny(), "true"}, "invalid environment variable: "},
        {{"run", "--rm", "-u", "2147483648", tiny(), "id", "-u"}, "uids and gids must be in range 0-2147483647"},
    };
    for (const auto& c : cases) {
        auto r = ctl(c.args);
        EXPECT_EQ(r.status, 125) << join(c.args, " ") << "\n" << r;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r;
        EXPECT_EQ(r.out, "") << r;
    }
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "") << "nothing was made";
    auto ok = ctl({"run", "--rm", "--network", "none", "--add-host", "db:10.235.0.9", "-u", "2147483647", tiny(),
                   "grep", "db", "/etc/hosts"});
    EXPECT_EQ(ok.status, 0) << ok;
    EXPECT_EQ(ok.out, "10.235.0.9\tdb\n");
}

TEST_F(CtlRobust, ForegroundSignalsReachTheContainer) {
    CTK_REQUIRE_ROOT();
    // SIGTERM to ctl reaches the container's process once; its status is ctl's
    pid_t p = spawn({"run", "--rm", "--network", "none", tiny(), "sh", "-c",
                     "trap 'exit 42' TERM; while true; do sleep 0.1; done"});
    for (int i = 0; i < 200 && ctl({"ps", "-q"}).out.empty(); i++)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the trap is set
    ::kill(p, SIGTERM);
    int st = 0;
    ::waitpid(p, &st, 0);
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 42);
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
}
