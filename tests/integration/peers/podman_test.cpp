// podman 4.3 (conmon 2.1) with ns-run as its OCI runtime (`--runtime
// build/tools/ns-run/ns-run`); every flow also runs with `--runtime runc` as
// the control, in the same test, and the two runs' facts are compared
// (issue 15): `run --rm` exit codes (0, 7, 127 for a missing command, 126 for
// a non-executable one), `run -d` + `exec` (output, exit codes) + `stop`
// (Exited (143) when the process handles SIGTERM, Exited (137) when it ignores
// it) + `wait` + `rm`, `inspect`'s ExitCode of exited containers (the issue saw
// Exited (-1)), and that nothing stays behind: no container in `podman ps -a`
// (the issue saw --rm containers left), none in the runtime's state root, no
// cgroup, no conmon or runtime process, no mount.
//
// What podman and conmon run (seen through a wrapper that logs argv; the same
// for runc and ns-run):
//   conmon:  RUNTIME create --bundle <root>/vfs-containers/ID/userdata
//                           --pid-file <runroot>/vfs-containers/ID/userdata/pidfile ID
//   podman:  RUNTIME start ID
//   conmon:  RUNTIME exec --pid-file … --process …/exec-process-N --detach ID
//   podman:  RUNTIME kill ID 15, after the stop timeout RUNTIME kill ID 9
//   podman container cleanup (conmon's exit command), podman rm:  RUNTIME delete --force ID
// As root podman passes no --root and hands the runtime an almost empty
// environment (no CTK_RUN), so the state roots are the runtimes' defaults:
// /run/runc and /run/ctk/runtime. (`--runtime-flag root=DIR` would reach every
// verb but the exit command's `delete`, leaving runc's containers behind.)
// The exit code podman reports comes from conmon's exit file: conmon must be
// able to wait for the container's process itself.
//
// podman runs with everything private: --root, --runroot, --tmpdir under the
// test's directory, vfs storage, cgroupfs (containers go to
// /sys/fs/cgroup/<controller>/libpod_parent/libpod-ID, conmon to
// libpod_parent/conmon), file events and file locks (no /dev/shm/libpod_lock),
// a containers.conf and a registries.conf of the test's own (the loopback
// registry as insecure, no unqualified-search registries), --network none,
// proxies at a closed loopback port, and every call under `timeout -k 5 60`.
// The fixture image is 127.0.0.1:5000/tiny:latest (shared/fixtures).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <list>
#include <optional>
#include <set>
#include <thread>

#include "core/fs.hpp"
#include "core/lock.hpp"
#include "core/strings.hpp"
#include "tool_test.hpp"

namespace ctk::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* const kRunc = "/usr/sbin/runc";
constexpr int kPodmanTimeout = 60; // seconds, `timeout -k 5 60 podman …`
const std::vector<std::string> kUlimits = {"--ulimit", "nofile=1024:1024", "--ulimit",
                                           "nproc=1024:1024"};

struct Runtime {
    std::string name;       // "runc" or "ns-run"
    std::string path;       // podman --runtime
    std::string state_root; // its default --root: podman passes none
};

// One flow's observations, in order: "what: value". The control's are
// checked against the expected list, ns-run's against the control's.
using Facts = std::vector<std::pair<std::string, std::string>>;

std::string render(const Facts& facts) {
    std::string s;
    for (const auto& [k, v] : facts)
        s += k + ": " + v + "\n";
    return s;
}

std::string as_json(const std::string& s) {
    return Json(s).dump();
}

std::string first_line(const std::string& s) {
    return std::string(trim(s.substr(0, s.find('\n'))));
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

// A process identity that survives pid reuse: pid and start time (stat field 22).
struct ProcId {
    int pid = 0;
    std::string start;
};

std::optional<std::vector<std::string>> stat_fields(int pid) {
    auto stat = read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return std::nullopt;
    auto close = stat->rfind(')');
    if (close == std::string::npos) return std::nullopt;
    // Fields from the state (field 3) on.
    return split(std::string(trim(stat->substr(close + 2))), ' ');
}

ProcId proc_id(int pid) {
    auto f = stat_fields(pid);
    return ProcId{pid, f && f->size() > 19 ? (*f)[19] : ""};
}

// Alive, not a zombie, and the same process as when it was recorded.
bool alive(const ProcId& p) {
    if (p.pid <= 0) return false;
    auto f = stat_fields(p.pid);
    return f && f->size() > 19 && (*f)[0] != "Z" && (*f)[19] == p.start;
}

// Pids (not zombies) whose command line contains one of `needles`.
std::vector<int> pids_with_cmdline(const std::vector<std::string>& needles) {
    std::vector<int> pids;
    for (const auto& e : fs::directory_iterator("/proc")) {
        auto pid = parse_uint(e.path().filename().string());
        if (!pid || static_cast<int>(*pid) == ::getpid()) continue;
        auto cmd = read_file_if_exists(e.path().string() + "/cmdline");
        if (!cmd) continue;
        std::replace(cmd->begin(), cmd->end(), '\0', ' ');
        for (const auto& n : needles)
            if (cmd->find(n) != std::string::npos && alive(proc_id(static_cast<int>(*pid)))) {
                pids.push_back(static_cast<int>(*pid));
                break;
            }
    }
    return pids;
}

// "pid state wchan cmdline" of each process whose command line contains one of `needles`.
std::string describe_processes(const std::vector<std::string>& needles) {
    std::string s;
    for (int pid : pids_with_cmdline(needles)) {
        std::string dir = "/proc/" + std::to_string(pid);
        auto f = stat_fields(pid);
        auto cmd = read_file_if_exists(dir + "/cmdline").value_or("");
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        s += "  " + std::to_string(pid) + " " + (f && !f->empty() ? (*f)[0] : "?") + " " +
             std::string(trim(read_file_if_exists(dir + "/wchan").value_or("?"))) + " " +
             cmd.substr(0, 300) + "\n";
    }
    return s;
}

bool cgroup_v2() {
    return exists("/sys/fs/cgroup/cgroup.controllers");
}

// The hierarchies' roots: /sys/fs/cgroup on v2, each mounted one on v1 and hybrid.
std::vector<std::string> cgroup_roots() {
    if (cgroup_v2()) return {"/sys/fs/cgroup"};
    std::vector<std::string> roots;
    for (const auto& e : fs::directory_iterator("/sys/fs/cgroup"))
        if (e.is_directory() && !e.is_symlink()) roots.push_back(e.path().string());
    return roots;
}

// Where podman's cgroupfs manager puts things: <hierarchy>/libpod_parent
// (machine.slice with the systemd manager, looked at too).
const std::vector<std::string> kCgroupParents = {"libpod_parent", "machine.slice"};

// Every cgroup directory (deepest first) under a podman parent whose name contains one of `ids`.
std::vector<std::string> cgroups_named(const std::set<std::string>& ids) {
    std::vector<std::string> found;
    for (const auto& root : cgroup_roots())
        for (const auto& parent : kCgroupParents) {
            std::error_code ec;
            for (const auto& e : fs::directory_iterator(root + "/" + parent, ec)) {
                std::string name = e.path().filename().string();
                if (!e.is_directory() || std::none_of(ids.begin(), ids.end(), [&](const auto& id) {
                        return name.find(id) != std::string::npos;
                    }))
                    continue;
                found.push_back(e.path().string());
                for (auto it = fs::recursive_directory_iterator(e.path(), ec);
                     !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
                    if (it->is_directory()) found.push_back(it->path().string());
            }
        }
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.size() > b.size(); });
    return found;
}

// The cgroups' own names (libpod-<id>), once each, whatever the hierarchy.
std::vector<std::string> cgroup_names(const std::vector<std::string>& dirs) {
    std::set<std::string> names;
    for (const auto& d : dirs)
        names.insert(fs::path(d).filename().string());
    return {names.begin(), names.end()};
}

// Mount points at or below `dir`, from /proc/self/mountinfo.
std::vector<std::string> mounts_below(const std::string& dir) {
    std::vector<std::string> found;
    for (const auto& line : split(read_file("/proc/self/mountinfo"), '\n')) {
        auto f = split(line, ' ');
        if (f.size() > 4 && (f[4] == dir || f[4].rfind(dir + "/", 0) == 0)) found.push_back(f[4]);
    }
    return found;
}

// Polls `probe` until it returns an empty list (or 10 s pass); returns the last answer.
template <typename Probe> auto settle(Probe probe) {
    auto v = probe();
    for (int i = 0; i < 100 && !v.empty(); ++i) {
        std::this_thread::sleep_for(100ms);
        v = probe();
    }
    return v;
}

struct Flow {
    Runtime rt;
    std::string dir; // the podman store: <dir>/root, runroot, tmp
    Facts facts;
    std::string transcript;        // every call, for failure messages
    bool stopped = false;          // a call hung: the rest of the flow is skipped
    int cidfiles = 0;              // <dir>/cid-0 … cid-(N-1): `podman run --cidfile`
    std::vector<ProcId> processes; // conmon and container processes seen running
};

// The ids of the containers the flow made (podman keeps the cidfiles).
std::set<std::string> ids_of(const Flow& f) {
    std::set<std::string> ids;
    for (int i = 0; i < f.cidfiles; ++i)
        if (auto id = read_file_if_exists(f.dir + "/cid-" + std::to_string(i));
            id && !trim(*id).empty())
            ids.emplace(trim(*id));
    return ids;
}

class PodmanPeer : public ToolTest {
protected:
    void SetUp() override {
        ToolTest::SetUp();
        CTK_REQUIRE_ROOT();
        for (const char* p : {"podman", "conmon", "timeout"})
            if (!have_program(p)) GTEST_SKIP() << p << " missing";
        if (::access(kRunc, X_OK) != 0) GTEST_SKIP() << "runc missing";
        ASSERT_EQ(::access(tool_path("ns-run").c_str(), X_OK), 0)
            << tool_path("ns-run") << " not built";
        // One run of this program at a time: podman's cgroup parent is shared.
        lock_ = FileLock("/run/ctk-test-peers-podman.lock");
        runtimes_ = {
            Runtime{"runc", kRunc, "/run/runc"},
            Runtime{"ns-run", fs::absolute(tool_path("ns-run")).string(), "/run/ctk/runtime"}};
        image_ = registry() + "/tiny:latest";
        write_file_atomic(tmp() + "/containers.conf", "[containers]\n"
                                                      "netns = \"none\"\n"
                                                      "[engine]\n"
                                                      "cgroup_manager = \"cgroupfs\"\n"
                                                      "events_logger = \"file\"\n"
                                                      "lock_type = \"file\"\n");
        write_file_atomic(tmp() + "/registries.conf", "unqualified-search-registries = []\n"
                                                      "[[registry]]\n"
                                                      "location = \"" +
                                                          registry() +
                                                          "\"\n"
                                                          "insecure = true\n");
        for (const auto& root : cgroup_roots())
            if (!exists(root + "/libpod_parent"))
                new_cgroup_parents_.push_back(root + "/libpod_parent");

        // Clean-up, run in reverse order: podman's own removal, then whatever
        // it left (runtime state, processes, cgroups), then the cgroup parent
        // if this test made it. ToolTest unmounts and removes the directory.
        defer([this] {
            for (const auto& parent : new_cgroup_parents_) {
                ::rmdir((parent + "/conmon").c_str());
                ::rmdir(parent.c_str());
            }
        });
        defer([this] { remove_leftovers(); });
        defer([this] {
            for (const auto& f : flows_) {
                podman(f, {"rm", "-af", "-t", "0"});
                podman(f, {"rmi", "-af"});
            }
        });
    }

    // Every container id the flows made, and every container of the runtimes'
    // state roots that belongs to this test (its state mentions the test's directory).
    std::set<std::string> all_ids() const {
        std::set<std::string> ids;
        for (const auto& f : flows_)
            ids.merge(ids_of(f));
        for (const auto& rt : runtimes_)
            for (const auto& id : state_entries(rt))
                ids.insert(id);
        return ids;
    }

    std::vector<std::string> state_entries(const Runtime& rt) const {
        std::vector<std::string> ours;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(rt.state_root, ec)) {
            std::string id = e.path().filename().string();
            if (id.empty() || id[0] == '.') continue;
            auto state = read_file_if_exists(e.path().string() + "/state.json");
            if (state && state->find(tmp() + "/") != std::string::npos) ours.push_back(id);
        }
        return ours;
    }

    void remove_leftovers() {
        auto force_delete = [this] {
            for (const auto& rt : runtimes_)
                for (const auto& id : state_entries(rt))
                    run_command({"timeout", "-k", "5", "30", rt.path, "--root", rt.state_root,
                                 "delete", "--force", id});
        };
        force_delete();
        std::set<std::string> ids = all_ids();
        std::vector<std::string> needles(ids.begin(), ids.end());
        needles.push_back(tmp() + "/");
        for (int round = 0; round < 50; ++round) {
            std::vector<int> pids = pids_with_cmdline(needles);
            for (const auto& cg : cgroups_named(ids))
                if (auto procs = read_file_if_exists(cg + "/cgroup.procs"))
                    for (const auto& p : split(*procs, '\n'))
                        if (auto pid = parse_uint(p)) pids.push_back(static_cast<int>(*pid));
            if (pids.empty()) break;
            for (int pid : pids)
                ::kill(pid, SIGKILL);
            std::this_thread::sleep_for(100ms);
        }
        force_delete();
        for (const auto& rt : runtimes_)
            for (const auto& id : state_entries(rt))
                remove_tree(rt.state_root + "/" + id);
        for (const auto& cg : cgroups_named(ids))
            ::rmdir(cg.c_str());
    }

    std::vector<std::string> podman_argv(const Flow& f) const {
        return {"timeout",
                "-k",
                "5",
                std::to_string(kPodmanTimeout),
                "podman",
                "--root",
                f.dir + "/root",
                "--runroot",
                f.dir + "/runroot",
                "--tmpdir",
                f.dir + "/tmp",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
                "--storage-driver",
                "vfs",
                "--runtime",
                f.rt.path};
    }

    ToolResult podman(const Flow& f, const std::vector<std::string>& args) {
        std::vector<std::string> argv = podman_argv(f);
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, "",
                           {"CONTAINERS_CONF=" + tmp() + "/containers.conf",
                            "CONTAINERS_REGISTRIES_CONF=" + tmp() + "/registries.conf",
                            "HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
                            "http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
                            "NO_PROXY=", "no_proxy="});
    }

    // Runs one podman call of the flow; nullopt when the flow is stopped or the call hung.
    std::optional<ToolResult> call(Flow& f, const std::string& what,
                                   const std::vector<std::string>& args) {
        if (f.stopped) return std::nullopt;
        auto t0 = std::chrono::steady_clock::now();
        ToolResult r = podman(f, args);
        auto secs =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0)
                .count();
        f.transcript += "$ podman " + join(args, " ") + "\n" + "exit " + std::to_string(r.status) +
                        " after " + std::to_string(secs) + " s\n" +
                        (r.out.empty() ? "" : "stdout: " + r.out) +
                        (r.err.empty() ? "" : "stderr: " + r.err) + "\n";
        if (secs >= kPodmanTimeout - 1) {
            f.facts.emplace_back(what,
                                 "hung (killed after " + std::to_string(kPodmanTimeout) + " s)");
            std::set<std::string> ids = ids_of(f);
            std::vector<std::string> needles(ids.begin(), ids.end());
            needles.push_back(f.dir + "/");
            f.transcript += "processes left by the hung call (pid state wchan cmdline):\n" +
                            describe_processes(needles);
            f.stopped = true;
            return std::nullopt;
        }
        return r;
    }

    // `podman run` options every container gets, plus a --cidfile whose id is recorded.
    std::vector<std::string> run_args(Flow& f, std::vector<std::string> opts,
                                      const std::vector<std::string>& cmd) {
        std::string cidfile = f.dir + "/cid-" + std::to_string(f.cidfiles++);
        opts.insert(opts.begin(), "run");
        for (const auto& o :
             {std::string("--cidfile"), cidfile, std::string("--network"), std::string("none")})
            opts.push_back(o);
        opts.insert(opts.end(), kUlimits.begin(), kUlimits.end());
        opts.push_back(image_);
        opts.insert(opts.end(), cmd.begin(), cmd.end());
        return opts;
    }

    Flow& new_flow(const Runtime& rt) {
        Flow f;
        f.rt = rt;
        f.dir = tmp() + "/" + rt.name;
        for (const char* d : {"root", "runroot", "tmp"})
            make_dirs(f.dir + "/" + d);
        flows_.push_back(std::move(f));
        Flow& flow = flows_.back();
        if (auto r = call(flow, "pull", {"pull", "-q", "--tls-verify=false", image_})) {
            flow.facts.emplace_back("pull: status", std::to_string(r->status));
            if (r->status != 0) flow.stopped = true;
        }
        return flow;
    }

    // What is left of the flow's containers; each list should be empty.
    void check_nothing_left(Flow& f, const std::string& when) {
        if (f.stopped) return;
        auto ps = call(f, when + ": podman ps -a",
                       {"ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}}"});
        if (!ps) return;
        f.facts.emplace_back(when + ": left in podman ps -a", as_json(ps->out));
        std::set<std::string> ids = ids_of(f);
        f.facts.emplace_back(when + ": left in the runtime's state root",
                             join(settle([&] { return state_entries(f.rt); }), " "));
        f.facts.emplace_back(when + ": cgroups left",
                             join(cgroup_names(settle([&] { return cgroups_named(ids); })), " "));
        std::vector<std::string> needles(ids.begin(), ids.end());
        needles.push_back(f.dir + "/");
        auto pids = settle([&] {
            std::vector<std::string> left;
            for (int pid : pids_with_cmdline(needles))
                left.push_back(std::to_string(pid));
            for (const auto& p : f.processes)
                if (alive(p)) left.push_back(std::to_string(p.pid));
            return left;
        });
        f.facts.emplace_back(when + ": processes left", join(pids, " "));
        f.facts.emplace_back(when + ": mounts left", join(mounts_below(f.dir), " "));
    }

    // podman run --rm: exit codes and output, and nothing left after each.
    Facts run_rm_flow(const Runtime& rt) {
        Flow& f = new_flow(rt);
        struct Case {
            std::string what;
            std::vector<std::string> cmd;
        };
        const std::vector<Case> cases = {
            {"exit 0", {"sh", "-c", "echo hello"}},
            {"exit 7", {"sh", "-c", "echo seven; exit 7"}},
            {"missing command", {"nosuchcmd"}},
            {"not executable", {"/etc/passwd"}},
        };
        for (const auto& c : cases) {
            auto r = call(f, "run --rm " + c.what, run_args(f, {"--rm"}, c.cmd));
            if (!r) break;
            f.facts.emplace_back("run --rm " + c.what + ": status", std::to_string(r->status));
            f.facts.emplace_back("run --rm " + c.what + ": stdout", as_json(r->out));
            // The user is told why: runc fails `create` with "exec: \"nosuchcmd\":
            // executable file not found in $PATH", which podman prints.
            if (r->status > 125)
                f.facts.emplace_back("run --rm " + c.what + ": stderr names " + c.cmd[0],
                                     r->err.find(c.cmd[0]) != std::string::npos ? "yes" : "no");
            check_nothing_left(f, "after run --rm " + c.what);
        }
        transcript_ += "=== " + rt.name + " (state root " + rt.state_root + ")\n" + f.transcript;
        return f.facts;
    }

    // inspect's "Status ExitCode" and ps's "Exited (N)".
    void exit_facts(Flow& f, const std::string& name) {
        if (auto r = call(f, name + ": inspect",
                          {"inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name}))
            f.facts.emplace_back(name + ": inspect State", first_line(r->out));
        if (auto r =
                call(f, name + ": ps",
                     {"ps", "-a", "--filter", "name=^" + name + "$", "--format", "{{.Status}}"})) {
            std::string s = first_line(r->out);
            f.facts.emplace_back(
                name + ": ps Status",
                s.substr(0, s.find(')') == std::string::npos ? s.size() : s.find(')') + 1));
        }
    }

    // Facts about a running container: its state, and that the runtime's
    // state root and podman's cgroup hold it (so that their absence later means something).
    void running_facts(Flow& f, const std::string& name) {
        auto r = call(f, name + ": inspect",
                      {"inspect", "--format",
                       "{{.Id}} {{.State.Status}} {{.State.Pid}} {{.State.ConmonPid}}", name});
        if (!r) return;
        auto fields = split(first_line(r->out), ' ');
        if (fields.size() != 4) {
            f.facts.emplace_back(name + ": inspect", as_json(r->out + r->err));
            return;
        }
        f.facts.emplace_back(name + ": inspect State.Status", fields[1]);
        for (const auto& p : {fields[2], fields[3]})
            if (auto pid = parse_uint(p); pid && *pid > 0)
                f.processes.push_back(proc_id(static_cast<int>(*pid)));
        f.facts.emplace_back(name + ": in the runtime's state root",
                             exists(f.rt.state_root + "/" + fields[0]) ? "yes" : "no");
        f.facts.emplace_back(name + ": has a libpod cgroup",
                             cgroups_named({fields[0]}).empty() ? "no" : "yes");
    }

    // podman run -d, logs, exec, stop, wait, inspect, rm.
    Facts detached_flow(const Runtime& rt) {
        Flow& f = new_flow(rt);
        auto step = [&](const std::string& what, const std::vector<std::string>& args,
                        bool with_stdout) {
            auto r = call(f, what, args);
            if (!r) return;
            f.facts.emplace_back(what + ": status", std::to_string(r->status));
            if (with_stdout) f.facts.emplace_back(what + ": stdout", as_json(r->out));
        };

        // Handles SIGTERM: `stop` ends it with 143.
        step("run -d stopper",
             run_args(f, {"-d", "--name", "stopper"},
                      {"sh", "-c", "trap 'exit 143' TERM; echo ready; sleep 1000 & wait"}),
             false);
        std::string logs;
        for (int i = 0; i < 100 && !f.stopped && logs != "ready\n"; ++i) {
            if (i) std::this_thread::sleep_for(100ms);
            if (auto r = call(f, "logs stopper", {"logs", "stopper"})) logs = r->out;
        }
        if (!f.stopped) f.facts.emplace_back("logs stopper", as_json(logs));
        running_facts(f, "stopper");
        step("exec sh -c 'echo out-42; exit 3'",
             {"exec", "stopper", "sh", "-c", "echo out-$((6*7)); echo err >&2; exit 3"}, true);
        step("exec true", {"exec", "stopper", "true"}, true);
        step("exec missing command", {"exec", "stopper", "nosuchcmd"}, true);
        step("exec not executable", {"exec", "stopper", "/etc/passwd"}, true);
        step("stop -t 10 stopper", {"stop", "-t", "10", "stopper"}, true);
        exit_facts(f, "stopper");

        // PID 1 without a SIGTERM handler ignores it: `stop` kills it after the timeout, 137.
        step("run -d sleeper", run_args(f, {"-d", "--name", "sleeper"}, {"sleep", "1000"}), false);
        running_facts(f, "sleeper");
        step("stop -t 1 sleeper", {"stop", "-t", "1", "sleeper"}, true);
        exit_facts(f, "sleeper");

        // Exits by itself: wait and inspect show its code.
        step("run -d quitter",
             run_args(f, {"-d", "--name", "quitter"}, {"sh", "-c", "sleep 1; exit 5"}), false);
        step("wait quitter", {"wait", "quitter"}, true);
        exit_facts(f, "quitter");

        // A command that cannot be run fails `run -d` itself (runc's `create` finds out).
        if (auto r = call(f, "run -d missing command",
                          run_args(f, {"-d", "--name", "broken"}, {"nosuchcmd"}))) {
            f.facts.emplace_back("run -d missing command: status", std::to_string(r->status));
            f.facts.emplace_back("run -d missing command: stderr names nosuchcmd",
                                 r->err.find("nosuchcmd") != std::string::npos ? "yes" : "no");
        }

        // podman removes them in parallel and prints the names as each is done.
        if (auto r = call(f, "rm", {"rm", "stopper", "sleeper", "quitter", "broken"})) {
            std::vector<std::string> names;
            for (const auto& n : split(r->out, '\n'))
                if (!n.empty()) names.push_back(n);
            std::sort(names.begin(), names.end());
            f.facts.emplace_back("rm: status", std::to_string(r->status));
            f.facts.emplace_back("rm: stdout, sorted", as_json(join(names, " ")));
        }
        check_nothing_left(f, "after rm");
        transcript_ += "=== " + rt.name + " (state root " + rt.state_root + ")\n" + f.transcript;
        return f.facts;
    }

    void compare(const Facts& expected, const Facts& runc, const Facts& ours) {
        EXPECT_EQ(render(runc), render(expected)) << "the control (runc) is not as expected\n"
                                                  << transcript_;
        EXPECT_EQ(render(ours), render(runc)) << "ns-run differs from runc\n" << transcript_;
    }

    static Facts nothing_left(const std::string& when) {
        return {{when + ": left in podman ps -a", as_json("")},
                {when + ": left in the runtime's state root", ""},
                {when + ": cgroups left", ""},
                {when + ": processes left", ""},
                {when + ": mounts left", ""}};
    }

    std::vector<Runtime> runtimes_;
    std::list<Flow> flows_; // stable references
    std::vector<std::string> new_cgroup_parents_;
    std::string image_;
    std::string transcript_;
    FileLock lock_;
};

TEST_F(PodmanPeer, RunRmExitCodesAndNothingLeft) {
    Facts runc = run_rm_flow(runtimes_[0]);
    Facts ours = run_rm_flow(runtimes_[1]);
    Facts expected = {{"pull: status", "0"}};
    auto add = [&](const std::string& what, int status, const std::string& out,
                   const std::string& command = "") {
        expected.emplace_back("run --rm " + what + ": status", std::to_string(status));
        expected.emplace_back("run --rm " + what + ": stdout", as_json(out));
        if (!command.empty())
            expected.emplace_back("run --rm " + what + ": stderr names " + command, "yes");
        auto left = nothing_left("after run --rm " + what);
        expected.insert(expected.end(), left.begin(), left.end());
    };
    add("exit 0", 0, "hello\n");
    add("exit 7", 7, "seven\n");
    add("missing command", 127, "", "nosuchcmd");
    add("not executable", 126, "", "/etc/passwd");
    compare(expected, runc, ours);
}

TEST_F(PodmanPeer, DetachedExecStopWaitRm) {
    Facts runc = detached_flow(runtimes_[0]);
    Facts ours = detached_flow(runtimes_[1]);
    auto running = [](const std::string& name) {
        return Facts{{name + ": inspect State.Status", "running"},
                     {name + ": in the runtime's state root", "yes"},
                     {name + ": has a libpod cgroup", "yes"}};
    };
    auto exited = [](const std::string& name, int code) {
        return Facts{{name + ": inspect State", "exited " + std::to_string(code)},
                     {name + ": ps Status", "Exited (" + std::to_string(code) + ")"}};
    };
    Facts expected = {{"pull: status", "0"},
                      {"run -d stopper: status", "0"},
                      {"logs stopper", as_json("ready\n")}};
    for (const auto& part : {
             running("stopper"),
             Facts{{"exec sh -c 'echo out-42; exit 3': status", "3"},
                   {"exec sh -c 'echo out-42; exit 3': stdout", as_json("out-42\n")},
                   {"exec true: status", "0"},
                   {"exec true: stdout", as_json("")},
                   {"exec missing command: status", "127"},
                   {"exec missing command: stdout", as_json("")},
                   {"exec not executable: status", "126"},
                   {"exec not executable: stdout", as_json("")},
                   {"stop -t 10 stopper: status", "0"},
                   {"stop -t 10 stopper: stdout", as_json("stopper\n")}},
             exited("stopper", 143),
             Facts{{"run -d sleeper: status", "0"}},
             running("sleeper"),
             Facts{{"stop -t 1 sleeper: status", "0"},
                   {"stop -t 1 sleeper: stdout", as_json("sleeper\n")}},
             exited("sleeper", 137),
             Facts{{"run -d quitter: status", "0"},
                   {"wait quitter: status", "0"},
                   {"wait quitter: stdout", as_json("5\n")}},
             exited("quitter", 5),
             Facts{{"run -d missing command: status", "127"},
                   {"run -d missing command: stderr names nosuchcmd", "yes"},
                   {"rm: status", "0"},
                   {"rm: stdout, sorted", as_json("broken quitter sleeper stopper")}},
             nothing_left("after rm"),
         })
        expected.insert(expected.end(), part.begin(), part.end());
    compare(expected, runc, ours);
}

} // namespace
} // namespace ctk::test
