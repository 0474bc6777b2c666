// What a caller that supervises the container itself relies on (containerd's
// shim, conmon): without --monitor the first process is adopted by the
// caller's subreaper, which reaps its exit status; runc's words in errors;
// update, events --stats, --no-new-keyring and --no-pivot as runc 1.1 has them.
#include <unistd.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/cgroup.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Shim : public NsRunTest {
protected:
    // Runs `verb` (create + start, or run -d) as a child subreaper would, in a
    // python3 process that is one (PR_SET_CHILD_SUBREAPER), then signals the
    // container (or lets it exit) and reaps it. Prints what it saw as JSON.
    Json supervise(const std::string& verb, const std::string& bundle, const std::string& id,
                   const std::string& signal) {
        static const char* script = R"PY(
import ctypes, json, os, signal, subprocess, sys, time
signal.alarm(30)  # a hang fails the test
ns, root, verb, bundle, cid, sig = sys.argv[1:7]
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
pidfile = bundle + "/init.pid"
# stdio on a file, not a pipe: the container's process inherits it (as runc's does)
class Result:
    pass
def ns_run(*args):
    with open(bundle + "/stderr", "w+") as err:
        r = subprocess.run([ns, "--root", root] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=err, timeout=30)
        err.seek(0)
        out = Result()
        out.returncode, out.stderr = r.returncode, err.read().encode()
        return out
first = ["create"] if verb == "create" else ["run", "--detach"]
r = ns_run(*(first + ["--bundle", bundle, "--pid-file", pidfile, cid]))
if r.returncode != 0:
    print(json.dumps({"error": r.stderr.decode()})); sys.exit(0)
pid = int(open(pidfile).read())
ppid = int([l for l in open("/proc/%d/status" % pid) if l.startswith("PPid:")][0].split()[1])
if verb == "create":
    r = ns_run("start", cid)
    if r.returncode != 0:
        print(json.dumps({"error": r.stderr.decode()})); sys.exit(0)
if sig:
    time.sleep(0.2)
    ns_run("kill", cid, sig)
_, status = os.waitpid(pid, 0)
state = json.loads(subprocess.run([ns, "--root", root, "state", cid], capture_output=True, timeout=30).stdout)
kill = ns_run("kill", cid, "KILL")
print(json.dumps({"adopted": ppid == os.getpid(), "exit": os.waitstatus_to_exitcode(status),
                  "state": state, "kill_rc": kill.returncode, "kill_err": kill.stderr.decode()}))
)PY";
        auto r = run_command({"/usr/bin/python3", "-c", script, tool_path("ns-run"), state_root(), verb, bundle, id,
                              signal});
        EXPECT_EQ(r.status, 0) << r;
        return r.status == 0 ? r.json() : Json::object();
    }
};
} // namespace

TEST_F(Shim, CreateStartLeavesTheProcessToTheCallersSubreaper) {
    std::string id = new_id();
    delete_at_end(id);
    Json got = supervise("create", bundle(shell_config("exit 7")), id, "");
    ASSERT_FALSE(got.contains("error")) << got;
    EXPECT_TRUE(got["adopted"].get<bool>()) << "the subreaper is the process's parent: " << got;
    EXPECT_EQ(got["exit"], 7) << "the subreaper reaped the exit status";
    EXPECT_EQ(got["state"]["status"], "stopped") << got;
    EXPECT_FALSE(got["state"].contains("exitCode")) << "no monitor recorded it: " << got;
    EXPECT_NE(got["kill_rc"], 0);
    EXPECT_NE(got["kill_err"].get<std::string>().find("container not running"), std::string::npos) << got;
    auto del = ns({"delete", id});
    EXPECT_EQ(del.status, 0) << del;
}

TEST_F(Shim, RunDetachedLeavesTheProcessToTheCallersSubreaper) {
    std::string id = new_id();
    delete_at_end(id);
    Json got = supervise("run", bundle(shell_config("exec sleep 1000")), id, "KILL");
    ASSERT_FALSE(got.contains("error")) << got;
    EXPECT_TRUE(got["adopted"].get<bool>()) << got;
    EXPECT_EQ(got["exit"], -9) << "killed by SIGKILL, seen by the subreaper: " << got;
    EXPECT_EQ(got["state"]["status"], "stopped") << got;
}

TEST_F(Shim, ErrorsUseTheWordsShimsMatch) {
    auto state = ns({"state", "nosuch"});
    EXPECT_EQ(state.status, 4);
    EXPECT_NE(state.err.find("does not exist"), std::string::npos) << state;
    auto del = ns({"delete", "nosuch"});
    EXPECT_NE(del.status, 0);
    EXPECT_NE(del.err.find("does not exist"), std::string::npos) << del;
    auto kill = ns({"kill", "nosuch", "KILL"});
    EXPECT_NE(kill.err.find("does not exist"), std::string::npos) << kill;
    // --stdio-log needs somebody to write it: only with --monitor
    auto log = ns({"create", "--bundle", bundle(base_config()), "--stdio-log", tmp() + "/x.log", new_id()});
    EXPECT_EQ(log.status, 2) << log;
    EXPECT_NE(log.err.find("--monitor"), std::string::npos) << log;
    // runc: delete --force of a container that is gone succeeds
    EXPECT_EQ(ns({"delete", "--force", "nosuch"}).status, 0);
}

TEST_F(Shim, CreateFailsForAMissingOrNonExecutableProgram) {
    // runc looks the program up before "created": the callers print why
    Json c = base_config();
    c["process"]["args"] = {"nosuchprogram"};
    std::string id = new_id();
    auto r = ns({"--log", tmp() + "/log.json", "--log-format", "json", "create", "--bundle", bundle(c), id});
    EXPECT_NE(r.status, 0) << r;
    EXPECT_NE(r.err.find("executable file not found"), std::string::npos) << r;
    EXPECT_NE(read_file(tmp() + "/log.json").find("executable file not found"), std::string::npos)
        << "the shim reads the reason from --log";
    EXPECT_EQ(ns({"state", id}).status, 4) << "nothing is left of it";
    c["process"]["args"] = {"/etc/passwd"};
    r = ns({"create", "--bundle", bundle(c), new_id()});
    EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r;
    c["process"]["args"] = {"/no/such"};
    EXPECT_EQ(run_container(c).status, 127) << "foreground run: a shell's status";
}

TEST_F(Shim, UpdateChangesTheLimitsOfARunningContainer) {
    std::string id = create_container(shell_config("exec sleep 1000"), {}, true);
    auto r = ns({"update", "--memory", "64m", "--memory-swap", "64m", "--pids-limit", "50", id});
    ASSERT_EQ(r.status, 0) << r;
    // v1: memory.limit_in_bytes, cpu.shares; pure v2: memory.max (memory.swap.max
    // the swap beyond the limit), cpu.weight (runc's conversion of the shares).
    bool v2 = v2_only();
    std::string mem = cgroup_dir("memory", id);
    ASSERT_FALSE(mem.empty());
    auto file = [](const std::string& p) { return std::string(trim(read_file(p))); };
    EXPECT_EQ(file(mem + (v2 ? "/memory.max" : "/memory.limit_in_bytes")), "67108864");
    if (v2) {
        EXPECT_EQ(file(mem + "/memory.swap.max"), "0");
    }
    EXPECT_EQ(file(cgroup_dir("pids", id) + "/pids.max"), "50");
    // the JSON form containerd sends on stdin (devices are left alone, as runc does)
    Json res = {{"memory", {{"limit", 128 * 1024 * 1024}, {"swap", 128 * 1024 * 1024}}},
                {"cpu", {{"shares", 512}}},
                {"devices", {{{"allow", false}, {"access", "rwm"}}}}};
    r = ns({"update", "-r", "-", id}, dump_compact(res));
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(file(mem + (v2 ? "/memory.max" : "/memory.limit_in_bytes")), "134217728")
        << "raised above the old memsw limit";
    if (v2) {
        EXPECT_EQ(file(cgroup_dir("cpu", id) + "/cpu.weight"), std::to_string(linux::cgroup::cpu_shares_to_weight(512)));
    } else {
        EXPECT_EQ(file(cgroup_dir("cpu", id) + "/cpu.shares"), "512");
    }
    EXPECT_EQ(file(cgroup_dir("pids", id) + "/pids.max"), "50") << "kept from the first update";
    // the container still has /dev/null (the device rules were not replaced)
    auto e = ns({"exec", id, "sh", "-c", "echo x > /dev/null && echo ok"});
    EXPECT_EQ(e.out, "ok\n") << e;
    EXPECT_EQ(ns({"update", "--memory", "lots", id}).status, 2);
    EXPECT_EQ(ns({"update", "--memory", "1m", "nosuch"}).status, 4);
}

TEST_F(Shim, EventsStatsReportsTheCgroupFigures) {
    Json c = shell_config("exec sleep 1000");
    c["linux"]["resources"]["memory"] = {{"limit", 100 * 1024 * 1024}};
    std::string id = create_container(c, {}, true);
    auto r = ns({"events", "--stats", id});
    ASSERT_EQ(r.status, 0) << r;
    Json ev = r.json();
    EXPECT_EQ(ev["type"], "stats");
    EXPECT_EQ(ev["id"], id);
    EXPECT_EQ(ev["data"]["memory"]["usage"]["limit"], 100 * 1024 * 1024) << ev;
    EXPECT_GT(ev["data"]["memory"]["usage"]["usage"].get<uint64_t>(), 0u) << ev;
    EXPECT_GE(ev["data"]["pids"]["current"].get<uint64_t>(), 1u) << ev;
    EXPECT_TRUE(ev["data"]["cpu"]["usage"].contains("total")) << ev;
}

TEST_F(Shim, EventsReportsAnOomKill) {
    Json c = shell_config("sleep 0.5; x=a; while :; do x=$x$x; done");
    c["linux"]["resources"]["memory"] = {{"limit", 16 * 1024 * 1024}, {"swap", 16 * 1024 * 1024}};
    std::string id = create_container(c, {"--monitor"}, true);
    auto r = ns({"events", "--interval", "10s", id});
    ASSERT_EQ(r.status, 0) << r;
    bool oom = false;
    for (const auto& line : r.json_lines()) oom |= line["type"] == "oom";
    EXPECT_TRUE(oom) << r.out;
    EXPECT_EQ(wait_stopped(id)["exitCode"], 137);
}

TEST_F(Shim, SessionKeyringOfItsOwnUnlessNoNewKeyring) {
    auto has_ring = [&](const std::string& id) {
        return read_file("/proc/keys").find("_ses." + id) != std::string::npos;
    };
    std::string id = create_container(shell_config("exec sleep 1000"), {}, true);
    EXPECT_TRUE(has_ring(id)) << "runc's default: a session keyring _ses.ID";
    std::string other = create_container(shell_config("exec sleep 1000"), {"--no-new-keyring"}, true);
    EXPECT_FALSE(has_ring(other));
}

TEST_F(Shim, NoPivotRunsInTheRootfs) {
    auto r = run_container(shell_config("test -x /bin/busybox && cat /proc/self/mountinfo | wc -l"), {"--no-pivot"});
    ASSERT_EQ(r.status, 0) << r;
    int mounts = std::stoi(r.out);
    auto pivoted = run_container(shell_config("cat /proc/self/mountinfo | wc -l"));
    EXPECT_LE(mounts, std::stoi(pivoted.out) + 1) << "the host's other mounts were detached: " << r.out;
}
