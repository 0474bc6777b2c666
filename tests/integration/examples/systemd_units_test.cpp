// contrib/systemd: ctld.service's ExecStart under socket activation, the way
// systemd runs it (systemd-socket-activate passes the socket as fd 3 with
// LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES), and Type=notify's READY=1.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "tool_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

class SystemdUnits : public ToolTest {
protected:
    void SetUp() override {
        ToolTest::SetUp();
        if (!have_program("systemd-socket-activate")) GTEST_SKIP() << "needs systemd-socket-activate (systemd)";
        socket_ = tmp() + "/api.sock";
    }
    void TearDown() override {
        stop();
        ToolTest::TearDown();
    }
    // ExecStart= of contrib/systemd/ctld.service, with the build's ctld.
    static std::vector<std::string> exec_start() {
        std::string unit = read_file(source_dir() + "/contrib/systemd/ctld.service");
        for (const auto& line : split(unit, '\n')) {
            if (!line.starts_with("ExecStart=")) continue;
            std::vector<std::string> words = split(line.substr(10), ' ');
            EXPECT_EQ(words[0], "/usr/local/bin/ctld");
            words[0] = tool_path("ctld");
            return words;
        }
        ADD_FAILURE() << "ctld.service has no ExecStart=";
        return {};
    }
    // systemd-socket-activate -l SOCKET [--fdname NAME] -E (the tools' env) ARGV:
    // listens, and on the first connection executes ARGV in its place with the
    // socket as fd 3, as systemd does for a .socket unit.
    void activate(std::vector<std::string> argv, const std::string& fdname = "",
                  const std::vector<std::string>& env = {}) {
        std::vector<std::string> a = {"/usr/bin/systemd-socket-activate", "-l", socket_};
        if (!fdname.empty()) a.push_back("--fdname=" + fdname);
        for (const auto& e : tool_env(env)) {
            a.push_back("-E");
            a.push_back(e);
        }
        a.insert(a.end(), argv.begin(), argv.end());
        std::vector<char*> cargv;
        for (auto& w : a) cargv.push_back(w.data());
        cargv.push_back(nullptr);
        std::string log = tmp() + "/ctld.log";
        pid_ = ::fork();
        ASSERT_GE(pid_, 0);
        if (pid_ == 0) {
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::setsid();
            ::execv(cargv[0], cargv.data());
            ::_exit(127);
        }
        for (int i = 0; i < 200 && ::access(socket_.c_str(), F_OK) != 0; i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // One HTTP request on a new connection to the socket; the whole answer.
    std::string get(const std::string& path) {
        auto r = run_command({"curl", "-s", "-m", "20", "--unix-socket", socket_, "http://ctld" + path});
        return r.out;
    }
    std::string log() const { return read_file_if_exists(tmp() + "/ctld.log").value_or(""); }
    // Exit status of the activated process (it is ctld after the first connection).
    int stop() {
        if (pid_ <= 0) return -1;
        ::kill(pid_, SIGTERM);
        int ws = 0;
        ::waitpid(pid_, &ws, 0);
        pid_ = -1;
        return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    }
    int wait_exit() {
        int ws = 0;
        for (int i = 0; i < 500; i++) {
            if (::waitpid(pid_, &ws, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return -1;
    }
    std::string socket_;
    pid_t pid_ = -1;
};

} // namespace

TEST_F(SystemdUnits, CtldServesOnTheSocketSystemdPassedAndSaysReady) {
    // Type=notify: a datagram socket standing for systemd's.
    std::string notify = tmp() + "/notify.sock";
    int n = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(n, 0);
    UniqueFd nfd(n);
    sockaddr_un a {};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, notify.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(n, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv {20, 0};
    ::setsockopt(n, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    activate(exec_start(), "", {"NOTIFY_SOCKET=" + notify});
    EXPECT_EQ(get("/_ping"), "OK") << log();
    char buf[512] = {};
    ssize_t got = ::recv(n, buf, sizeof buf - 1, 0);
    ASSERT_GT(got, 0) << "no READY=1 from ctld\n" << log();
    EXPECT_EQ(std::string(buf), "READY=1\nMAINPID=" + std::to_string(pid_) + "\n");
    EXPECT_NE(log().find("(fd 3 from systemd)"), std::string::npos) << log();
    EXPECT_NE(get("/version").find("\"ApiVersion\""), std::string::npos);
    EXPECT_EQ(stop(), 0) << log();
    // The socket is systemd's: ctld leaves it for the next activation.
    struct stat st {};
    EXPECT_EQ(::stat(socket_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    ::unlink(socket_.c_str());
}

TEST_F(SystemdUnits, WithoutHostCtldTakesTheActivatedSocket) {
    activate({tool_path("ctld")});
    EXPECT_EQ(get("/_ping"), "OK") << log();
    EXPECT_EQ(stop(), 0) << log();
    ::unlink(socket_.c_str());
}

TEST_F(SystemdUnits, NamedSocketsAreSelectedByFdName) {
    activate({tool_path("ctld"), "-H", "fd://api"}, "api");
    EXPECT_EQ(get("/_ping"), "OK") << log();
    EXPECT_EQ(stop(), 0) << log();
    ::unlink(socket_.c_str());

    activate({tool_path("ctld"), "-H", "fd://other"}, "api");
    get("/_ping"); // the first connection makes systemd-socket-activate execute ctld
    EXPECT_EQ(wait_exit(), 2) << log();
    EXPECT_NE(log().find("-H fd://other: systemd passed no such socket"), std::string::npos) << log();
    ::unlink(socket_.c_str());
}

TEST_F(SystemdUnits, FdHostWithoutActivationIsAUsageError) {
    auto r = run("ctld", {"-H", "fd://"});
    EXPECT_EQ(r.status, 2) << r;
    EXPECT_NE(r.err.find("systemd passed no socket"), std::string::npos) << r;
}

// ctl in a unit of Type=notify: ns-run would relay NOTIFY_SOCKET into the
// container and `run -d` would wait for a READY=1 the container never sends.
TEST_F(SystemdUnits, CtlDoesNotHandNotifySocketToTheContainersItStarts) {
    std::string notify = tmp() + "/notify.sock";
    int n = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(n, 0);
    UniqueFd nfd(n);
    sockaddr_un a {};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, notify.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(n, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string name = "ctkt-" + std::to_string(::getpid()) + "-notify";
    defer([this, name] { run("ctl", {"rm", "-f", name}); });
    auto r = run("ctl", {"run", "-d", "--name", name, "--network", "none", registry() + "/tiny:latest", "sh", "-c",
                         "echo \"[$NOTIFY_SOCKET]\"; exec sleep 60"},
                 "", {"NOTIFY_SOCKET=" + notify});
    ASSERT_EQ(r.status, 0) << r;
    // Returned at once (not when the container exited), and nothing was mounted or sent.
    EXPECT_EQ(std::string(trim(run("ctl", {"inspect", "--format", "{{.State.Running}}", name}).out)), "true");
    EXPECT_EQ(run("ctl", {"logs", name}).out, "[]\n");
    char buf[64];
    EXPECT_LT(::recv(n, buf, sizeof buf, MSG_DONTWAIT), 0);
}
