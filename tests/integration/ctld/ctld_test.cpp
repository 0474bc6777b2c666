#include "ctld_test.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"

namespace ctk::test {

namespace {
const char* docker_cli = "/usr/local/bin/docker";
}

void CtldTest::SetUp() {
    ToolTest::SetUp();
    write_file_atomic(config_path(),
                      R"({"network": {"default_subnet": "10.220.0.0/16", "default_bridge": "ctkd0", "dns": []},)"
                      R"( "ctld": {"address_pools": [{"base": "10.221.0.0/16", "size": 24}]}, "registry": {}})");
    make_dirs(tmp() + "/docker-config");
    start_daemon();
}

std::vector<std::string> CtldTest::daemon_env() const {
    return {"CTK_CONFIG=" + config_path(), "DOCKER_CONFIG=" + tmp() + "/docker-config"};
}

std::string CtldTest::daemon_log() const { return read_file_if_exists(tmp() + "/ctld.log").value_or(""); }

void CtldTest::start_daemon(const std::vector<std::string>& extra_args) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    std::vector<std::string> argv = {tool_path("ctld"), "-H", host()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    std::vector<std::string> env = tool_env(daemon_env());
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    std::string log = tmp() + "/ctld.log";
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null = ::open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        if (null >= 0) ::dup2(null, 0);
        ::setsid();
        ::execve(cargv[0], cargv.data(), cenv.data());
        ::_exit(127);
    }
    pid_ = pid;
    for (int i = 0; i < 200; i++) {
        UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, socket_path().c_str(), sizeof a.sun_path - 1);
        if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return;
        int ws;
        if (::waitpid(pid_, &ws, WNOHANG) == pid_) {
            pid_ = -1;
            FAIL() << "ctld exited at start:\n" << daemon_log();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL() << "ctld did not answer on " << socket_path() << "\n" << daemon_log();
}

void CtldTest::stop_daemon(bool kill9) {
    if (pid_ <= 0) return;
    ::kill(pid_, kill9 ? SIGKILL : SIGTERM);
    int ws = 0;
    for (int i = 0; i < 200; i++) {
        if (::waitpid(pid_, &ws, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << "ctld did not stop on SIGTERM";
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &ws, 0);
    pid_ = -1;
}

void CtldTest::TearDown() {
    if (::geteuid() == 0 && !tmp().empty()) {
        if (pid_ <= 0) start_daemon();
        // everything the test made, even after a failed assertion
        auto ids = docker({"ps", "-aq", "--no-trunc"});
        for (const auto& id : split(ids.out, '\n'))
            if (!id.empty()) docker({"rm", "-f", "-v", id});
        auto nets = docker({"network", "ls", "--format", "{{.Name}}"});
        for (const auto& n : split(nets.out, '\n'))
            if (!n.empty() && n != "none" && n != "host" && n != "bridge") docker({"network", "rm", n});
        auto vols = docker({"volume", "ls", "-q"});
        for (const auto& v : split(vols.out, '\n'))
            if (!v.empty()) docker({"volume", "rm", "-f", v});
        stop_daemon();
        // the default network's bridge and rules
        run("net-bridge", {"rm", "bridge"}, "", daemon_env());
        // no stdio keeper outlives its container
        bool left = true;
        for (int i = 0; i < 100 && left; i++) {
            left = false;
            if (DIR* d = ::opendir((ctk_run() + "/shim").c_str())) {
                while (dirent* e = ::readdir(d))
                    if (e->d_name[0] != '.') left = true;
                ::closedir(d);
            }
            if (left) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        EXPECT_FALSE(left) << "a stdio keeper outlived its container";
    }
    ToolTest::TearDown();
}

ToolResult CtldTest::docker(const std::vector<std::string>& args, const std::string& input,
                            const std::vector<std::string>& env) {
    std::vector<std::string> argv = {docker_cli, "-H", host()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> e = daemon_env();
    e.insert(e.end(), env.begin(), env.end());
    return run_command(argv, input, e);
}

ToolResult CtldTest::compose(const std::string& dir, const std::vector<std::string>& args) {
    std::string cmd = "cd " + dir + " && docker-compose";
    for (const auto& a : args) cmd += " '" + a + "'";
    return sh(cmd);
}

ToolResult CtldTest::sh(const std::string& script) {
    std::vector<std::string> e = daemon_env();
    e.push_back("DOCKER_HOST=" + host());
    e.push_back("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    return run_command({"sh", "-c", script}, "", e);
}

ToolResult CtldTest::ctl(const std::vector<std::string>& args, const std::string& input) {
    return run("ctl", args, input, daemon_env());
}

std::string CtldTest::raw_request(const std::string& bytes, int timeout_ms) {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, socket_path().c_str(), sizeof a.sun_path - 1);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
        ADD_FAILURE() << "connect " << socket_path() << ": " << std::strerror(errno);
        return "";
    }
    write_all(s.get(), bytes, "request");
    std::string out;
    for (;;) {
        pollfd p{s.get(), POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) break;
        char buf[65536];
        ssize_t n = ::read(s.get(), buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string CtldTest::tiny() {
    std::string ref = registry() + "/tiny:latest";
    if (!tiny_pulled_) {
        auto p = docker({"pull", "-q", ref});
        EXPECT_EQ(p.status, 0) << p << daemon_log();
        auto t = docker({"tag", ref, "tiny"});
        EXPECT_EQ(t.status, 0) << t;
        tiny_pulled_ = true;
    }
    return ref;
}

} // namespace ctk::test
