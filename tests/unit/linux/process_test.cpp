#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.hpp"
#include "linux/process.hpp"

using namespace ctk;
using namespace ctk::linux;

TEST(Signals, ParseNamesAndNumbers) {
    EXPECT_EQ(parse_signal("KILL"), SIGKILL);
    EXPECT_EQ(parse_signal("SIGTERM"), SIGTERM);
    EXPECT_EQ(parse_signal("sigusr1"), SIGUSR1);
    EXPECT_EQ(parse_signal("9"), 9);
    EXPECT_EQ(parse_signal("RTMIN"), SIGRTMIN);
    EXPECT_EQ(parse_signal("SIGRTMIN+3"), SIGRTMIN + 3);
    EXPECT_EQ(parse_signal("RTMAX-1"), SIGRTMAX - 1);
    EXPECT_THROW(parse_signal("NOPE"), Error);
    EXPECT_THROW(parse_signal("0"), Error);
    EXPECT_THROW(parse_signal("65"), Error);
    EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
}

TEST(Rlimits, Names) {
    EXPECT_EQ(parse_rlimit("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    EXPECT_EQ(parse_rlimit("RLIMIT_RTTIME"), RLIMIT_RTTIME);
    EXPECT_FALSE(parse_rlimit("RLIMIT_NOPE"));
}

TEST(Processes, StartTimeTellsLiveFromGone) {
    auto t = process_start_time(::getpid());
    ASSERT_TRUE(t);
    EXPECT_TRUE(process_alive(::getpid(), *t));
    EXPECT_FALSE(process_alive(::getpid(), *t + 1)) << "another start time is another process";
    EXPECT_FALSE(process_alive(0, 0));
    EXPECT_FALSE(process_start_time(0x7ffffff0));
}

TEST(Processes, CloseFdsExceptKeepsOnlyThoseAsked) {
    int a = ::open("/dev/null", O_RDONLY), b = ::open("/dev/null", O_RDONLY), c = ::open("/dev/null", O_RDONLY);
    pid_t pid = ::fork();
    if (pid == 0) {
        close_fds_except({b, -1, 9999});
        bool ok = ::fcntl(a, F_GETFD) < 0 && ::fcntl(b, F_GETFD) >= 0 && ::fcntl(c, F_GETFD) < 0 &&
                  ::fcntl(0, F_GETFD) >= 0;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ::close(a);
    ::close(b);
    ::close(c);
}

// ctld's liveness checks: a process found alive is held by a pidfd and polled;
// its exit (a zombie not yet reaped too) is seen, and a start time that is not
// the process's own is never alive.
TEST(AliveCache, HoldsALiveProcessAndSeesItExit) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    auto start = ctk::linux::process_start_time(child);
    ASSERT_TRUE(start);
    ctk::linux::AliveCache cache;
    EXPECT_FALSE(cache.alive(child, *start + 1)) << "another process's start time";
    EXPECT_TRUE(cache.alive(child, *start));
    EXPECT_TRUE(cache.alive(child, *start));
    EXPECT_EQ(cache.held(), 1u);
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    // the zombie is not reaped yet: exited all the same
    for (int i = 0; i < 200 && cache.alive(child, *start); i++) ::usleep(10000);
    EXPECT_FALSE(cache.alive(child, *start));
    EXPECT_EQ(cache.held(), 0u);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_FALSE(cache.alive(child, *start));
}

TEST(AliveCache, SweepLetsGoOfProcessesNotAskedAbout) {
    ctk::linux::AliveCache cache;
    auto self = ctk::linux::process_start_time(::getpid());
    ASSERT_TRUE(self);
    EXPECT_TRUE(cache.alive(::getpid(), *self));
    cache.sweep(); // asked since the last sweep: kept
    EXPECT_EQ(cache.held(), 1u);
    cache.sweep(); // not asked since: let go
    EXPECT_EQ(cache.held(), 0u);
    EXPECT_TRUE(cache.alive(::getpid(), *self));
}
