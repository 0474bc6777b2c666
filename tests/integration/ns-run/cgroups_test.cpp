// Cgroups for real, on the layout the machine has: v1/hybrid (this host) or
// pure v2 (scripts/vm-test.sh's guest, where the suites run in a delegated
// systemd scope): placement beneath our own cgroup, limits that really limit,
// the freezer, removal; the v2 eBPF device filter; v2's delegation rules.
// Each test asserts the files of the layout it runs on, never skips one.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/cgroup.hpp"
#include "linux/device_filter.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Cgroups : public NsRunTest {
protected:
    // A container showing its cgroup's full path: no cgroup namespace.
    static Json show_own_cgroup() {
        Json c = shell_config("cat /proc/self/cgroup");
        auto& ns = c["linux"]["namespaces"];
        for (auto it = ns.begin(); it != ns.end();)
            it = (*it)["type"] == "cgroup" ? ns.erase(it) : it + 1;
        return c;
    }
};

std::string read_trim(const std::string& p) { return std::string(trim(read_file_if_exists(p).value_or("?"))); }

// systemd-run --scope needs systemd as the init (the guest; this host has none).
bool systemd_runs() { return ::access("/run/systemd/system", F_OK) == 0; }
} // namespace

TEST_F(Cgroups, PlacedBeneathOurOwnCgroupInEveryHierarchy) {
    std::string id = create_container(shell_config("exec sleep 1000"), {}, true);
    std::string pid = std::to_string(state(id)["pid"].get<int>());
    std::string self = read_file("/proc/self/cgroup");
    std::string theirs = read_file("/proc/" + pid + "/cgroup");
    for (const auto& line : split(self, '\n')) {
        if (line.empty()) continue;
        auto p = split(line, ':');
        std::string own = p[2] == "/" ? "" : p[2];
        if (p[0] == "0" && v2_only()) own = own_v2_cgroup();
        std::string expect = p[0] + ":" + p[1] + ":" + own + "/" + id;
        EXPECT_NE(theirs.find(expect + "\n"), std::string::npos) << expect << " in\n" << theirs;
    }
}

TEST_F(Cgroups, RelativeCgroupsPathIsBeneathOurOwn) {
    Json c = shell_config("exec sleep 1000");
    std::string group = "ctkt-group-" + std::to_string(::getpid());
    c["linux"]["cgroupsPath"] = group + "/inner";
    // ns-run makes the intermediate group in every hierarchy (name=systemd and
    // the cgroup2 one too) and removes only the container's: the rest is ours.
    defer([group] {
        std::error_code ec;
        std::vector<std::string> found;
        for (std::filesystem::recursive_directory_iterator it("/sys/fs/cgroup", ec), end; !ec && it != end;
             it.increment(ec)) {
            if (it.depth() >= 4) it.disable_recursion_pending();
            std::error_code ec2;
            if (it->is_directory(ec2) && it->path().filename() == group) found.push_back(it->path().string());
        }
        for (const auto& d : found) {
            ::rmdir((d + "/inner").c_str());
            ::rmdir(d.c_str());
        }
    });
    std::string id = create_container(c, {}, true);
    std::string dir = cgroup_dir("pids", group) + "/inner";
    EXPECT_EQ(read_trim(dir + "/cgroup.procs"), std::to_string(state(id)["pid"].get<int>()));
    ASSERT_EQ(ns({"delete", "--force", id}).status, 0);
    EXPECT_NE(::access(dir.c_str(), F_OK), 0);
}

TEST_F(Cgroups, LimitsAreWritten) {
    Json c = shell_config("exec sleep 1000");
    c["linux"]["resources"]["memory"] = {{"limit", 64 << 20}, {"reservation", 32 << 20}};
    c["linux"]["resources"]["cpu"] = {{"shares", 512}, {"quota", 20000}, {"period", 100000}, {"cpus", "0"}};
    c["linux"]["resources"]["pids"] = {{"limit", 50}};
    c["linux"]["resources"]["blockIO"] = {{"weight", 500}};
    std::string id = create_container(c, {}, true);
    if (v2_only()) {
        std::string d = cgroup_dir("memory", id);
        EXPECT_EQ(read_trim(d + "/memory.max"), std::to_string(64 << 20));
        EXPECT_EQ(read_trim(d + "/memory.low"), std::to_string(32 << 20));
        EXPECT_EQ(read_trim(d + "/cpu.weight"), std::to_string(linux::cgroup::cpu_shares_to_weight(512)));
        EXPECT_EQ(read_trim(d + "/cpu.max"), "20000 100000");
        EXPECT_EQ(read_trim(d + "/cpuset.cpus"), "0");
        EXPECT_EQ(read_trim(d + "/pids.max"), "50");
        // BFQ's own weight when the disk's scheduler is BFQ, else io.weight (iocost).
        auto bfq = read_file_if_exists(d + "/io.bfq.weight");
        if (bfq) {
            EXPECT_NE(bfq->find("500"), std::string::npos) << *bfq;
        } else {
            EXPECT_EQ(read_trim(d + "/io.weight"),
                      "default " + std::to_string(linux::cgroup::blkio_weight_to_io_weight(500)));
        }
        return;
    }
    EXPECT_EQ(read_trim(cgroup_dir("memory", id) + "/memory.limit_in_bytes"), std::to_string(64 << 20));
    EXPECT_EQ(read_trim(cgroup_dir("memory", id) + "/memory.soft_limit_in_bytes"), std::to_string(32 << 20));
    EXPECT_EQ(read_trim(cgroup_dir("cpu", id) + "/cpu.shares"), "512");
    EXPECT_EQ(read_trim(cgroup_dir("cpu", id) + "/cpu.cfs_quota_us"), "20000");
    EXPECT_EQ(read_trim(cgroup_dir("cpuset", id) + "/cpuset.cpus"), "0");
    EXPECT_EQ(read_trim(cgroup_dir("pids", id) + "/pids.max"), "50");
}

TEST_F(Cgroups, MemoryLimitOomKills) {
    // dd's 64 MiB buffer in a 16 MiB cgroup (no swap either).
    Json c = shell_config("exec busybox dd if=/dev/zero of=/dev/null bs=64M count=1");
    c["linux"]["resources"]["memory"] = {{"limit", 16 << 20}, {"swap", 16 << 20}};
    std::string id = new_id();
    delete_at_end(id);
    std::string b = bundle(c);
    auto r = ns({"run", "--keep", "--bundle", b, id});
    EXPECT_EQ(r.status, 128 + 9) << "the OOM killer's SIGKILL: " << r;
    // v1 memory.oom_control, v2 memory.events: the kernel counted one OOM kill.
    std::string oom = read_file_if_exists(cgroup_dir("memory", id) +
                                          (v2_only() ? "/memory.events" : "/memory.oom_control"))
                          .value_or("");
    EXPECT_NE(oom.find("oom_kill 1"), std::string::npos) << oom;
}

TEST_F(Cgroups, PidsLimitLimits) {
    Json c = shell_config("for i in 1 2 3 4 5 6 7 8; do sleep 10 & done 2>&1; echo forks-done; kill $(jobs -p) 2>/dev/null; true");
    c["linux"]["resources"]["pids"] = {{"limit", 4}};
    auto r = run_container(c);
    EXPECT_NE(r.out.find("Resource temporarily unavailable"), std::string::npos) << r;
    Json free = c;
    free["linux"]["resources"]["pids"] = {{"limit", 50}};
    auto ok = run_container(free);
    EXPECT_EQ(ok.out.find("Resource temporarily unavailable"), std::string::npos) << ok;
}

TEST_F(Cgroups, PauseFreezesAndResumeThaws) {
    Json c = shell_config("i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.01; done");
    c["mounts"].push_back({{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
    std::string id = create_container(c, {}, true);
    std::string count = "/proc/" + std::to_string(state(id)["pid"].get<int>()) + "/root/tmp/count";
    for (int i = 0; i < 500 && read_trim(count) == "?"; i++) ::usleep(10000);
    ASSERT_EQ(ns({"pause", id}).status, 0);
    EXPECT_EQ(state(id)["status"], "paused");
    if (v2_only()) {
        EXPECT_EQ(read_trim(cgroup_dir("freezer", id) + "/cgroup.freeze"), "1");
    } else {
        EXPECT_EQ(read_trim(cgroup_dir("freezer", id) + "/freezer.state"), "FROZEN");
    }
    std::string frozen_at = read_trim(count);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(read_trim(count), frozen_at) << "a frozen loop does not count";
    EXPECT_EQ(ns({"pause", id}).status, 5) << "already paused";
    ASSERT_EQ(ns({"resume", id}).status, 0);
    EXPECT_EQ(state(id)["status"], "running");
    bool moved = false;
    for (int i = 0; i < 500 && !moved; i++) {
        moved = read_trim(count) != frozen_at;
        ::usleep(10000);
    }
    EXPECT_TRUE(moved) << "resumed, it counts again";
    EXPECT_EQ(ns({"resume", id}).status, 5) << "not paused";
}

TEST_F(Cgroups, DeleteForceOfAPausedContainer) {
    std::string id = create_container(shell_config("exec sleep 1000"), {}, true);
    ASSERT_EQ(ns({"pause", id}).status, 0);
    auto del = ns({"delete", "--force", id});
    EXPECT_EQ(del.status, 0) << del;
    EXPECT_NE(::access(cgroup_dir("freezer", id).c_str(), F_OK), 0);
}

// The cgroup v2 device controller: load the eBPF program ns-run makes for
// the default rules and attach it to a cgroup of the hybrid layout's unified
// hierarchy; a process in it may open /dev/null but not /dev/kmsg.
TEST_F(Cgroups, V2DeviceFilterInTheKernel) {
    auto layout = linux::cgroup::Layout::detect();
    const auto* unified = layout.unified();
    if (!unified) GTEST_SKIP() << "no cgroup2 hierarchy on this host";
    std::string dir = unified->dir(unified->own) + "/ctkt-devfilter-" + std::to_string(::getpid());
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    defer([dir] { ::rmdir(dir.c_str()); });
    std::vector<oci::DeviceCgroup> rules;
    oci::DeviceCgroup deny_all;
    deny_all.access = "rwm";
    rules.push_back(deny_all);
    for (const auto& r : linux::cgroup::default_device_rules()) rules.push_back(r);
    UniqueFd prog = linux::cgroup::load_device_filter(linux::cgroup::device_filter_program(rules));
    UniqueFd cg = open_dir(dir);
    linux::cgroup::attach_device_filter(cg.get(), prog.get());
    pid_t child = ::fork();
    if (child == 0) {
        std::string me = std::to_string(::getpid());
        int procs = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY);
        if (procs < 0 || ::write(procs, me.data(), me.size()) < 0) ::_exit(10);
        ::close(procs);
        int null = ::open("/dev/null", O_RDWR);
        int kmsg = ::open("/dev/kmsg", O_RDONLY);
        int kmsg_errno = errno;
        ::_exit((null >= 0 ? 0 : 2) | (kmsg < 0 && kmsg_errno == EPERM ? 0 : 4));
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "10: could not join; 2: /dev/null denied; 4: /dev/kmsg allowed";
}

// cgroup v2's no-internal-process rule under systemd (man/ns-run.8, "Cgroups"):
// in a scope with Delegate=yes, ns-run moves the scope's processes into its
// leaf ctk-callers and nests a limited container beneath the scope; in a
// scope without it, a container that needs controllers is refused with an
// error naming Delegate=yes, and one that needs none runs.
TEST_F(Cgroups, V2DelegatedScopeNestsALimitedContainer) {
    if (!v2_only()) GTEST_SKIP() << "pure cgroup v2 only (v1 has no internal-process rule: LimitsAreWritten)";
    if (!systemd_runs()) GTEST_SKIP() << "systemd is not the init here (scripts/vm-test.sh's guest has it)";
    Json c = show_own_cgroup();
    c["linux"]["resources"]["pids"] = {{"limit", 20}};
    c["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
    std::string id = new_id();
    delete_at_end(id);
    auto r = run_command({"systemd-run", "--scope", "-p", "Delegate=yes", "--quiet", "--", tool_path("ns-run"),
                          "--root", state_root(), "run", "--bundle", bundle(c), id});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find(".scope/" + id + "\n"), std::string::npos) << "beneath the scope: " << r.out;
}

TEST_F(Cgroups, V2NonDelegatedScopeRefusesControllersClearly) {
    if (!v2_only()) GTEST_SKIP() << "pure cgroup v2 only (v1 has no internal-process rule: LimitsAreWritten)";
    if (!systemd_runs()) GTEST_SKIP() << "systemd is not the init here (scripts/vm-test.sh's guest has it)";
    Json c = show_own_cgroup();
    std::string id = new_id();
    delete_at_end(id);
    auto plain = run_command({"systemd-run", "--scope", "--quiet", "--", tool_path("ns-run"), "--root",
                              state_root(), "run", "--bundle", bundle(c), id});
    EXPECT_EQ(plain.status, 0) << "no controller needed, nothing to delegate: " << plain;
    EXPECT_NE(plain.out.find(".scope/" + id + "\n"), std::string::npos) << plain.out;
    c["linux"]["resources"]["pids"] = {{"limit", 20}};
    std::string limited = new_id();
    delete_at_end(limited);
    auto r = run_command({"systemd-run", "--scope", "--quiet", "--", tool_path("ns-run"), "--root", state_root(),
                          "run", "--bundle", bundle(c), limited});
    EXPECT_EQ(r.status, 5) << "conflict: " << r;
    EXPECT_NE(r.err.find("Delegate=yes"), std::string::npos) << r.err;
}
