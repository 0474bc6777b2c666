#include "core/process.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace ctk;

TEST(Process, CapturesOutputAndStatus) {
    RunOptions o;
    o.input = "in\n";
    auto r = run_process({"sh", "-c", "cat; echo err >&2; exit 3"}, o);
    EXPECT_EQ(r.status, 3);
    EXPECT_EQ(r.out, "in\n");
    EXPECT_EQ(r.err, "err\n");
}

TEST(Process, SignalBecomes128PlusSignal) {
    auto r = run_process({"sh", "-c", "kill -TERM $$"});
    EXPECT_EQ(r.status, 128 + 15);
}

TEST(Process, TimeoutKills) {
    RunOptions o;
    o.timeout_ms = 100;
    auto r = run_process({"sleep", "10"}, o);
    EXPECT_TRUE(r.timed_out);
    EXPECT_FALSE(r.ok());
}

TEST(Process, EnvironmentAndCwd) {
    RunOptions o;
    o.extra_env = {"CTK_X=42"};
    o.cwd = "/";
    auto r = run_process({"sh", "-c", "echo $CTK_X $(pwd)"}, o);
    EXPECT_EQ(r.out, "42 /\n");
}

TEST(Process, LargeInputAndOutputDoNotDeadlock) {
    std::string big(4 << 20, 'q');
    RunOptions o;
    o.input = big;
    auto r = run_process({"cat"}, o);
    EXPECT_EQ(r.out.size(), big.size());
}

TEST(Process, MissingProgramThrowsNotFound) {
    try {
        run_process({"/nonexistent/ctk-no-such-tool"});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
    }
}

TEST(Process, EnvironmentOverridesLaterWins) {
    ::setenv("CTK_TEST_ENV_A", "outer", 1);
    auto env = ctk::environment_with({"CTK_TEST_ENV_A=first", "CTK_TEST_ENV_B=b", "CTK_TEST_ENV_A=second"});
    int a = 0;
    for (const auto& e : env) {
        if (e.rfind("CTK_TEST_ENV_A=", 0) == 0) {
            a++;
            EXPECT_EQ(e, "CTK_TEST_ENV_A=second");
        }
    }
    EXPECT_EQ(a, 1);
    EXPECT_NE(std::find(env.begin(), env.end(), "CTK_TEST_ENV_B=b"), env.end());
    ::unsetenv("CTK_TEST_ENV_A");
}
