// Terminals: the pty master through --console-socket (SCM_RIGHTS, as runc
// sends it), the foreground proxy with window sizes, and signal forwarding.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "linux/console.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

// Reads from fd until `want` shows up (or 10 s pass); returns all it read.
std::string read_until(int fd, const std::string& want) {
    std::string got;
    for (int i = 0; i < 1000 && got.find(want) == std::string::npos; i++) {
        pollfd p {fd, POLLIN, 0};
        if (::poll(&p, 1, 10) <= 0) continue;
        char buf[4096];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
    }
    return got;
}

class Console : public NsRunTest {
protected:
    // A process of ns-run with the given fds as its stdio.
    pid_t spawn(const std::vector<std::string>& args, int in, int out, int err, bool new_session = false) {
        std::vector<std::string> argv = {tool_path("ns-run"), "--root", state_root()};
        argv.insert(argv.end(), args.begin(), args.end());
        auto env = tool_env();
        pid_t pid = ::fork();
        if (pid == 0) {
            if (new_session) {
                ::setsid();
                ::ioctl(in, TIOCSCTTY, 0);
            }
            ::dup2(in, 0);
            ::dup2(out, 1);
            ::dup2(err, 2);
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
    int wait_status(pid_t pid) {
        int st = 0;
        ::waitpid(pid, &st, 0);
        return exit_status(st);
    }
};

} // namespace

TEST_F(Console, MasterArrivesOnTheConsoleSocket) {
    std::string path = tmp() + "/console.sock";
    int ls = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    UniqueFd listener(ls);
    sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(ls, 1), 0);
    std::string name;
    UniqueFd master;
    std::thread receiver([&] {
        UniqueFd conn(::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC));
        if (conn) master = linux::receive_fd(conn.get(), &name);
    });
    Json c = shell_config("tty; echo ready; read line; echo got:$line; stty size");
    c["process"]["terminal"] = true;
    c["process"]["consoleSize"] = {{"height", 33}, {"width", 111}};
    std::string id = create_container(c, {"--console-socket", path, "--monitor"}, true);
    receiver.join();
    ASSERT_TRUE(master) << "no fd on the console socket";
    EXPECT_FALSE(name.empty());
    std::string out = read_until(master.get(), "ready");
    EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
    ASSERT_EQ(::write(master.get(), "hello\n", 6), 6);
    out = read_until(master.get(), "33 111");
    EXPECT_NE(out.find("got:hello"), std::string::npos) << out;
    EXPECT_NE(out.find("33 111"), std::string::npos) << out;
    EXPECT_EQ(wait_stopped(id)["exitCode"], 0);
}

TEST_F(Console, ExecWithATerminalSendsItsMaster) {
    std::string id = create_container(shell_config("exec sleep 1000"), {}, true);
    std::string path = tmp() + "/exec-console.sock";
    int ls = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    UniqueFd listener(ls);
    sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(ls, 1), 0);
    UniqueFd master;
    std::thread receiver([&] {
        UniqueFd conn(::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC));
        std::string name;
        if (conn) master = linux::receive_fd(conn.get(), &name);
    });
    std::string pid_file = tmp() + "/exec.pid";
    auto r = ns_detached({"exec", "-t", "-d", "--console-socket", path, "--pid-file", pid_file, id, "sh", "-c",
                          "tty; echo ready; read line; echo got:$line; sleep 1000"});
    receiver.join();
    ASSERT_EQ(r.status, 0) << r;
    ASSERT_TRUE(master) << "no fd on the console socket";
    std::string out = read_until(master.get(), "ready");
    EXPECT_NE(out.find("/dev/pts/"), std::string::npos) << out;
    ASSERT_EQ(::write(master.get(), "hi\n", 3), 3);
    out = read_until(master.get(), "got:hi");
    EXPECT_NE(out.find("got:hi"), std::string::npos) << out;
    pid_t pid = std::stoi(read_file(pid_file));
    auto ps = ns({"ps", "--format", "json", id});
    EXPECT_NE(parse_json(ps.out, "ps").dump().find(std::to_string(pid)), std::string::npos)
        << "the exec'd process is one of the container's: " << ps;
    auto refused = ns_detached({"exec", "-t", "-d", id, "true"});
    EXPECT_EQ(refused.status, 3) << "a detached exec with a terminal needs a socket: " << refused;
}

TEST_F(Console, DetachedTerminalNeedsASocket) {
    Json c = base_config();
    c["process"]["terminal"] = true;
    std::string id = new_id();
    auto r = ns_detached({"create", "--bundle", bundle(c), id});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(ns({"state", id}).status, 4);
}

TEST_F(Console, ForegroundProxiesThePtyAndItsSize) {
    int outer_master, outer_slave;
    winsize ws {};
    ws.ws_row = 20;
    ws.ws_col = 70;
    ASSERT_EQ(::openpty(&outer_master, &outer_slave, nullptr, nullptr, &ws), 0);
    UniqueFd m(outer_master), s(outer_slave);
    Json c = shell_config("stty size; echo ready; read x; stty size; echo bye");
    c["process"]["terminal"] = true;
    std::string id = new_id();
    delete_at_end(id);
    pid_t pid = spawn({"run", "--bundle", bundle(c), id}, s.get(), s.get(), s.get(), true);
    s.reset();
    std::string out = read_until(m.get(), "ready");
    EXPECT_NE(out.find("20 70"), std::string::npos) << "the container's pty has our size: " << out;
    ws.ws_row = 41;
    ws.ws_col = 99;
    ASSERT_EQ(::ioctl(m.get(), TIOCSWINSZ, &ws), 0); // SIGWINCH to ns-run
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(::write(m.get(), "\n", 1), 1);
    out = read_until(m.get(), "bye");
    EXPECT_NE(out.find("41 99"), std::string::npos) << "resized: " << out;
    EXPECT_EQ(wait_status(pid), 0);
}

TEST_F(Console, ForegroundForwardsSignals) {
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
        int p[2];
        ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
        UniqueFd r(p[0]), w(p[1]);
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        UniqueFd nul(null);
        Json c = shell_config("trap 'echo caught; exit 3' TERM INT HUP; echo ready; while :; do sleep 0.05; done");
        std::string id = new_id();
        delete_at_end(id);
        pid_t pid = spawn({"run", "--bundle", bundle(c), id}, nul.get(), w.get(), nul.get());
        w.reset();
        std::string out = read_until(r.get(), "ready");
        ASSERT_NE(out.find("ready"), std::string::npos);
        ::kill(pid, sig);
        out += read_until(r.get(), "caught");
        EXPECT_NE(out.find("caught"), std::string::npos) << strsignal(sig);
        EXPECT_EQ(wait_status(pid), 3) << strsignal(sig);
    }
}
