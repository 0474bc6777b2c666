// A real terminal (-it, with resize), and what the container's process gets:
// limits, capabilities, seccomp, no_new_privs, read-only root, user, dirs.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class CtlTty : public CtlTest {
protected:
    void SetUp() override {
        CtlTest::SetUp();
        if (::geteuid() == 0) load_tiny();
    }
    std::string run_out(std::vector<std::string> args) {
        std::vector<std::string> a = {"run", "--rm", "--network", "none"};
        a.insert(a.end(), args.begin(), args.end());
        auto r = ctl(a);
        EXPECT_EQ(r.status, 0) << r;
        return std::string(trim(r.out));
    }
    // the host-side cgroup v1 file of a running container's controller
    std::string cgroup_file(const std::string& name, const std::string& controller, const std::string& file) {
        std::string pid(trim(ctl({"inspect", "-f", "{{.State.Pid}}", name}).out));
        std::string cg = read_file("/proc/" + pid + "/cgroup");
        for (const auto& line : split(cg, '\n')) {
            auto f = split(line, ':');
            if (f.size() < 3) continue;
            for (const auto& c : split(f[1], ','))
                if (c == controller) {
                    auto v = read_file_if_exists("/sys/fs/cgroup/" + f[1] + f[2] + "/" + file);
                    return v ? std::string(trim(*v)) : "";
                }
            if (f[1].empty() && controller == "unified") return read_file("/sys/fs/cgroup/unified" + f[2] + "/" + file);
        }
        return "";
    }
    // A limit's file: v1's name where the controller has a v1 hierarchy (this
    // host's hybrid layout), v2's in the unified hierarchy (pure cgroup v2).
    std::string limit_file(const std::string& name, const std::string& controller, const std::string& v1_file,
                           const std::string& v2_file) {
        std::string v1 = cgroup_file(name, controller, v1_file);
        if (!v1.empty() || ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0) return v1;
        std::string pid(trim(ctl({"inspect", "-f", "{{.State.Pid}}", name}).out));
        for (const auto& line : split(read_file("/proc/" + pid + "/cgroup"), '\n'))
            if (line.rfind("0::", 0) == 0) {
                auto v = read_file_if_exists("/sys/fs/cgroup" + line.substr(3) + "/" + v2_file);
                return v ? std::string(trim(*v)) : "";
            }
        return "";
    }
};
} // namespace

TEST_F(CtlTty, InteractiveTerminalWithResize) {
    CTK_REQUIRE_ROOT();
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(master, 0);
    ASSERT_EQ(::grantpt(master), 0);
    ASSERT_EQ(::unlockpt(master), 0);
    std::string slave = ::ptsname(master);
    winsize ws{};
    ws.ws_row = 33;
    ws.ws_col = 77;
    ::ioctl(master, TIOCSWINSZ, &ws);
    auto env = tool_env({"CTK_CONFIG=" + config_path(), "TERM=xterm"});
    std::string ctl_path = tool_path("ctl"), image = tiny();
    pid_t pid = ::fork();
    if (pid == 0) {
        ::setsid();
        int s = ::open(slave.c_str(), O_RDWR);
        ::ioctl(s, TIOCSCTTY, 0);
        ::dup2(s, 0);
        ::dup2(s, 1);
        ::dup2(s, 2);
        std::vector<std::string> argv = {ctl_path, "run", "-it", "--rm", "--network", "none", image, "sh"};
        std::vector<char*> a, e;
        for (auto& x : argv) a.push_back(x.data());
        a.push_back(nullptr);
        for (auto& x : env) e.push_back(x.data());
        e.push_back(nullptr);
        ::execve(a[0], a.data(), e.data());
        ::_exit(127);
    }
    std::string seen;
    auto read_until = [&](const std::string& want, int ms) {
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (seen.find(want) == std::string::npos && std::chrono::steady_clock::now() < end) {
            pollfd p{master, POLLIN, 0};
            if (::poll(&p, 1, 100) > 0) {
                char buf[4096];
                ssize_t n = ::read(master, buf, sizeof buf);
                if (n > 0) seen.append(buf, static_cast<size_t>(n));
                else break;
            }
        }
        return seen.find(want) != std::string::npos;
    };
    auto type = [&](const std::string& s) { ASSERT_EQ(::write(master, s.data(), s.size()), static_cast<ssize_t>(s.size())); };
    ASSERT_TRUE(read_until("# ", 20000)) << "no prompt: " << seen;
    type("tty; stty size; echo $((6*7))\n");
    EXPECT_TRUE(read_until("42", 10000)) << seen;
    EXPECT_NE(seen.find("33 77"), std::string::npos) << seen;
    EXPECT_NE(seen.find("/dev/"), std::string::npos) << seen;
    // the window changes: the container's terminal follows
    ws.ws_row = 41;
    ws.ws_col = 101;
    ::ioctl(master, TIOCSWINSZ, &ws);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    type("stty size\n");
    EXPECT_TRUE(read_until("41 101", 10000)) << seen;
    // Ctrl-C reaches the shell's foreground job, not ctl
    type("sleep 100\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    type("\x03");
    type("echo after-$((1+1))\n");
    EXPECT_TRUE(read_until("after-2", 10000)) << seen;
    type("exit 3\n");
    int st = 0;
    for (int i = 0; i < 200; i++) {
        if (::waitpid(pid, &st, WNOHANG) == pid) break;
        read_until("\x01never", 50);
        if (i == 199) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &st, 0);
        }
    }
    ::close(master);
    ASSERT_TRUE(WIFEXITED(st)) << seen;
    EXPECT_EQ(WEXITSTATUS(st), 3) << seen;
}

TEST_F(CtlTty, ProcessSettings) {
    CTK_REQUIRE_ROOT();
    write_file_atomic(tmp() + "/env", "FROM_FILE=yes\n# comment\n");
    EXPECT_EQ(run_out({"-e", "A=1", "--env-file", tmp() + "/env", "-w", "/etc", "-u", "nobody", "-h", "box1", tiny(),
                       "sh", "-c", "echo $A $FROM_FILE $(pwd) $(id -u) $(hostname) $(cat /etc/hostname)"}),
              "1 yes /etc 65534 box1 box1");
    EXPECT_EQ(run_out({"--entrypoint", "echo", tiny(), "via", "entrypoint"}), "via entrypoint");
    EXPECT_EQ(run_out({tiny(), "sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status | tr -s '\\t ' ' '"}),
              "NoNewPrivs: 0\nSeccomp: 2");
    EXPECT_EQ(run_out({"--security-opt", "no-new-privileges", "--security-opt", "seccomp=unconfined", tiny(), "sh", "-c",
                       "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status | tr -s '\\t ' ' '"}),
              "NoNewPrivs: 1\nSeccomp: 0");
    EXPECT_EQ(run_out({"--cap-drop", "ALL", tiny(), "sh", "-c", "grep ^CapEff: /proc/self/status | tr -s '\\t ' ' '"}),
              "CapEff: 0000000000000000");
    // default set (0x a80425fb) plus NET_ADMIN (bit 12)
    EXPECT_EQ(run_out({"--cap-add", "NET_ADMIN", tiny(), "sh", "-c", "grep ^CapEff: /proc/self/status | tr -s '\\t ' ' '"}),
              "CapEff: 00000000a80435fb");
    auto ro = ctl({"run", "--rm", "--network", "none", "--read-only", tiny(), "touch", "/x"});
    EXPECT_NE(ro.status, 0) << ro;
    EXPECT_EQ(run_out({"--read-only", "--tmpfs", "/scratch", tiny(), "sh", "-c", "touch /scratch/x && echo ok"}), "ok");
    EXPECT_EQ(run_out({"--add-host", "db.local:10.218.99.9", tiny(), "grep", "db.local", "/etc/hosts"}),
              "10.218.99.9\tdb.local");
    EXPECT_EQ(run_out({"--ulimit", "nofile=123:456", tiny(), "sh", "-c", "ulimit -n"}), "123");
}

TEST_F(CtlTty, ResourceLimitsReachTheCgroups) {
    CTK_REQUIRE_ROOT();
    ASSERT_EQ(ctl({"run", "-d", "--name", "lim", "--network", "none", "-m", "64m", "--cpus", "0.5", "--pids-limit", "20",
                   tiny(), "sleep", "1000"})
                  .status,
              0);
    bool v2 = ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    EXPECT_EQ(limit_file("lim", "memory", "memory.limit_in_bytes", "memory.max"), std::to_string(64 * 1024 * 1024));
    EXPECT_EQ(limit_file("lim", "cpu", "cpu.cfs_quota_us", "cpu.max"), v2 ? "50000 100000" : "50000");
    EXPECT_EQ(limit_file("lim", "pids", "pids.max", "pids.max"), "20");
    // the pids limit really limits
    auto fork_bomb = ctl({"exec", "lim", "sh", "-c", "for i in $(seq 40); do sleep 5 & done 2>&1; wait"});
    EXPECT_NE(fork_bomb.out + fork_bomb.err, "") << "40 processes started under a limit of 20";
    auto insp = ctl({"inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}", "lim"});
    EXPECT_EQ(insp.out, "67108864 500000000 20\n");
}
