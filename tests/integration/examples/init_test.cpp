// examples/init: the s6 and runit services that run a container with ns-run,
// under a supervisor the test starts in a temporary directory: the container
// runs once the service is up, and is gone (state and processes) once the
// service is down; the supervisor is stopped by its pid.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "tool_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

class InitExamples : public ToolTest {
protected:
    void SetUp() override {
        ToolTest::SetUp();
        id_ = "ctkt-" + std::to_string(::getpid()) + "-svc";
        bundle_ = tmp() + "/bundle";
        // make-bundle.sh is part of what is tested: the bundle the services run.
        auto r = run_command({source_dir() + "/examples/init/make-bundle.sh", bundle_, registry() + "/tiny:latest",
                              "sh", "-c", "echo up; exec sleep 1000"});
        ASSERT_EQ(r.status, 0) << r;
        defer([this] { run("img-unpack", {"--release", bundle_}); });
    }
    void TearDown() override {
        stop_supervisor();
        run("ns-run", {"delete", "--force", id_});
        ToolTest::TearDown();
    }
    // Copies examples/init/<kind>/ctk-web into dir, pointed at our bundle and ID.
    std::string install_service(const std::string& kind, const std::string& dir) {
        make_dirs(dir);
        auto r = run_process({"cp", "-a", source_dir() + "/examples/init/" + kind + "/ctk-web", dir + "/"});
        EXPECT_TRUE(r.ok()) << r.err;
        std::string svc = dir + "/ctk-web";
        write_file_atomic(svc + "/env/BUNDLE", bundle_ + "\n");
        write_file_atomic(svc + "/env/ID", id_ + "\n");
        return svc;
    }
    // The supervisor in its own session, with the tools' environment and
    // ns-run on PATH; its output in supervisor.log.
    void start_supervisor(const std::vector<std::string>& argv) {
        std::vector<std::string> env = tool_env({"PATH=" + build_dir() + "/tools/ns-run:/usr/sbin:/usr/bin:/sbin:/bin"});
        std::vector<std::string> a = argv;
        std::vector<char*> cargv, cenv;
        for (auto& w : a) cargv.push_back(w.data());
        cargv.push_back(nullptr);
        for (auto& e : env) cenv.push_back(e.data());
        cenv.push_back(nullptr);
        std::string log = tmp() + "/supervisor.log";
        pid_ = ::fork();
        ASSERT_GE(pid_, 0);
        if (pid_ == 0) {
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::setsid();
            ::execve(cargv[0], cargv.data(), cenv.data());
            ::_exit(127);
        }
    }
    // The supervisor's children (s6-supervise, runsv).
    std::vector<pid_t> supervisor_children() const {
        std::string p = std::to_string(pid_);
        auto text = read_file_if_exists("/proc/" + p + "/task/" + p + "/children").value_or("");
        std::vector<pid_t> out;
        for (const auto& w : split(text, ' '))
            if (auto n = parse_uint(w)) out.push_back(static_cast<pid_t>(*n));
        return out;
    }
    bool wait_for(const std::function<bool()>& done, int seconds) {
        for (int i = 0; i < seconds * 20; i++) {
            if (done()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return done();
    }
    // Stops the supervisor by its pid with the signal that makes it stop its
    // supervisors too (s6-svscan: SIGTERM; runsvdir: SIGHUP, which sends
    // runsv TERM: service down and exit), then waits until they are gone.
    void stop_supervisor() {
        if (pid_ <= 0) return;
        std::vector<pid_t> children = supervisor_children();
        ::kill(pid_, stop_signal_);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        for (pid_t c : children) {
            bool gone = wait_for([&] {
                ::waitpid(c, nullptr, WNOHANG); // when this process is their subreaper
                auto st = read_file_if_exists("/proc/" + std::to_string(c) + "/stat");
                return !st || st->find(") Z ") != std::string::npos;
            }, 10);
            EXPECT_TRUE(gone) << "supervisor child " << c << " still runs";
        }
    }
    // ns-run's state of the container: its JSON, or null when it does not exist.
    Json state() {
        auto r = run("ns-run", {"state", id_});
        return r.status == 0 ? r.json() : Json();
    }
    std::string status() {
        Json s = state();
        return s.is_object() ? s.value("status", "") : "";
    }
    std::string log() const { return read_file_if_exists(tmp() + "/supervisor.log").value_or(""); }

    // Up: running, and its process is ns-run's child under the supervisor.
    // Down: the state gone and the process too.
    void check_up_then_down(const std::function<void()>& down) {
        ASSERT_TRUE(wait_for([&] { return status() == "running"; }, 20))
            << "the service did not start the container\n" << log();
        Json s = state();
        int pid = s.is_object() ? s.value("pid", 0) : 0;
        ASSERT_GT(pid, 0);
        EXPECT_TRUE(wait_for([&] { return log().find("up") != std::string::npos; }, 5)) << log();
        down();
        EXPECT_TRUE(wait_for([&] { return state().is_null(); }, 20)) << "the container is still there\n" << log();
        EXPECT_TRUE(wait_for([&] { return ::kill(pid, 0) != 0; }, 5)) << "its process " << pid << " still runs";
    }

    std::string id_, bundle_;
    pid_t pid_ = -1;
    int stop_signal_ = SIGTERM;
};

} // namespace

TEST_F(InitExamples, S6ServiceRunsTheContainerAndStopsIt) {
    if (!have_program("s6-svscan")) GTEST_SKIP() << "needs s6 (scripts/install-deps.sh)";
    std::string scan = tmp() + "/scan";
    std::string svc = install_service("s6", scan);
    start_supervisor({"/usr/bin/s6-svscan", scan});
    check_up_then_down([&] {
        auto r = run_command({"s6-svc", "-d", svc});
        EXPECT_EQ(r.status, 0) << r;
    });
    auto st = run_command({"s6-svstat", svc});
    EXPECT_EQ(st.out.substr(0, 5), "down ") << st;
    stop_signal_ = SIGTERM;
}

TEST_F(InitExamples, RunitServiceRunsTheContainerAndStopsIt) {
    if (!have_program("runsvdir")) GTEST_SKIP() << "needs runit (scripts/install-deps.sh)";
    std::string dir = tmp() + "/service";
    std::string svc = install_service("runit", dir);
    start_supervisor({"/usr/bin/runsvdir", "-P", dir});
    check_up_then_down([&] {
        auto r = run_command({"sv", "down", svc});
        EXPECT_EQ(r.status, 0) << r;
    });
    // down once its finish script has run
    EXPECT_TRUE(wait_for([&] { return run_command({"sv", "status", svc}).out.starts_with("down:"); }, 10))
        << run_command({"sv", "status", svc});
    stop_signal_ = SIGHUP;
}
