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
