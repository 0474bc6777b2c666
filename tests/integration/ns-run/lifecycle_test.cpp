// The runc verbs and the state they report (runtime.md "Lifecycle";
// CONTRACTS.md, ns-run "state: the OCI state and its extensions").
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Lifecycle : public NsRunTest {};

// Waits until the process has a handler for sig (its trap is set up).
void wait_for_handler(int pid, int sig) {
    for (int i = 0; i < 500; i++) {
        auto status = read_file_if_exists("/proc/" + std::to_string(pid) + "/status").value_or("");
        auto at = status.find("SigCgt:");
        if (at != std::string::npos) {
            uint64_t mask = std::stoull(status.substr(at + 7), nullptr, 16);
            if (mask & (uint64_t{1} << (sig - 1))) return;
        }
        ::usleep(10000);
    }
    ADD_FAILURE() << "pid " << pid << " never caught signal " << sig;
}
} // namespace

TEST_F(Lifecycle, RunExitsWithTheProcessStatus) {
    auto ok = run_container(shell_config("echo hello; echo oops >&2"));
    EXPECT_EQ(ok.status, 0) << ok;
    EXPECT_EQ(ok.out, "hello\n");
    EXPECT_EQ(ok.err, "oops\n");
    EXPECT_EQ(run_container(shell_config("exit 42")).status, 42);
    // Not pid 1 (which no signal from inside its namespace kills): no pid namespace here.
    Json c = shell_config("kill -KILL $$");
    auto& list = c["linux"]["namespaces"];
    for (size_t i = 0; i < list.size(); i++)
        if (list[i]["type"] == "pid") list.erase(i);
    EXPECT_EQ(run_container(c).status, 128 + 9);
}

TEST_F(Lifecycle, RunRemovesTheContainerAfterwards) {
    std::string id = new_id();
    auto r = ns({"run", "--bundle", bundle(base_config()), id});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(ns({"state", id}).status, 4) << "run deletes the container when it exits";
    EXPECT_NE(::access(cgroup_dir("pids", id).c_str(), F_OK), 0);
}

TEST_F(Lifecycle, MissingProgramExits127) {
    Json c = base_config();
    c["process"]["args"] = {"/no/such/program"};
    auto r = run_container(c);
    EXPECT_EQ(r.status, 127) << r;
    EXPECT_NE(r.err.find("/no/such/program"), std::string::npos) << r;
}

TEST_F(Lifecycle, CreateStartStateKillDelete) {
    Json c = shell_config("echo started > /tmp/started; exec sleep 1000");
    c["root"]["readonly"] = false;
    c["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    // --monitor: ns-run's own monitor records the exit code (for ctl and ctld)
    std::string id = create_container(c, {"--monitor"});
    Json s = state(id);
    EXPECT_EQ(s["status"], "created");
    EXPECT_GT(s["pid"].get<int>(), 0);
    EXPECT_EQ(s["id"], id);
    EXPECT_EQ(s["ociVersion"], "1.1.0");
    EXPECT_TRUE(s.contains("created"));
    EXPECT_FALSE(s.contains("started"));
    EXPECT_EQ(s["rootfs"], shared_rootfs());
    // The process waits for start: nothing of the program has run.
    std::string pid = std::to_string(s["pid"].get<int>());
    EXPECT_EQ(run_command({"cat", "/proc/" + pid + "/root/tmp/started"}).status, 1);

    auto start = ns({"start", id});
    ASSERT_EQ(start.status, 0) << start;
    s = state(id);
    EXPECT_EQ(s["status"], "running");
    EXPECT_TRUE(s.contains("started"));
    EXPECT_EQ(ns({"start", id}).status, 5) << "a running container cannot be started again";

    auto del = ns({"delete", id});
    EXPECT_EQ(del.status, 5) << "a running container is not deleted without --force: " << del;

    auto kill = ns({"kill", id, "KILL"});
    ASSERT_EQ(kill.status, 0) << kill;
    s = wait_stopped(id);
    EXPECT_EQ(s["status"], "stopped");
    EXPECT_EQ(s["exitCode"], 137);
    EXPECT_TRUE(s.contains("finished"));
    EXPECT_EQ(s["pid"], 0);
    EXPECT_EQ(ns({"kill", id}).status, 5) << "kill of a stopped container fails";

    auto gone = ns({"delete", id});
    EXPECT_EQ(gone.status, 0) << gone;
    EXPECT_EQ(ns({"state", id}).status, 4);
    EXPECT_NE(::access(cgroup_dir("pids", id).c_str(), F_OK), 0) << "cgroup removed on delete";
    EXPECT_NE(::access(cgroup_dir("memory", id).c_str(), F_OK), 0) << "cgroup removed on delete";
}

TEST_F(Lifecycle, DeleteForceKillsARunningContainer) {
    std::string id = create_container(shell_config("exec sleep 1000"), {}, true);
    EXPECT_EQ(state(id)["status"], "running");
    auto del = ns({"delete", "--force", id});
    EXPECT_EQ(del.status, 0) << del;
    EXPECT_EQ(ns({"state", id}).status, 4);
}

TEST_F(Lifecycle, DeleteOfACreatedContainerNeedsNoForce) {
    std::string id = create_container(base_config());
    auto del = ns({"delete", id});
    EXPECT_EQ(del.status, 0) << del;
    EXPECT_EQ(ns({"state", id}).status, 4);
}

TEST_F(Lifecycle, KillDeliversTheSignal) {
    std::string id =
        create_container(shell_config("trap 'exit 3' USR1; while :; do sleep 0.05; done"), {"--monitor"}, true);
    wait_for_handler(state(id)["pid"].get<int>(), SIGUSR1);
    auto k = ns({"kill", id, "SIGUSR1"});
    ASSERT_EQ(k.status, 0) << k;
    EXPECT_EQ(wait_stopped(id)["exitCode"], 3);
    EXPECT_EQ(ns({"kill", id, "NOSUCHSIGNAL"}).status, 3);
}

TEST_F(Lifecycle, KillAllReachesEveryProcess) {
    // Without its own pid namespace the container's first process is not an init.
    Json c = shell_config("sleep 1000 & sleep 1000 & wait");
    auto& ns_list = c["linux"]["namespaces"];
    for (size_t i = 0; i < ns_list.size(); i++)
        if (ns_list[i]["type"] == "pid") ns_list.erase(i);
    std::string id = create_container(c, {}, true);
    for (int i = 0; i < 200 && ns({"ps", "--format", "json", id}).json().size() < 3; i++) ::usleep(10000);
    auto before = ns({"ps", "--format", "json", id}).json();
    EXPECT_EQ(before.size(), 3u) << before;
    ASSERT_EQ(ns({"kill", "--all", id, "KILL"}).status, 0);
    wait_stopped(id);
    for (const auto& p : before) {
        std::string exe = "/proc/" + std::to_string(p.get<int>()) + "/exe";
        for (int i = 0; i < 500 && ::access(exe.c_str(), F_OK) == 0; i++) ::usleep(10000);
        EXPECT_NE(::access(exe.c_str(), F_OK), 0) << "pid " << p << " survived kill --all";
    }
}

TEST_F(Lifecycle, ListShowsContainers) {
    std::string a = create_container(base_config());
    std::string b = create_container(shell_config("exec sleep 1000"), {}, true);
    auto l = ns({"list", "--format", "json"});
    ASSERT_EQ(l.status, 0) << l;
    Json j = l.json();
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["id"], a < b ? a : b);
    for (const auto& e : j) EXPECT_EQ(e["status"], e["id"] == a ? "created" : "running");
    auto q = ns({"list", "-q"});
    EXPECT_EQ(q.out, (a < b ? a + "\n" + b : b + "\n" + a) + "\n");
    auto t = ns({"list"});
    EXPECT_EQ(t.out.rfind("ID\tPID\tSTATUS", 0), 0u) << t.out;
}

TEST_F(Lifecycle, PsListsTheContainersProcesses) {
    std::string id = create_container(shell_config("sleep 1000 & exec sleep 999"), {}, true);
    Json pids;
    for (int i = 0; i < 200; i++) {
        pids = ns({"ps", "--format", "json", id}).json();
        if (pids.size() == 2) break;
        ::usleep(10000);
    }
    ASSERT_EQ(pids.size(), 2u) << pids;
    EXPECT_EQ(pids[0], state(id)["pid"]);
    auto table = ns({"ps", id});
    EXPECT_NE(table.out.find("sleep 999"), std::string::npos) << table.out;
}

TEST_F(Lifecycle, WaitReportsTheExitCode) {
    std::string id = create_container(shell_config("sleep 0.2; exit 7"), {"--monitor"}, true);
    auto w = ns({"wait", id});
    ASSERT_EQ(w.status, 0) << w;
    EXPECT_EQ(w.json()["exitCode"], 7);
    EXPECT_EQ(w.json()["id"], id);
    EXPECT_EQ(state(id)["exitCode"], 7);
}

TEST_F(Lifecycle, PidFileHoldsTheContainerPid) {
    std::string pidfile = tmp() + "/pid";
    std::string id = create_container(base_config(), {"--pid-file", pidfile});
    EXPECT_EQ(read_file(pidfile), std::to_string(state(id)["pid"].get<int>()));
}

TEST_F(Lifecycle, IdsAreUniqueAndChecked) {
    std::string id = create_container(base_config());
    auto again = ns_detached({"create", "--bundle", bundle(base_config()), id});
    EXPECT_EQ(again.status, 5) << again;
    EXPECT_NE(again.err.find("already exists"), std::string::npos) << again;
    EXPECT_EQ(state(id)["status"], "created") << "the first one is untouched";
    EXPECT_EQ(ns({"create", "--bundle", bundle(base_config()), "../escape"}).status, 2);
    EXPECT_EQ(ns({"state", "nosuchcontainer"}).status, 4);
}

TEST_F(Lifecycle, BadBundleIsRefusedCleanly) {
    Json c = base_config();
    c["ociVersion"] = "2.0.0";
    std::string id = new_id();
    auto r = ns({"run", "--bundle", bundle(c), id});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(ns({"state", id}).status, 4) << "nothing is left behind";
    auto missing = ns({"run", "--bundle", tmp() + "/nothing-here", new_id()});
    EXPECT_NE(missing.status, 0);
}

TEST_F(Lifecycle, UnknownVerbFails) {
    auto r = ns({"frobnicate", "x"});
    EXPECT_EQ(r.status, 2) << r;
    EXPECT_EQ(ns({}).status, 2);
    EXPECT_EQ(ns({"--help"}).status, 0);
}

TEST_F(Lifecycle, FeaturesDescribeTheRuntime) {
    auto r = ns({"features"});
    ASSERT_EQ(r.status, 0) << r;
    Json f = r.json();
    EXPECT_EQ(f["ociVersionMax"], "1.1.0");
    EXPECT_NE(std::find(f["hooks"].begin(), f["hooks"].end(), "createRuntime"), f["hooks"].end());
    EXPECT_NE(std::find(f["mountOptions"].begin(), f["mountOptions"].end(), "rro"), f["mountOptions"].end());
    EXPECT_TRUE(f["linux"]["seccomp"]["enabled"].get<bool>());
    EXPECT_NE(std::find(f["linux"]["capabilities"].begin(), f["linux"]["capabilities"].end(), "CAP_SYS_ADMIN"),
              f["linux"]["capabilities"].end());
}

TEST_F(Lifecycle, LogFileGetsErrorsInJson) {
    std::string log = tmp() + "/runtime.log";
    auto r = ns({"--log", log, "--log-format", "json", "state", "nosuch"});
    EXPECT_EQ(r.status, 4);
    Json line = parse_json(read_file(log), "log");
    EXPECT_EQ(line["level"], "error");
    EXPECT_NE(line["msg"].get<std::string>().find("nosuch"), std::string::npos);
}
