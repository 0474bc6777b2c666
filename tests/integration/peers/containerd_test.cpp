// containerd 1.6 (Debian's package) drives ns-run through `ctr`: every flow runs
// twice in one test, once with runc (containerd's default runtime, the control)
// and once with ns-run (`ctr run --runc-binary`, which the runc shim keeps as the
// container's BinaryName for every later call), and the two results are compared.
//
// The program starts its own containerd (config version 2, root, state and
// sockets in a temporary directory, CRI off) and stops it by pid at the end.
// Each runtime gets a ctr namespace of its own (ctk-test-<pid>-<runtime>), so
// that the shim's runtime root /run/containerd/runc/<namespace> and the cgroups
// /sys/fs/cgroup/<controller>/<namespace>/<id> left behind, if any, are
// attributed to the runtime that made them. Every ctr call runs under
// `timeout -k 5 60`: a hung `ctr run` forwards SIGTERM to its task and waits on.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "linux/mount.hpp"
#include "tool_test.hpp"

namespace ctk::test {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

constexpr int ctr_timeout_s = 60;
const std::string cgroup_root = "/sys/fs/cgroup";

// One of the two runtimes a flow runs with.
struct Runtime {
    std::string name;                   // "runc" or "ns-run": also the container ID suffix
    std::string binary;                 // what the shim runs
    std::vector<std::string> run_flags; // added to `ctr run`
    std::string ns;                     // its ctr namespace

    std::string runtime_root() const { return "/run/containerd/runc/" + ns; }
};

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::string join_quoted(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) s += (s.empty() ? "" : " ") + shell_quote(a);
    return s;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) lines.push_back(line);
    return lines;
}

std::vector<std::string> words_of(const std::string& line) {
    std::vector<std::string> words;
    std::istringstream in(line);
    std::string w;
    while (in >> w) words.push_back(w);
    return words;
}

bool contains_line(const std::string& text, const std::string& line) {
    for (const auto& l : lines_of(text))
        if (l == line) return true;
    return false;
}

std::vector<std::string> dir_entries(const std::string& path) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(path, ec)) names.push_back(e.path().filename());
    return names;
}

// The cgroup hierarchies to look in: every v1 controller mount, the unified one
// and /sys/fs/cgroup itself (a pure cgroup v2 host).
std::vector<std::string> cgroup_hierarchies() {
    std::vector<std::string> roots = {cgroup_root};
    for (const auto& m : linux::read_mountinfo())
        if ((m.fstype == "cgroup" || m.fstype == "cgroup2") && m.mount_point != cgroup_root)
            roots.push_back(m.mount_point);
    return roots;
}

std::vector<std::string> process_args(pid_t pid) {
    auto raw = read_file_if_exists("/proc/" + std::to_string(pid) + "/cmdline");
    std::vector<std::string> args;
    if (!raw) return args;
    std::string cur;
    for (char c : *raw) {
        if (c == '\0') {
            args.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) args.push_back(cur);
    return args;
}

// What one flow saw with one runtime. `failure` names the first step that
// went wrong (the flow stops there and cleans up).
struct RunRmSeen {
    std::string failure;
    int status = -1;
    std::string out, err;
};

struct DetachedSeen {
    std::string failure;
    int exec_status = -1;
    std::string exec_out;
    size_t ps_count = 0;
    bool ps_lists_init = false;   // the init's pid, INFO "-"
    bool ps_lists_exec = false;   // a row whose INFO names the exec id "bg"
    std::string paused, resumed;  // STATUS in `ctr task ls`
    std::string after_term;       // STATUS 1 s after SIGTERM (sleep as pid 1 has no handler)
    std::string after_kill;       // STATUS after SIGKILL
    int exit_code = -1;           // the task's exit status, from `ctr task delete`
};

struct TtySeen {
    std::string failure;
    int run_status = -1;
    std::string run_tty;  // the /dev/pts/N `tty` printed, or the whole output when none
    int exec_status = -1;
    std::string exec_tty;
};

struct MetricsSeen {
    std::string failure;
    std::map<std::string, std::string> table;  // METRIC -> VALUE of `ctr task metrics`
    std::set<std::string> json_keys;           // top-level keys of `--format json`
    long long json_memory_usage = -1;
    long long json_memory_limit = -1;
    long long json_pids_current = -1;
};

class ContainerdPeer : public ToolTest {
protected:
    static void SetUpTestSuite();
    static void TearDownTestSuite();

    void SetUp() override {
        ToolTest::SetUp();
        if (!skip_.empty()) GTEST_SKIP() << skip_;
        if (!setup_error_.empty()) FAIL() << setup_error_;
    }

    static const std::vector<Runtime>& runtimes() { return runtimes_; }
    static const Runtime& control() { return runtimes_[0]; }
    static const Runtime& ns_run() { return runtimes_[1]; }
    static std::string image() { return registry() + "/tiny:latest"; }
    static std::string containerd_log() { return read_file_if_exists(dir_ + "/containerd.log").value_or(""); }

    // `timeout -k 5 N ctr -a SOCKET -n NS args...`
    static std::vector<std::string> ctr_argv(const std::string& ns, const std::vector<std::string>& args,
                                             int timeout_s = ctr_timeout_s, bool foreground = false) {
        std::vector<std::string> argv = {"timeout"};
        if (foreground) argv.push_back("--foreground");
        argv.insert(argv.end(), {"-k", "5", std::to_string(timeout_s), "ctr", "-a", socket_, "-n", ns});
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }

    static ToolResult ctr(const std::string& ns, const std::vector<std::string>& args, int timeout_s = ctr_timeout_s) {
        RunOptions o;
        o.timeout_ms = (timeout_s + 15) * 1000;
        ProcessResult p = run_process(ctr_argv(ns, args, timeout_s), o);
        return ToolResult{p.status, std::move(p.out), std::move(p.err)};
    }

    // A ctr command under a pseudo-terminal: script(1) gives it one, -e passes its status on.
    static ToolResult ctr_in_pty(const std::string& ns, const std::vector<std::string>& args) {
        RunOptions o;
        o.timeout_ms = (ctr_timeout_s + 30) * 1000;
        std::string cmd = join_quoted(ctr_argv(ns, args, ctr_timeout_s, true));
        ProcessResult p = run_process({"timeout", "-k", "5", std::to_string(ctr_timeout_s + 10), "script", "-qec",
                                       cmd, "/dev/null"},
                                      o);
        return ToolResult{p.status, std::move(p.out), std::move(p.err)};
    }

    // `ctr run` for the runtime: its flags, the image, the ID, the command.
    static std::vector<std::string> run_args(const Runtime& rt, std::vector<std::string> opts, const std::string& id,
                                             const std::vector<std::string>& cmd) {
        std::vector<std::string> args = {"run"};
        args.insert(args.end(), opts.begin(), opts.end());
        args.insert(args.end(), rt.run_flags.begin(), rt.run_flags.end());
        args.push_back(image());
        args.push_back(id);
        args.insert(args.end(), cmd.begin(), cmd.end());
        return args;
    }

    // The task's row of `ctr task ls`: PID and STATUS.
    static std::optional<std::pair<std::string, std::string>> task_row(const Runtime& rt, const std::string& id) {
        ToolResult r = ctr(rt.ns, {"task", "ls"});
        if (r.status != 0) return std::nullopt;
        for (const auto& line : lines_of(r.out)) {
            auto w = words_of(line);
            if (w.size() >= 3 && w[0] == id) return std::make_pair(w[1], w[2]);
        }
        return std::nullopt;
    }

    static std::string task_status(const Runtime& rt, const std::string& id) {
        auto row = task_row(rt, id);
        return row ? row->second : "(no task)";
    }

    static std::string wait_for_status(const Runtime& rt, const std::string& id, const std::string& want,
                                       std::chrono::milliseconds limit = 10s) {
        auto end = std::chrono::steady_clock::now() + limit;
        std::string s;
        do {
            s = task_status(rt, id);
            if (s == want) return s;
            std::this_thread::sleep_for(100ms);
        } while (std::chrono::steady_clock::now() < end);
        return s;
    }

    // Best effort, for a flow that stopped half-way: the task killed and
    // deleted, the container removed (short timeouts: the runtime may hang).
    static void remove_container(const Runtime& rt, const std::string& id) {
        ctr(rt.ns, {"task", "kill", "-a", "-s", "SIGKILL", id}, 20);
        wait_for_status(rt, id, "STOPPED", 3s);
        ctr(rt.ns, {"task", "delete", "-f", id}, 20);
        ctr(rt.ns, {"container", "rm", id}, 20);
    }

    // Nothing of the container is left: no task, no container record, no
    // runtime state, no bundle, no cgroup, no mount.
    static std::vector<std::string> leftovers_of(const Runtime& rt, const std::string& id) {
        std::vector<std::string> left;
        ToolResult tasks = ctr(rt.ns, {"task", "ls", "-q"});
        if (tasks.status != 0) left.push_back("ctr task ls failed: " + tasks.err);
        if (contains_line(tasks.out, id)) left.push_back("task " + id + " still listed");
        ToolResult cs = ctr(rt.ns, {"container", "ls", "-q"});
        if (cs.status != 0) left.push_back("ctr container ls failed: " + cs.err);
        if (contains_line(cs.out, id)) left.push_back("container " + id + " still listed");
        std::error_code ec;
        for (const auto& path : {rt.runtime_root() + "/" + id, bundle_of(rt, id)})
            if (stdfs::exists(path, ec)) left.push_back(path + " exists");
        for (const auto& h : cgroup_hierarchies()) {
            std::string cg = h + "/" + rt.ns + "/" + id;
            if (stdfs::exists(cg, ec)) left.push_back("cgroup " + cg + " exists");
        }
        for (const auto& m : linux::read_mountinfo())
            if (m.mount_point.rfind(bundle_of(rt, id), 0) == 0) left.push_back("mount on " + m.mount_point);
        return left;
    }

    static std::string bundle_of(const Runtime& rt, const std::string& id) {
        return dir_ + "/state/io.containerd.runtime.v2.task/" + rt.ns + "/" + id;
    }

    // The container is gone soon after the flow's last step (the shim's
    // clean-up is synchronous; the wait only absorbs a slow machine).
    static void expect_gone(const Runtime& rt, const std::string& id) {
        std::vector<std::string> left;
        for (int i = 0; i < 50; i++) {
            left = leftovers_of(rt, id);
            if (left.empty()) return;
            std::this_thread::sleep_for(100ms);
        }
        std::string all;
        for (const auto& l : left) all += "\n  " + l;
        ADD_FAILURE() << rt.name << ": container " << id << " left behind:" << all;
    }

    static RunRmSeen run_rm_flow(const Runtime& rt);
    static DetachedSeen detached_flow(const Runtime& rt);
    static TtySeen tty_flow(const Runtime& rt);
    static MetricsSeen metrics_flow(const Runtime& rt);

    static inline std::string dir_;     // containerd's config, root, state, sockets and log
    static inline std::string socket_;

private:
    static void start_containerd();
    static void stop_containerd();
    static void kill_strays(const Runtime& rt);
    static void clean_runtime(const Runtime& rt);

    static inline std::string skip_;
    static inline std::string setup_error_;
    static inline pid_t pid_ = -1;
    static inline std::vector<Runtime> runtimes_;
};

void ContainerdPeer::SetUpTestSuite() {
    if (::geteuid() != 0) {
        skip_ = "needs root";
        return;
    }
    for (const char* p : {"containerd", "ctr", "containerd-shim-runc-v2", "runc", "script", "timeout"})
        if (!have_program(p)) {
            skip_ = std::string(p) + " missing (Debian packages containerd, runc, util-linux, coreutils)";
            return;
        }
    std::error_code ec;
    std::string ns_run_path = stdfs::absolute(tool_path("ns-run"), ec).lexically_normal();
    if (::access(ns_run_path.c_str(), X_OK) != 0) {
        setup_error_ = "ns-run is not built: " + ns_run_path;
        return;
    }
    std::string base = "ctk-test-" + std::to_string(::getpid());
    runtimes_ = {Runtime{"runc", "runc", {}, base + "-runc"},
                 Runtime{"ns-run", ns_run_path, {"--runc-binary", ns_run_path}, base + "-ns-run"}};
    dir_ = TempDir("ctk-containerd", test_tmp_parent()).release();
    socket_ = dir_ + "/containerd.sock";
    start_containerd();
    if (!setup_error_.empty()) return;
    for (const auto& rt : runtimes_) {
        ToolResult pull = ctr(rt.ns, {"images", "pull", "--plain-http", image()});
        if (pull.status != 0) {
            setup_error_ = "ctr images pull --plain-http " + image() +
                           " failed (the fixture registry: scripts/test.sh starts it)\n" + pull.err;
            return;
        }
    }
}

void ContainerdPeer::start_containerd() {
    std::string config = dir_ + "/config.toml";
    // Only what ctr's flows need: CRI, the other snapshotters and tracing off.
    write_file_atomic(config, "version = 2\n"
                              "root = \"" + dir_ + "/root\"\n"
                              "state = \"" + dir_ + "/state\"\n"
                              "disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.snapshotter.v1.btrfs\",\n"
                              "  \"io.containerd.snapshotter.v1.zfs\", \"io.containerd.snapshotter.v1.devmapper\",\n"
                              "  \"io.containerd.snapshotter.v1.aufs\", \"io.containerd.tracing.processor.v1.otlp\",\n"
                              "  \"io.containerd.internal.v1.tracing\"]\n"
                              "[grpc]\n"
                              "  address = \"" + socket_ + "\"\n"
                              "[ttrpc]\n"
                              "  address = \"" + socket_ + ".ttrpc\"\n"
                              "[debug]\n"
                              "  level = \"debug\"\n");
    std::string log = dir_ + "/containerd.log";
    pid_t pid = ::fork();
    if (pid < 0) {
        setup_error_ = std::string("fork: ") + std::strerror(errno);
        return;
    }
    if (pid == 0) {
        int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || null < 0) ::_exit(127);
        ::dup2(null, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        // Nothing of the test runner's reaches containerd, its shims or the runtimes.
        ::syscall(SYS_close_range, 3U, ~0U, 0U);
        ::setsid();
        // The shim runs `runc` (the control) from containerd's PATH.
        const char* path = std::getenv("PATH");
        std::string full = std::string(path ? path : "") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        ::setenv("PATH", full.c_str(), 1);
        ::execlp("containerd", "containerd", "--config", config.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    pid_ = pid;
    for (int i = 0; i < 400; i++) {
        UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, socket_.c_str(), sizeof a.sun_path - 1);
        if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return;
        int ws;
        if (::waitpid(pid_, &ws, WNOHANG) == pid_) {
            pid_ = -1;
            setup_error_ = "containerd exited at start:\n" + containerd_log();
            return;
        }
        std::this_thread::sleep_for(25ms);
    }
    setup_error_ = "containerd did not answer on " + socket_ + "\n" + containerd_log();
}

void ContainerdPeer::stop_containerd() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 400; i++) {
        int ws;
        if (::waitpid(pid_, &ws, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(25ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

// Processes this program caused and nobody ended (a flow that hung): shims of
// its namespaces, runtime processes working in its runtime roots. Found by
// those unique names, ended by pid.
void ContainerdPeer::kill_strays(const Runtime& rt) {
    for (const auto& name : dir_entries("/proc")) {
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        pid_t pid = std::stoi(name);
        auto args = process_args(pid);
        bool ours = false;
        for (size_t i = 0; i < args.size(); i++) {
            if (args[i] == "-namespace" && i + 1 < args.size() && args[i + 1] == rt.ns) ours = true;
            if (args[i] == rt.runtime_root() || args[i].rfind(rt.runtime_root() + "/", 0) == 0) ours = true;
        }
        if (ours) ::kill(pid, SIGKILL);
    }
    // The containers' own processes, which outlive a killed shim: found by their cgroups.
    for (const auto& h : cgroup_hierarchies()) {
        std::string nsdir = h + "/" + rt.ns;
        for (const auto& id : dir_entries(nsdir)) {
            std::string cg = nsdir + "/" + id;
            std::error_code ec;
            if (!stdfs::is_directory(cg, ec)) continue;
            // A frozen process takes SIGKILL only when thawed (cgroup v1 freezer).
            int fd = ::open((cg + "/freezer.state").c_str(), O_WRONLY | O_CLOEXEC);
            if (fd >= 0) {
                ssize_t n = ::write(fd, "THAWED", 6);
                (void)n;
                ::close(fd);
            }
            for (const auto& line : lines_of(read_file_if_exists(cg + "/cgroup.procs").value_or("")))
                ::kill(std::stoi(line), SIGKILL);
        }
    }
}

void ContainerdPeer::clean_runtime(const Runtime& rt) {
    for (const auto& id : dir_entries(rt.runtime_root())) {
        RunOptions o;
        o.timeout_ms = 20000;
        struct stat st;
        if (::stat((rt.runtime_root() + "/" + id).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        run_process({rt.binary, "--root", rt.runtime_root(), "delete", "--force", id}, o);
    }
    std::error_code ec;
    stdfs::remove_all(rt.runtime_root(), ec);
    for (const auto& h : cgroup_hierarchies()) {
        std::string nsdir = h + "/" + rt.ns;
        for (const auto& e : dir_entries(nsdir))
            if (stdfs::is_directory(nsdir + "/" + e, ec)) ::rmdir((nsdir + "/" + e).c_str());
        ::rmdir(nsdir.c_str());
    }
}

void ContainerdPeer::TearDownTestSuite() {
    if (dir_.empty()) return;
    if (pid_ > 0) {
        for (const auto& rt : runtimes_) {
            ToolResult tasks = ctr(rt.ns, {"task", "ls", "-q"}, 20);
            for (const auto& id : lines_of(tasks.out)) remove_container(rt, id);
            ToolResult cs = ctr(rt.ns, {"container", "ls", "-q"}, 20);
            for (const auto& id : lines_of(cs.out)) ctr(rt.ns, {"container", "rm", id}, 20);
        }
    }
    stop_containerd();
    // What containerd and the shims reported failing, for a failed run (the log goes with the directory).
    if (::testing::UnitTest::GetInstance()->failed_test_count() > 0) {
        std::string lines;
        for (const auto& l : lines_of(containerd_log()))
            if (l.find("level=error") != std::string::npos || l.find("failed") != std::string::npos)
                lines += l + "\n";
        if (lines.size() > 20000) lines = "...\n" + lines.substr(lines.size() - 20000);
        std::cerr << "--- containerd's log, the failures\n" << lines;
    }
    try {
        for (const auto& rt : runtimes_) kill_strays(rt);
        std::this_thread::sleep_for(200ms);
        for (const auto& rt : runtimes_) clean_runtime(rt);
        linux::unmount_below(dir_);
        remove_tree(dir_);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "clean-up after containerd: " << e.what();
    }
    dir_.clear();
}

// --- the flows -------------------------------------------------------------

// In a flow (where `rt` and `id` name the runtime and the container): when a
// step fails, the flow records it, removes the container and returns.
#define STEP_OR_STOP(seen, cond, what)                                                                                 \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            (seen).failure = (what);                                                                                   \
            remove_container(rt, id);                                                                                  \
            return (seen);                                                                                             \
        }                                                                                                              \
    } while (0)

std::string describe(const std::string& what, const ToolResult& r) {
    std::ostringstream s;
    s << what << ": " << r;
    return s.str();
}

RunRmSeen ContainerdPeer::run_rm_flow(const Runtime& rt) {
    RunRmSeen seen;
    std::string id = "rm-" + rt.name;
    ToolResult r = ctr(rt.ns, run_args(rt, {"--rm"}, id, {"sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"}));
    seen.status = r.status;
    seen.out = r.out;
    seen.err = r.err;
    if (r.status == 124 || r.status == 137) {
        seen.failure = describe("ctr run --rm timed out", r);
        remove_container(rt, id);
    }
    return seen;
}

DetachedSeen ContainerdPeer::detached_flow(const Runtime& rt) {
    DetachedSeen seen;
    std::string id = "detached-" + rt.name;
    ToolResult r = ctr(rt.ns, run_args(rt, {"-d"}, id, {"sleep", "1000"}));
    STEP_OR_STOP(seen, r.status == 0, describe("ctr run -d", r));
    auto row = task_row(rt, id);
    STEP_OR_STOP(seen, row && row->second == "RUNNING", "ctr task ls after run -d: " + task_status(rt, id));
    std::string init_pid = row->first;

    // An exec'd process: its output, its status and the container's pid 1 as it sees it.
    r = ctr(rt.ns, {"task", "exec", "--exec-id", "e1", id, "sh", "-c",
                    "echo exec-out; tr '\\0' ' ' </proc/1/cmdline; echo; exit 5"});
    seen.exec_status = r.status;
    seen.exec_out = r.out;
    STEP_OR_STOP(seen, r.status != 124 && r.status != 137, describe("ctr task exec timed out", r));

    r = ctr(rt.ns, {"task", "exec", "-d", "--exec-id", "bg", id, "sleep", "1000"});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task exec -d", r));
    r = ctr(rt.ns, {"task", "ps", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task ps", r));
    auto ps = lines_of(r.out);
    for (size_t i = 1; i < ps.size(); i++) {
        auto w = words_of(ps[i]);
        if (w.empty()) continue;
        seen.ps_count++;
        if (w[0] == init_pid && w.size() == 2 && w[1] == "-") seen.ps_lists_init = true;
        if (ps[i].find("ExecID:bg") != std::string::npos) seen.ps_lists_exec = true;
    }

    r = ctr(rt.ns, {"task", "pause", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task pause", r));
    seen.paused = task_status(rt, id);
    r = ctr(rt.ns, {"task", "resume", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task resume", r));
    seen.resumed = task_status(rt, id);

    // SIGTERM, ctr's default: `sleep` as the container's pid 1 has no handler, the kernel drops it.
    r = ctr(rt.ns, {"task", "kill", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task kill", r));
    std::this_thread::sleep_for(1s);
    seen.after_term = task_status(rt, id);
    r = ctr(rt.ns, {"task", "kill", "-s", "SIGKILL", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task kill -s SIGKILL", r));
    seen.after_kill = wait_for_status(rt, id, "STOPPED");

    // ctr reports the status of the deleted task as a warning: "task ID exit with non-zero exit code N".
    r = ctr(rt.ns, {"task", "delete", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task delete", r));
    std::smatch m;
    if (std::regex_search(r.err, m, std::regex("exit code ([0-9]+)")))
        seen.exit_code = std::stoi(m[1]);
    else
        seen.exit_code = 0;
    r = ctr(rt.ns, {"container", "rm", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr container rm", r));
    return seen;
}

std::string pts_path(const std::string& out) {
    std::smatch m;
    if (std::regex_search(out, m, std::regex("/dev/pts/[0-9]+"))) return "/dev/pts/N";
    return out;
}

TtySeen ContainerdPeer::tty_flow(const Runtime& rt) {
    TtySeen seen;
    std::string id = "tty-run-" + rt.name;
    ToolResult r = ctr_in_pty(rt.ns, run_args(rt, {"--rm", "-t"}, id, {"sh", "-c", "tty; exit 3"}));
    seen.run_status = r.status;
    seen.run_tty = pts_path(r.out);
    STEP_OR_STOP(seen, r.status != 124 && r.status != 137, describe("ctr run -t timed out", r));

    // exec -t: the shim passes --console-socket to `exec` too.
    id = "tty-exec-" + rt.name;
    r = ctr(rt.ns, run_args(rt, {"-d"}, id, {"sleep", "1000"}));
    STEP_OR_STOP(seen, r.status == 0, describe("ctr run -d", r));
    r = ctr_in_pty(rt.ns, {"task", "exec", "-t", "--exec-id", "tt", id, "sh", "-c", "tty; exit 4"});
    seen.exec_status = r.status;
    seen.exec_tty = pts_path(r.out);
    STEP_OR_STOP(seen, r.status != 124 && r.status != 137, describe("ctr task exec -t timed out", r));
    r = ctr(rt.ns, {"task", "kill", "-s", "SIGKILL", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task kill -s SIGKILL", r));
    STEP_OR_STOP(seen, wait_for_status(rt, id, "STOPPED") == "STOPPED", "the task did not stop after SIGKILL");
    r = ctr(rt.ns, {"task", "delete", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task delete", r));
    r = ctr(rt.ns, {"container", "rm", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr container rm", r));
    return seen;
}

MetricsSeen ContainerdPeer::metrics_flow(const Runtime& rt) {
    MetricsSeen seen;
    std::string id = "metrics-" + rt.name;
    ToolResult r = ctr(rt.ns, run_args(rt, {"-d", "--memory-limit", "67108864"}, id, {"sleep", "1000"}));
    STEP_OR_STOP(seen, r.status == 0, describe("ctr run -d", r));
    // The shim reads the cgroup files itself: of the cgroup /proc/<init>/cgroup names.
    r = ctr(rt.ns, {"task", "metrics", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task metrics", r));
    bool in_table = false;
    for (const auto& line : lines_of(r.out)) {
        auto w = words_of(line);
        if (w.size() >= 2 && w[0] == "METRIC") {
            in_table = true;
            continue;
        }
        if (in_table && w.size() >= 2) {
            std::string value = line.substr(line.find_first_not_of(' ', w[0].size()));
            value.erase(value.find_last_not_of(' ') + 1);
            seen.table[w[0]] = value;
        }
    }
    r = ctr(rt.ns, {"task", "metrics", "--format", "json", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task metrics --format json", r));
    try {
        Json j = Json::parse(r.out);
        for (const auto& [k, v] : j.items()) seen.json_keys.insert(k);
        // v1 metrics: memory.usage.{usage,limit}; v2 (pure cgroup v2): memory.{usage,usage_limit}
        const Json& mem = j.at("memory");
        bool v1 = mem.contains("usage") && mem.at("usage").is_object();
        seen.json_memory_usage = v1 ? mem.at("usage").value("usage", -1LL) : mem.value("usage", -1LL);
        seen.json_memory_limit = v1 ? mem.at("usage").value("limit", -1LL) : mem.value("usage_limit", -1LL);
        seen.json_pids_current = j.at("pids").value("current", -1LL);
    } catch (const std::exception& e) {
        seen.failure = std::string("ctr task metrics --format json: ") + e.what() + "\n" + r.out;
    }
    r = ctr(rt.ns, {"task", "kill", "-s", "SIGKILL", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task kill -s SIGKILL", r));
    STEP_OR_STOP(seen, wait_for_status(rt, id, "STOPPED") == "STOPPED", "the task did not stop after SIGKILL");
    r = ctr(rt.ns, {"task", "delete", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr task delete", r));
    r = ctr(rt.ns, {"container", "rm", id});
    STEP_OR_STOP(seen, r.status == 0, describe("ctr container rm", r));
    return seen;
}

// --- the tests -------------------------------------------------------------

// `ctr run --rm` of a command that exits 7: ctr exits 7, stdout and stderr arrive apart.
TEST_F(ContainerdPeer, RunRmPassesTheExitCodeAndOutput) {
    RunRmSeen want = run_rm_flow(control());
    ASSERT_EQ(want.failure, "") << "control (runc)";
    ASSERT_EQ(want.status, 7) << "control (runc): " << want.err;
    ASSERT_EQ(want.out, "to-stdout\n") << "control (runc)";
    expect_gone(control(), "rm-runc");

    RunRmSeen got = run_rm_flow(ns_run());
    if (!got.failure.empty()) FAIL() << "ns-run: " << got.failure;
    EXPECT_EQ(got.status, want.status) << got.err;
    EXPECT_EQ(got.out, want.out);
    EXPECT_EQ(got.err, want.err);
    expect_gone(ns_run(), "rm-ns-run");
}

// run -d, exec (output, status, pid namespace), exec -d + ps, pause/resume,
// kill (TERM ignored by pid 1, then KILL), task delete (status 137), container rm.
TEST_F(ContainerdPeer, DetachedTaskLifecycle) {
    DetachedSeen want = detached_flow(control());
    ASSERT_EQ(want.failure, "") << "control (runc)";
    EXPECT_EQ(want.exec_status, 5) << "control (runc)";
    EXPECT_EQ(want.exec_out, "exec-out\nsleep 1000 \n") << "control (runc)";
    EXPECT_EQ(want.ps_count, 2u) << "control (runc)";
    EXPECT_TRUE(want.ps_lists_init && want.ps_lists_exec) << "control (runc)";
    EXPECT_EQ(want.paused, "PAUSED") << "control (runc)";
    EXPECT_EQ(want.resumed, "RUNNING") << "control (runc)";
    EXPECT_EQ(want.after_term, "RUNNING") << "control (runc)";
    EXPECT_EQ(want.after_kill, "STOPPED") << "control (runc)";
    EXPECT_EQ(want.exit_code, 137) << "control (runc)";
    expect_gone(control(), "detached-runc");

    DetachedSeen got = detached_flow(ns_run());
    if (!got.failure.empty()) FAIL() << "ns-run: " << got.failure;
    EXPECT_EQ(got.exec_status, want.exec_status);
    EXPECT_EQ(got.exec_out, want.exec_out);
    EXPECT_EQ(got.ps_count, want.ps_count);
    EXPECT_EQ(got.ps_lists_init, want.ps_lists_init) << "ctr task ps lists the init's pid with INFO -";
    EXPECT_EQ(got.ps_lists_exec, want.ps_lists_exec) << "ctr task ps names the exec id of the exec'd process";
    EXPECT_EQ(got.paused, want.paused);
    EXPECT_EQ(got.resumed, want.resumed);
    EXPECT_EQ(got.after_term, want.after_term);
    EXPECT_EQ(got.after_kill, want.after_kill);
    EXPECT_EQ(got.exit_code, want.exit_code);
    expect_gone(ns_run(), "detached-ns-run");
}

// run -t and exec -t under a pty: `tty` prints a /dev/pts path, the status comes back.
TEST_F(ContainerdPeer, TerminalRunAndExec) {
    TtySeen want = tty_flow(control());
    ASSERT_EQ(want.failure, "") << "control (runc)";
    EXPECT_EQ(want.run_status, 3) << "control (runc)";
    EXPECT_EQ(want.run_tty, "/dev/pts/N") << "control (runc)";
    EXPECT_EQ(want.exec_status, 4) << "control (runc)";
    EXPECT_EQ(want.exec_tty, "/dev/pts/N") << "control (runc)";
    expect_gone(control(), "tty-run-runc");
    expect_gone(control(), "tty-exec-runc");

    TtySeen got = tty_flow(ns_run());
    if (!got.failure.empty()) FAIL() << "ns-run: " << got.failure;
    EXPECT_EQ(got.run_status, want.run_status);
    EXPECT_EQ(got.run_tty, want.run_tty);
    EXPECT_EQ(got.exec_status, want.exec_status);
    EXPECT_EQ(got.exec_tty, want.exec_tty);
    expect_gone(ns_run(), "tty-run-ns-run");
    expect_gone(ns_run(), "tty-exec-ns-run");
}

// `ctr task metrics`: the shim reads the task's cgroup files; memory, cpu and
// pids figures (and the --memory-limit) show for both runtimes.
TEST_F(ContainerdPeer, TaskMetricsFromTheCgroups) {
    // The shim's metrics are v1's files on v1 and hybrid, v2's on pure cgroup v2.
    bool v2 = ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    const std::string limit = v2 ? "memory.usage_limit" : "memory.limit_in_bytes";
    const std::string cpu_usage = v2 ? "cpu.usage_usec" : "cpuacct.usage";
    MetricsSeen want = metrics_flow(control());
    ASSERT_EQ(want.failure, "") << "control (runc)";
    for (const std::string& k : {v2 ? std::string("memory.usage") : std::string("memory.usage_in_bytes"), limit,
                                 cpu_usage, std::string("pids.current")})
        EXPECT_TRUE(want.table.count(k)) << "control (runc) has no " << k;
    EXPECT_EQ(want.table[limit], "67108864") << "control (runc)";
    EXPECT_EQ(want.table["pids.current"], "1") << "control (runc)";
    EXPECT_GT(want.json_memory_usage, 0) << "control (runc)";
    expect_gone(control(), "metrics-runc");

    MetricsSeen got = metrics_flow(ns_run());
    if (!got.failure.empty()) FAIL() << "ns-run: " << got.failure;
    std::set<std::string> want_names, got_names;
    for (const auto& [k, v] : want.table) want_names.insert(k);
    for (const auto& [k, v] : got.table) got_names.insert(k);
    EXPECT_EQ(got_names, want_names) << "the metrics ctr shows";
    EXPECT_EQ(got.json_keys, want.json_keys) << "the groups of ctr task metrics --format json";
    EXPECT_EQ(got.table[limit], want.table[limit]);
    EXPECT_EQ(got.table["pids.current"], want.table["pids.current"]);
    EXPECT_EQ(got.table["pids.limit"], want.table["pids.limit"]);
    EXPECT_GT(got.json_memory_usage, 0) << "memory.usage_in_bytes of the task's cgroup";
    EXPECT_EQ(got.json_memory_limit, want.json_memory_limit);
    EXPECT_EQ(got.json_pids_current, want.json_pids_current);
    std::string cpu = got.table.count(cpu_usage) ? got.table[cpu_usage] : "";
    EXPECT_TRUE(!cpu.empty() && cpu != "0") << cpu_usage << ": " << cpu;
    expect_gone(ns_run(), "metrics-ns-run");
}

// After every flow: nothing in either namespace, the shim's runtime root empty
// (or gone), no cgroup of the namespace, no mount under the test's directory.
TEST_F(ContainerdPeer, NothingLeftBehind) {
    for (const auto& rt : runtimes()) {
        SCOPED_TRACE(rt.name);
        ToolResult tasks = ctr(rt.ns, {"task", "ls", "-q"});
        EXPECT_EQ(tasks.status, 0) << tasks;
        EXPECT_EQ(tasks.out, "");
        ToolResult cs = ctr(rt.ns, {"container", "ls", "-q"});
        EXPECT_EQ(cs.status, 0) << cs;
        EXPECT_EQ(cs.out, "");
        auto left = dir_entries(rt.runtime_root());
        std::string names;
        for (const auto& n : left) names += " " + n;
        EXPECT_TRUE(left.empty()) << rt.runtime_root() << " holds:" << names;
        std::error_code ec;
        for (const auto& h : cgroup_hierarchies()) {
            std::string nsdir = h + "/" + rt.ns;
            for (const auto& e : dir_entries(nsdir))
                EXPECT_FALSE(stdfs::is_directory(nsdir + "/" + e, ec)) << "cgroup " << nsdir << "/" << e;
        }
    }
    for (const auto& m : linux::read_mountinfo()) {
        EXPECT_NE(m.mount_point.rfind(dir_ + "/", 0), 0u) << "mount on " << m.mount_point;
        for (const auto& rt : runtimes())
            EXPECT_NE(m.mount_point.rfind(rt.runtime_root() + "/", 0), 0u) << "mount on " << m.mount_point;
    }
}

} // namespace
} // namespace ctk::test
