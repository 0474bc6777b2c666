// ctl rm -f racing a ctl run -d that was killed while it was still starting:
// nothing may be left running, recorded by the runtime, or in a cgroup.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

class CtlRmRace : public CtlTest {
protected:
    pid_t spawn_ctl(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {tool_path("ctl")};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<std::string> env = tool_env({"CTK_CONFIG=" + config_path()});
        std::vector<char*> av, ev;
        for (auto& a : argv) av.push_back(a.data());
        av.push_back(nullptr);
        for (auto& e : env) ev.push_back(e.data());
        ev.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        pid_t pid = -1;
        int rc = posix_spawn(&pid, av[0], &fa, nullptr, av.data(), ev.data());
        posix_spawn_file_actions_destroy(&fa);
        EXPECT_EQ(rc, 0);
        return pid;
    }
    // Runtime states ns-run keeps ($CTK_RUN/runtime/<id>/).
    std::vector<std::string> runtime_states() const {
        std::vector<std::string> out;
        std::string dir = ctk_run() + "/runtime";
        if (std::filesystem::exists(dir))
            for (const auto& e : std::filesystem::directory_iterator(dir))
                if (e.is_directory()) out.push_back(e.path().filename());
        return out;
    }
};

TEST_F(CtlRmRace, RmForceOfARunKilledWhileStartingLeavesNothing) {
    load_tiny();
    // how long a run -d takes here: the kills land anywhere in it, the start included
    auto t0 = std::chrono::steady_clock::now();
    ToolResult r = ctl({"run", "-d", "--name", "probe", "--network", "none", tiny(), "sleep", "1000"});
    ASSERT_EQ(r.status, 0) << r;
    int span_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_EQ(ctl({"rm", "-f", "probe"}).status, 0);
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> delay(0, std::max(50, span_ms));
    for (int i = 0; i < 20; i++) {
        std::string name = "race" + std::to_string(i);
        pid_t pid = spawn_ctl({"run", "-d", "--name", name, "--network", "none", tiny(), "sleep", "1000"});
        std::this_thread::sleep_for(std::chrono::milliseconds(delay(rng)));
        ::kill(pid, SIGKILL);
        int st;
        ::waitpid(pid, &st, 0);
        r = ctl({"rm", "-f", name});
        EXPECT_TRUE(r.status == 0 || r.err.find("No such container") != std::string::npos) << r;
        EXPECT_EQ(ctl({"ps", "-aq"}).out, "") << "after " << name;
        EXPECT_EQ(runtime_states(), std::vector<std::string>{}) << "after " << name;
    }
    // a start that outlived its ctl would show up late
    std::this_thread::sleep_for(std::chrono::seconds(2));
    EXPECT_EQ(runtime_states(), std::vector<std::string>{});
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
}

} // namespace
