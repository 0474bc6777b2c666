// --init: a minimal pid 1 (tini's job) that forwards signals and reaps orphans.
#include <unistd.h>

#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Init : public NsRunTest {
protected:
    // Once the orphan "sleep 0.7" has exited: "Z" when it stays a zombie,
    // "gone" when someone reaps it within a second. (ps shows a zombie
    // without arguments.)
    std::string orphan_state(const std::string& id) {
        auto counts = [&] {
            auto r = ns({"exec", id, "sh", "-c", "ps -o stat,args | grep -c 'sleep 0.7$'; ps -o stat | grep -c '^Z'; true"});
            auto c = split(r.out, '\n');
            c.resize(2);
            return c;
        };
        int i = 0;
        for (; i < 300 && counts()[0] == "0"; i++) ::usleep(10000);
        if (i == 300) return "never started";
        for (i = 0; i < 300 && counts()[0] != "0"; i++) ::usleep(20000);
        if (i == 300) return "still running";
        for (i = 0; i < 50; i++) {
            if (counts()[1] == "0") return "gone";
            ::usleep(20000);
        }
        return "Z";
    }
};
} // namespace

TEST_F(Init, ReapsOrphans) {
    Json c = shell_config("(sleep 0.7 &); exec sleep 1000");
    std::string with = create_container(c, {"--init"}, true);
    EXPECT_EQ(orphan_state(with), "gone") << "the init reaped it";
    std::string without = create_container(c, {}, true);
    EXPECT_EQ(orphan_state(without), "Z") << "sleep as pid 1 never reaps";
}

TEST_F(Init, ForwardsSignalsToTheProgram) {
    std::string id = create_container(shell_config("exec sleep 1000"), {"--init", "--monitor"}, true);
    // pid 1 is the init, shown as Docker's (not ns-run's host path and arguments)
    // (the NULs that fill the rest of ns-run's argv memory are dropped, as ps drops them)
    auto cmd = ns({"exec", id, "cat", "/proc/1/cmdline"});
    ASSERT_NE(cmd.out.find('\0'), std::string::npos) << cmd;
    cmd.out.erase(cmd.out.find_last_not_of('\0') + 1);
    EXPECT_EQ(cmd.out, std::string("/sbin/docker-init\0--\0/bin/sh\0-c\0exec sleep 1000", 47)) << cmd;
    EXPECT_EQ(ns({"exec", id, "cat", "/proc/1/comm"}).out, "docker-init\n");
    EXPECT_NE(ns({"exec", id, "ps", "-o", "pid,args"}).out.find("1 /sbin/docker-init -- /bin/sh -c exec sleep 1000"), std::string::npos);
    ASSERT_EQ(ns({"kill", id, "TERM"}).status, 0);
    EXPECT_EQ(ns({"wait", id}).json()["exitCode"], 128 + 15) << "sleep got the SIGTERM pid 1 would ignore";
}

TEST_F(Init, ExitsWithTheProgramsStatus) {
    EXPECT_EQ(run_container(shell_config("exit 5"), {"--init"}).status, 5);
    auto out = run_container(shell_config("echo $$"), {"--init"});
    EXPECT_EQ(out.out, "2\n") << "the program is pid 2 under the init";
}

TEST_F(Init, AnnotationAsksForIt) {
    Json c = shell_config("echo $$");
    c["annotations"] = {{"io.github.ctk.ns-run.init", "true"}};
    EXPECT_EQ(run_container(c).out, "2\n") << "the program is pid 2 under the init";
    c["annotations"]["io.github.ctk.ns-run.init"] = "false";
    EXPECT_EQ(run_container(c).out, "1\n");
}
