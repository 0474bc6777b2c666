// dockerd 20.10 (Debian's docker.io) drives ns-run as a runtime added with
// `--add-runtime ctk=build/tools/ns-run/ns-run`: every flow runs twice in one
// test, with `--runtime runc` (the control) and with `--runtime ctk`, and the
// two results are compared.
//
// The program starts one dockerd of its own for all its tests, with everything
// private: --data-root and --exec-root in a temporary directory (tmpfs; on disk
// under /var/tmp when overlay2 will not work there), its own pidfile and
// socket, no bridge and no iptables, and HTTP(S)_PROXY at a closed loopback
// port so it can never reach a public registry. dockerd starts its own
// containerd under the exec root; both are stopped by pid at the end.
//
// What dockerd 20.10 gives the runtime (its containerd's runc shim runs it):
//   --root <exec-root>/runtime-runc/moby --log <bundle>/log.json --log-format json
// then create --bundle B --pid-file B/init.pid [--console-socket S] ID, start ID,
// exec --process F [--console-socket S] --detach --pid-file P ID,
// update --resources - ID, pause ID, resume ID, kill ID SIG, delete [--force] ID.
// The --root is runtime-runc's for every added runtime too (dockerd names it
// after its default runtime), so runc and ns-run share one state directory.
//
// Every docker call runs under `timeout -k 5 60`. When one times out, the
// runtime processes under that container's shim are killed (by pid) so that
// dockerd answers again and the flow can clean up. After each flow the
// container's cgroups, runtime state, bundle, shim, shim socket and mounts must
// be gone; at the end of the program dockerd and its containerd must stop by
// themselves and leave no shim, mount, cgroup or runtime state behind.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "core/digest.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "linux/mount.hpp"
#include "tool_test.hpp"

namespace ctk::test {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int docker_timeout_s = 60;
const std::string cgroup_root = "/sys/fs/cgroup";
const std::vector<std::string> runtimes = {"runc", "ctk"}; // the control first
// What dockerd makes outside its roots whatever its options: the plugin
// discovery directory (empty), and the trust key unless told where.
const std::vector<std::string> host_paths = {"/etc/docker/key.json", "/run/docker/plugins", "/run/docker"};

// ---------------------------------------------------------------------------
// Small helpers

// ToolTest's path helpers (build dir, registry), without its per-test directories.
struct Paths : ToolTest {
    using ToolTest::have_program;
    using ToolTest::registry;
    using ToolTest::test_tmp_parent;
    using ToolTest::tool_path;
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

std::string trimmed(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            parts.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    parts.push_back(cur);
    return parts;
}

std::vector<std::string> dir_entries(const std::string& path) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(path, ec)) names.push_back(e.path().filename());
    return names;
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

std::string docker_cli() {
    for (const char* p : {"/usr/local/bin/docker", "/usr/bin/docker"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

std::string dockerd_binary() {
    for (const char* p : {"/usr/sbin/dockerd", "/usr/bin/dockerd"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

std::string absolute_path(const std::string& p) {
    std::error_code ec;
    auto a = stdfs::absolute(p, ec);
    return ec ? p : a.lexically_normal().string();
}

// The v1 controller mounts and the unified one: where docker's cgroupfs paths
// /docker/<id> appear.
std::vector<std::string> cgroup_hierarchies() {
    std::vector<std::string> roots;
    for (const auto& m : linux::read_mountinfo())
        if ((m.fstype == "cgroup" || m.fstype == "cgroup2") && m.mount_point.rfind(cgroup_root, 0) == 0)
            roots.push_back(m.mount_point);
    return roots;
}

std::vector<std::string> process_args(pid_t pid) {
    auto raw = read_file_if_exists("/proc/" + std::to_string(pid) + "/cmdline");
    std::vector<std::string> args;
    if (!raw || raw->empty()) return args;
    if (raw->back() == '\0') raw->pop_back();
    return split(*raw, '\0');
}

pid_t parent_of(pid_t pid) {
    auto stat = read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return -1;
    size_t close = stat->rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream in(stat->substr(close + 2));
    std::string state;
    pid_t ppid = -1;
    in >> state >> ppid;
    return ppid;
}

std::vector<pid_t> all_pids() {
    std::vector<pid_t> pids;
    for (const auto& name : dir_entries("/proc"))
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
            pids.push_back(static_cast<pid_t>(std::stol(name)));
    return pids;
}

// Every process below `root` (not root itself), deepest last.
std::vector<pid_t> descendants(pid_t root) {
    std::map<pid_t, std::vector<pid_t>> children;
    for (pid_t p : all_pids()) children[parent_of(p)].push_back(p);
    std::vector<pid_t> out, todo = {root};
    while (!todo.empty()) {
        pid_t p = todo.back();
        todo.pop_back();
        for (pid_t c : children[p]) {
            out.push_back(c);
            todo.push_back(c);
        }
    }
    return out;
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Waits until the process behind `pidfd` has exited, at most `timeout`.
bool wait_pidfd(int pidfd, std::chrono::milliseconds timeout) {
    pollfd p {pidfd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
    auto end = Clock::now() + timeout;
    for (;;) {
        if (pred()) return true;
        if (Clock::now() >= end) return false;
        std::this_thread::sleep_for(100ms);
    }
}

std::string pts_path(const std::string& out) {
    size_t at = out.find("/dev/pts/");
    if (at == std::string::npos) return "";
    size_t end = at + 9;
    while (end < out.size() && std::isdigit(static_cast<unsigned char>(out[end]))) end++;
    return end > at + 9 ? out.substr(at, end - at) : "";
}

// ---------------------------------------------------------------------------
// The daemon, one for the whole program

struct Daemon {
    std::string skip;           // why the tests cannot run here
    std::string start_error;    // why dockerd did not come up
    std::string dir;            // tmpfs: socket, pidfile, exec root, CLI config, log
    std::string data_root;      // dir/data, or /var/tmp/ctk-dockerd.* when overlay2 fails on tmpfs
    std::string disk_dir;       // that /var/tmp directory, if made
    std::string exec_root, sock, pidfile, log, cli, ns_run, image;
    pid_t dockerd = -1;
    int dockerd_pidfd = -1;
    pid_t containerd = -1;
    int containerd_pidfd = -1;
    std::set<std::string> parents_before; // hierarchies that had a /docker cgroup before
    std::set<std::string> ids;            // every container ID the tests made
    std::set<std::string> host_paths_before; // of host_paths, those there before dockerd started

    std::string containerd_sock() const { return exec_root + "/containerd/containerd.sock"; }
    std::string runtime_root() const { return exec_root + "/runtime-runc/moby"; }
    std::string bundle(const std::string& id) const {
        return exec_root + "/containerd/daemon/io.containerd.runtime.v2.task/moby/" + id;
    }
    // containerd 1.6 shim/util_unix.go SocketAddress: sha256(address/namespace/id) under /run/containerd/s.
    std::string shim_socket(const std::string& id) const {
        return "/run/containerd/s/" + Digest::sha256_of(containerd_sock() + "/moby/" + id).encoded();
    }

    std::vector<std::string> env() const {
        return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME=" + dir + "/home",
                "DOCKER_HOST=unix://" + sock,
                "DOCKER_CONFIG=" + dir + "/cli",
                "TERM=xterm",
                "LANG=C.UTF-8"};
    }

    // The shims of this daemon's containerd (for `id` only, when given).
    std::vector<pid_t> shims(const std::string& id = "") const {
        std::vector<pid_t> out;
        for (pid_t p : all_pids()) {
            auto a = process_args(p);
            if (a.empty() || a[0].find("containerd-shim") == std::string::npos) continue;
            bool ours = false, same_id = id.empty();
            for (size_t i = 0; i + 1 < a.size(); i++) {
                if (a[i] == "-address" && a[i + 1] == containerd_sock()) ours = true;
                if (a[i] == "-id" && a[i + 1] == id) same_id = true;
            }
            if (ours && same_id) out.push_back(p);
        }
        return out;
    }
};

Daemon daemon_;

ProcessResult run_with_env(const std::vector<std::string>& argv, int timeout_s, const std::string& input = "") {
    RunOptions o;
    o.env = daemon_.env();
    o.input = input;
    o.timeout_ms = (timeout_s + 20) * 1000;
    return run_process(argv, o);
}

struct DockerResult {
    int status = -1;
    bool timed_out = false;
    double seconds = 0;
    std::string out, err;
};

std::ostream& operator<<(std::ostream& os, const DockerResult& r) {
    return os << "exit " << r.status << (r.timed_out ? " (timed out)" : "") << "\n--- stdout\n"
              << r.out << "--- stderr\n" << r.err;
}

// `timeout -k 5 N docker ARGS`; timed out when it ran for N seconds or more
// (timeout's own 124, or 137 after -k, cannot be told from docker's codes).
DockerResult docker(const std::vector<std::string>& args, int timeout_s = docker_timeout_s) {
    std::vector<std::string> argv = {"timeout", "-k", "5", std::to_string(timeout_s), daemon_.cli};
    argv.insert(argv.end(), args.begin(), args.end());
    auto t0 = Clock::now();
    ProcessResult p = run_with_env(argv, timeout_s);
    DockerResult r;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.status = p.status;
    r.timed_out = p.timed_out || r.seconds >= timeout_s;
    r.out = std::move(p.out);
    r.err = std::move(p.err);
    return r;
}

// The same under a pty: util-linux `script -qec CMD /dev/null` (the docker
// CLI is in the pty's foreground, as at a terminal; script exits with its code).
DockerResult docker_in_pty(const std::vector<std::string>& args, int timeout_s = docker_timeout_s) {
    std::vector<std::string> cmd = {daemon_.cli};
    cmd.insert(cmd.end(), args.begin(), args.end());
    std::vector<std::string> argv = {"timeout", "-k", "5", std::to_string(timeout_s), "script", "-qec",
                                     join_quoted(cmd), "/dev/null"};
    auto t0 = Clock::now();
    ProcessResult p = run_with_env(argv, timeout_s);
    DockerResult r;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.status = p.status;
    r.timed_out = p.timed_out || r.seconds >= timeout_s;
    r.out = std::move(p.out);
    r.err = std::move(p.err);
    return r;
}

// A docker call that timed out leaves dockerd waiting on the runtime: kill
// (by pid) every process below the container's shim so that it answers again.
void rescue(const std::string& id) {
    if (id.empty()) return;
    for (pid_t shim : daemon_.shims(id))
        for (pid_t p : descendants(shim)) ::kill(p, SIGKILL);
}

struct Inspect {
    bool ok = false;
    std::string id, status, started_at, finished_at;
    int exit_code = -1;
    bool paused = false, oom_killed = false;
    std::string restart_count;
    long long memory = -1, memory_swap = -1;
    std::string raw;
};

Inspect inspect(const std::string& name) {
    DockerResult r = docker({"inspect", "-f",
                             "{{.Id}}|{{.State.Status}}|{{.State.ExitCode}}|{{.State.StartedAt}}|"
                             "{{.State.FinishedAt}}|{{.State.Paused}}|{{.State.OOMKilled}}|{{.RestartCount}}|"
                             "{{.HostConfig.Memory}}|{{.HostConfig.MemorySwap}}",
                             name});
    Inspect i;
    i.raw = r.out + r.err;
    if (r.status != 0) return i;
    auto f = split(trimmed(r.out), '|');
    if (f.size() != 10) return i;
    try {
        i.id = f[0];
        i.status = f[1];
        i.exit_code = std::stoi(f[2]);
        i.started_at = f[3];
        i.finished_at = f[4];
        i.paused = f[5] == "true";
        i.oom_killed = f[6] == "true";
        i.restart_count = f[7];
        i.memory = std::stoll(f[8]);
        i.memory_swap = std::stoll(f[9]);
    } catch (const std::exception&) {
        return i;
    }
    i.ok = true;
    return i;
}

// Waits until the container's State.Status is `status` (at most `timeout`).
Inspect await_status(const std::string& name, const std::string& status,
                     std::chrono::milliseconds timeout = 10000ms) {
    Inspect last;
    eventually(
        [&] {
            last = inspect(name);
            return last.ok && last.status == status;
        },
        timeout);
    return last;
}

std::string cgroup_file(const std::string& controller, const std::string& id, const std::string& file) {
    auto v = read_file_if_exists(cgroup_root + "/" + controller + "/docker/" + id + "/" + file);
    return v ? trimmed(*v) : "(missing)";
}

// What a removed container must not leave behind; one line per leftover.
std::vector<std::string> leftovers_of(const std::string& id) {
    std::vector<std::string> left;
    if (id.empty()) return left;
    auto scan = [&] {
        left.clear();
        for (const auto& h : cgroup_hierarchies())
            if (exists(h + "/docker/" + id)) left.push_back("cgroup " + h + "/docker/" + id);
        if (exists(daemon_.runtime_root() + "/" + id))
            left.push_back("runtime state " + daemon_.runtime_root() + "/" + id);
        if (exists(daemon_.bundle(id))) left.push_back("bundle " + daemon_.bundle(id));
        for (pid_t p : daemon_.shims(id)) left.push_back("shim pid " + std::to_string(p));
        if (exists(daemon_.shim_socket(id))) left.push_back("shim socket " + daemon_.shim_socket(id));
        for (const auto& m : linux::read_mountinfo())
            if (m.mount_point.find(id) != std::string::npos) left.push_back("mount " + m.mount_point);
        return left.empty();
    };
    eventually(scan, 5000ms); // the shim exits a moment after the task is deleted
    return left;
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
    return s.empty() ? "(none)" : s;
}

// Removes the container (docker rm -f) and returns what it left behind.
std::vector<std::string> remove_container(const std::string& name, const std::string& id) {
    DockerResult r = docker({"rm", "-f", name});
    if (r.timed_out) {
        rescue(id);
        r = docker({"rm", "-f", name});
    }
    // --rm's own removal may still be under way ("removal ... is already in progress").
    bool gone = eventually([&] { return docker({"inspect", "--type", "container", name}).status != 0; }, 10000ms);
    std::vector<std::string> left = leftovers_of(id);
    if (!gone) left.insert(left.begin(), "docker rm -f failed, the container is still there: " + trimmed(r.err));
    return left;
}

std::string read_id_file(const std::string& path) {
    auto v = read_file_if_exists(path);
    return v ? trimmed(*v) : "";
}

// ---------------------------------------------------------------------------
// Starting and stopping dockerd

bool spawn_dockerd(const std::string& data_root, std::string& why) {
    Daemon& d = daemon_;
    d.data_root = data_root;
    std::vector<std::string> argv = {dockerd_binary(),
                                     "--config-file", d.dir + "/daemon.json",
                                     "--data-root", d.data_root,
                                     "--exec-root", d.exec_root,
                                     "--pidfile", d.pidfile,
                                     "-H", "unix://" + d.sock,
                                     "--bridge=none", "--iptables=false", "--ip-masq=false", "--ip6tables=false",
                                     "--storage-driver", "overlay2",
                                     "--add-runtime", "ctk=" + d.ns_run};
    std::vector<std::string> env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                    "HOME=" + d.dir + "/home", "HTTP_PROXY=http://127.0.0.1:9",
                                    "HTTPS_PROXY=http://127.0.0.1:9", "http_proxy=http://127.0.0.1:9",
                                    "https_proxy=http://127.0.0.1:9", "NO_PROXY=", "no_proxy="};
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    int logfd = ::open(d.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        why = "open " + d.log + ": " + std::strerror(errno);
        return false;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(logfd);
        why = std::string("fork: ") + std::strerror(errno);
        return false;
    }
    if (pid == 0) {
        ::setsid();
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        int devnull = ::open("/dev/null", O_RDONLY);
        ::dup2(devnull, 0);
        ::dup2(logfd, 1);
        ::dup2(logfd, 2);
        ::execve(cargv[0], cargv.data(), cenv.data());
        ::_exit(127);
    }
    ::close(logfd);
    d.dockerd = pid;
    d.dockerd_pidfd = pidfd_open(pid);
    // Up when the API answers; gone when dockerd exited first.
    bool up = eventually(
        [&] {
            int st;
            if (::waitpid(pid, &st, WNOHANG) == pid) {
                d.dockerd = -1;
                ::close(d.dockerd_pidfd);
                d.dockerd_pidfd = -1;
                return true;
            }
            return docker({"version", "--format", "{{.Server.APIVersion}}"}, 10).status == 0;
        },
        60000ms);
    if (d.dockerd < 0 || !up) {
        std::string log = read_file(d.log);
        why = "dockerd did not come up; its log ends:\n" + log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
        return false;
    }
    DockerResult info = docker({"info", "--format", "{{.Driver}}"});
    if (trimmed(info.out) != "overlay2") {
        why = "storage driver: " + info.out + info.err;
        return false;
    }
    return true;
}

// SIGTERM, then SIGKILL after `grace`; true when it stopped by itself.
bool stop_dockerd(std::chrono::milliseconds grace) {
    Daemon& d = daemon_;
    if (d.dockerd < 0) return true;
    ::kill(d.dockerd, SIGTERM);
    bool by_itself = wait_pidfd(d.dockerd_pidfd, grace);
    if (!by_itself) ::kill(d.dockerd, SIGKILL);
    int st;
    ::waitpid(d.dockerd, &st, 0);
    ::close(d.dockerd_pidfd);
    d.dockerd = -1;
    d.dockerd_pidfd = -1;
    return by_itself;
}

class DockerdPeer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        Daemon& d = daemon_;
        if (::geteuid() != 0) d.skip = "needs root";
        else if (dockerd_binary().empty()) d.skip = "dockerd is not installed";
        else if ((d.cli = docker_cli()).empty()) d.skip = "the docker CLI is not installed";
        else if (!Paths::have_program("containerd") || !Paths::have_program("runc"))
            d.skip = "containerd or runc is not installed";
        else if (!Paths::have_program("script")) d.skip = "util-linux script is not installed";
        else if (::access(Paths::tool_path("ns-run").c_str(), X_OK) != 0) d.skip = "ns-run is not built";
        if (!d.skip.empty()) return;
        d.ns_run = absolute_path(Paths::tool_path("ns-run"));
        d.image = Paths::registry() + "/tiny:latest";
        for (const auto& h : cgroup_hierarchies())
            if (exists(h + "/docker")) d.parents_before.insert(h);

        TempDir dir("ctk-dockerd", Paths::test_tmp_parent());
        d.dir = dir.release();
        d.exec_root = d.dir + "/exec";
        d.sock = d.dir + "/docker.sock";
        d.pidfile = d.dir + "/dockerd.pid";
        d.log = d.dir + "/dockerd.log";
        make_dirs(d.dir + "/home");
        make_dirs(d.dir + "/cli");
        // Not /etc/docker/daemon.json; and the libtrust key dockerd 20.10 would
        // write to /etc/docker/key.json goes to the private directory.
        write_file_atomic(d.dir + "/daemon.json", "{\"deprecated-key-path\": \"" + d.dir + "/key.json\"}\n");
        for (const auto& p : host_paths) if (exists(p)) d.host_paths_before.insert(p);

        std::string why;
        if (!spawn_dockerd(d.dir + "/data", why)) {
            // overlay2 on this tmpfs will not do: the data root goes on disk.
            stop_dockerd(30000ms);
            linux::unmount_below(d.dir);
            std::error_code ec;
            stdfs::remove_all(d.dir + "/data", ec);
            stdfs::remove_all(d.exec_root, ec);
            TempDir disk("ctk-dockerd", "/var/tmp");
            d.disk_dir = disk.release();
            std::string why2;
            if (!spawn_dockerd(d.disk_dir + "/data", why2)) {
                d.start_error = "on tmpfs: " + why + "\non disk: " + why2;
                return;
            }
        }
        if (auto pid = read_file_if_exists(d.exec_root + "/containerd/containerd.pid")) {
            try {
                d.containerd = static_cast<pid_t>(std::stol(trimmed(*pid)));
                d.containerd_pidfd = pidfd_open(d.containerd);
            } catch (const std::exception&) {
            }
        }
        if (d.containerd_pidfd < 0) {
            d.start_error = "dockerd's containerd: no pid in " + d.exec_root + "/containerd/containerd.pid";
            return;
        }
        DockerResult pull = docker({"pull", d.image});
        if (pull.status != 0) d.start_error = "docker pull " + d.image + ": " + pull.out + pull.err;
    }

    static void TearDownTestSuite() {
        Daemon& d = daemon_;
        if (d.dir.empty()) return;
        std::vector<std::string> problems;
        // Containers a failed test could not remove.
        if (d.dockerd > 0) {
            DockerResult ps = docker({"ps", "-aq", "--no-trunc"});
            for (const auto& id : split(trimmed(ps.out), '\n')) {
                if (id.empty()) continue;
                problems.push_back("container still there at the end: " + id);
                d.ids.insert(id);
                if (docker({"rm", "-f", id}).timed_out) {
                    rescue(id);
                    docker({"rm", "-f", id});
                }
            }
        }
        if (!stop_dockerd(40000ms)) problems.push_back("dockerd did not stop within 40 s of SIGTERM (killed)");
        if (d.containerd_pidfd >= 0) {
            if (!wait_pidfd(d.containerd_pidfd, 15000ms)) {
                problems.push_back("dockerd's containerd (pid " + std::to_string(d.containerd) +
                                   ") outlived dockerd (killed)");
                ::kill(d.containerd, SIGKILL);
                wait_pidfd(d.containerd_pidfd, 5000ms);
            }
            ::close(d.containerd_pidfd);
            d.containerd_pidfd = -1;
        }
        for (pid_t shim : d.shims()) {
            problems.push_back("shim outlived dockerd: pid " + std::to_string(shim) + " " +
                               join_quoted(process_args(shim)));
            for (pid_t p : descendants(shim)) ::kill(p, SIGKILL);
            ::kill(shim, SIGKILL);
        }
        // The runtime root dockerd gives runc and ns-run alike: empty once every
        // container is gone (runc leaves nothing there; `runc list` warns about
        // any entry that is not a container).
        for (const auto& name : dir_entries(d.runtime_root())) {
            if (name == ".seccomp") {
                problems.push_back("ns-run's seccomp cache left in the runtime root dockerd shares with runc: " +
                                   d.runtime_root() + "/.seccomp (`runc list` there warns \"load container "
                                   ".seccomp: container does not exist\")");
                continue;
            }
            problems.push_back("runtime state left: " + d.runtime_root() + "/" + name);
            d.ids.insert(name);
            for (const std::string& rt : {d.ns_run, std::string("runc")})
                run_with_env({rt, "--root", d.runtime_root(), "delete", "--force", name}, 30);
        }
        for (const std::string& root : {d.dir, d.disk_dir}) {
            if (root.empty()) continue;
            for (const auto& m : linux::read_mountinfo())
                if (m.mount_point.rfind(root + "/", 0) == 0 || m.mount_point == root)
                    problems.push_back("mount left: " + m.mount_point);
            linux::unmount_below(root);
        }
        for (const auto& h : cgroup_hierarchies()) {
            for (const auto& id : d.ids) {
                std::string cg = h + "/docker/" + id;
                if (!exists(cg)) continue;
                problems.push_back("cgroup left: " + cg);
                ::rmdir(cg.c_str());
            }
            std::string parent = h + "/docker";
            if (d.parents_before.count(h) || !exists(parent)) continue;
            std::vector<std::string> children;
            std::error_code ec;
            for (const auto& e : stdfs::directory_iterator(parent, ec))
                if (e.is_directory()) children.push_back(e.path().filename());
            if (children.empty()) ::rmdir(parent.c_str());
            else problems.push_back(parent + " (made by this test's dockerd) still has " + joined(children));
        }
        for (const auto& p : host_paths) {
            if (d.host_paths_before.count(p) || !exists(p)) continue;
            if (p == "/etc/docker/key.json") {
                problems.push_back("dockerd wrote " + p + " (outside its roots)");
                ::unlink(p.c_str());
            } else if (::rmdir(p.c_str()) != 0) {
                problems.push_back("could not remove " + p + " (made by this test's dockerd): " + std::strerror(errno));
            }
        }
        for (const std::string& root : {d.dir, d.disk_dir}) {
            if (root.empty()) continue;
            try {
                remove_tree(root);
            } catch (const std::exception& e) {
                problems.push_back("could not remove " + root + ": " + e.what());
            }
        }
        for (const auto& p : problems) ADD_FAILURE() << "dockerd clean-up: " << p;
        d = Daemon();
    }

    void SetUp() override {
        if (!daemon_.skip.empty()) GTEST_SKIP() << daemon_.skip;
        ASSERT_TRUE(daemon_.start_error.empty()) << daemon_.start_error;
        ASSERT_GT(daemon_.dockerd, 0) << "dockerd is not running";
    }

    const std::string& image() const { return daemon_.image; }
    std::string cidfile(const std::string& name) const { return daemon_.dir + "/" + name + ".cid"; }
};

// The first step of a flow that went wrong ("" when none did).
struct Failure {
    std::string what;
    bool failed() const { return !what.empty(); }
    void set(const std::string& step, const DockerResult& r) {
        if (failed()) return;
        std::ostringstream s;
        s << step << ": " << r;
        what = s.str();
    }
    void set(const std::string& step) {
        if (!failed()) what = step;
    }
};

// ---------------------------------------------------------------------------
// docker run --rm: the container's exit code, 127 for a missing command, 126
// for a file that cannot be executed (docker's codes from the runtime's error
// in log.json).

struct RunRmSeen {
    int status = -1;
    bool timed_out = false;
    std::string out, err;
    std::vector<std::string> leftovers;
};

TEST_F(DockerdPeer, RunRmExitCodes) {
    struct Case {
        std::string name;
        std::vector<std::string> command;
        int expected;
        std::string out;    // the container's stdout
        std::string error;  // what docker's message says (from the runtime's error)
    };
    const std::vector<Case> cases = {
        {"zero", {"sh", "-c", "echo out-zero; exit 0"}, 0, "out-zero", ""},
        {"seven", {"sh", "-c", "echo out-seven; exit 7"}, 7, "out-seven", ""},
        {"missing", {"no-such-command"}, 127, "", "executable file not found"},
        {"noexec", {"/etc/passwd"}, 126, "", "permission denied"},
    };
    bool ctk_hung = false; // after one timeout the other ctk runs would only wait as long
    for (const auto& c : cases) {
        std::map<std::string, RunRmSeen> seen;
        for (const auto& rt : runtimes) {
            if (rt == "ctk" && ctk_hung) {
                ADD_FAILURE() << c.name << ": not run with ctk (an earlier docker run --runtime ctk timed out)";
                continue;
            }
            std::string name = "rm-" + c.name + "-" + rt;
            std::vector<std::string> args = {"run", "--rm", "--name", name, "--cidfile", cidfile(name),
                                             "--network", "none", "--runtime", rt, image()};
            args.insert(args.end(), c.command.begin(), c.command.end());
            DockerResult r = docker(args);
            std::string id = read_id_file(cidfile(name));
            daemon_.ids.insert(id);
            if (r.timed_out) rescue(id);
            RunRmSeen& s = seen[rt];
            s.status = r.status;
            s.timed_out = r.timed_out;
            s.out = r.out;
            s.err = r.err;
            s.leftovers = remove_container(name, id);
            if (rt == "ctk" && r.timed_out) ctk_hung = true;
        }
        if (!seen.count("ctk")) continue;
        const RunRmSeen &runc = seen["runc"], &ctk = seen["ctk"];
        EXPECT_EQ(runc.status, c.expected) << "control (runc), " << c.name << ":\n" << runc.err;
        EXPECT_FALSE(ctk.timed_out) << c.name << ": docker run --runtime ctk timed out\n" << ctk.err;
        EXPECT_EQ(ctk.status, runc.status) << c.name << ": runc's docker run exited " << runc.status
                                           << ", ctk's " << ctk.status << "\nctk stderr:\n" << ctk.err
                                           << "\nrunc stderr:\n" << runc.err;
        if (!c.out.empty()) {
            EXPECT_EQ(trimmed(runc.out), c.out) << "control (runc), " << c.name;
            EXPECT_EQ(trimmed(ctk.out), trimmed(runc.out)) << c.name << ": stdout";
        }
        if (!c.error.empty()) {
            // runc fails `create` with the reason, which docker prints; a runtime
            // whose process exits 127/126 after `start` leaves the user no reason.
            EXPECT_NE(runc.err.find(c.error), std::string::npos) << "control (runc), " << c.name << ":\n" << runc.err;
            EXPECT_NE(ctk.err.find(c.error), std::string::npos)
                << c.name << ": docker run --runtime ctk does not say \"" << c.error << "\" as with runc:\n"
                << runc.err << "ctk's stderr:\n" << ctk.err;
        }
        EXPECT_TRUE(runc.leftovers.empty()) << "control (runc), " << c.name << " left: " << joined(runc.leftovers);
        EXPECT_TRUE(ctk.leftovers.empty()) << c.name << ": ctk left: " << joined(ctk.leftovers);
    }
}

// ---------------------------------------------------------------------------
// run -d, logs, stop -t 2 (the shell traps SIGTERM), start, restart -t 2, kill.

struct LifecycleSeen {
    Failure failure;
    bool logs_seen = false;
    std::string status_after_run;
    double stop_seconds = -1;
    std::string status_after_stop;
    int exit_after_stop = -1;
    std::string status_after_start;
    bool start_changed_started_at = false;
    std::string status_after_restart;
    bool restart_changed_started_at = false;
    std::string restart_count;
    std::string status_after_kill;
    int exit_after_kill = -1;
    std::vector<std::string> leftovers;
};

LifecycleSeen lifecycle(const std::string& rt, const std::string& image) {
    LifecycleSeen s;
    std::string name = "life-" + rt;
    DockerResult r = docker({"run", "-d", "--name", name, "--network", "none", "--runtime", rt, image, "sh", "-c",
                             "trap 'exit 0' TERM; echo hello-logs; while :; do sleep 1; done"});
    std::string id = trimmed(r.out);
    if (r.status != 0 || id.size() != 64) {
        Inspect i = inspect(name);
        id = i.id;
        daemon_.ids.insert(id);
        if (r.timed_out) rescue(id);
        s.failure.set("docker run -d", r);
        s.leftovers = remove_container(name, id);
        return s;
    }
    daemon_.ids.insert(id);
    auto step = [&](const std::string& what, const std::vector<std::string>& args, int timeout_s = docker_timeout_s) {
        DockerResult x = docker(args, timeout_s);
        if (x.timed_out) rescue(id);
        if (x.status != 0) s.failure.set(what, x);
        return x.status == 0;
    };
    [&] {
        s.logs_seen = eventually([&] {
            DockerResult l = docker({"logs", name});
            return l.status == 0 && l.out.find("hello-logs") != std::string::npos;
        });
        if (!s.logs_seen) s.failure.set("docker logs never showed hello-logs");
        Inspect i0 = inspect(name);
        s.status_after_run = i0.status;

        auto t0 = Clock::now();
        if (!step("docker stop -t 2", {"stop", "-t", "2", name})) return;
        s.stop_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        Inspect i1 = inspect(name);
        s.status_after_stop = i1.status;
        s.exit_after_stop = i1.exit_code;

        if (!step("docker start", {"start", name})) return;
        Inspect i2 = await_status(name, "running", 5000ms);
        s.status_after_start = i2.status;
        s.start_changed_started_at = i2.ok && i2.started_at != i0.started_at;

        if (!step("docker restart -t 2", {"restart", "-t", "2", name})) return;
        Inspect i3 = await_status(name, "running", 5000ms);
        s.status_after_restart = i3.status;
        s.restart_changed_started_at = i3.ok && i3.started_at != i2.started_at;
        s.restart_count = i3.restart_count;

        if (!step("docker kill", {"kill", name})) return;
        Inspect i4 = await_status(name, "exited");
        s.status_after_kill = i4.status;
        s.exit_after_kill = i4.exit_code;
    }();
    s.leftovers = remove_container(name, id);
    return s;
}

TEST_F(DockerdPeer, DetachedStopStartRestartKillLogs) {
    std::map<std::string, LifecycleSeen> seen;
    for (const auto& rt : runtimes) seen[rt] = lifecycle(rt, image());
    const LifecycleSeen &runc = seen["runc"], &ctk = seen["ctk"];
    ASSERT_FALSE(runc.failure.failed()) << "control (runc): " << runc.failure.what;
    EXPECT_TRUE(runc.logs_seen);
    EXPECT_EQ(runc.status_after_run, "running");
    EXPECT_LT(runc.stop_seconds, 10.0);
    EXPECT_EQ(runc.status_after_stop, "exited");
    EXPECT_EQ(runc.exit_after_stop, 0);
    EXPECT_EQ(runc.status_after_start, "running");
    EXPECT_TRUE(runc.start_changed_started_at);
    EXPECT_EQ(runc.status_after_restart, "running");
    EXPECT_TRUE(runc.restart_changed_started_at);
    EXPECT_EQ(runc.status_after_kill, "exited");
    EXPECT_EQ(runc.exit_after_kill, 137);
    EXPECT_TRUE(runc.leftovers.empty()) << "control (runc) left: " << joined(runc.leftovers);

    EXPECT_FALSE(ctk.failure.failed()) << ctk.failure.what;
    EXPECT_TRUE(ctk.logs_seen) << "docker logs of the -d container";
    EXPECT_EQ(ctk.status_after_run, runc.status_after_run);
    EXPECT_GE(ctk.stop_seconds, 0.0) << "docker stop -t 2 did not complete";
    EXPECT_LT(ctk.stop_seconds, 10.0) << "docker stop -t 2 took " << ctk.stop_seconds << " s (runc: "
                                      << runc.stop_seconds << " s)";
    EXPECT_EQ(ctk.status_after_stop, runc.status_after_stop);
    EXPECT_EQ(ctk.exit_after_stop, runc.exit_after_stop) << "exit code after docker stop (SIGTERM trapped)";
    EXPECT_EQ(ctk.status_after_start, runc.status_after_start) << "after docker start";
    EXPECT_EQ(ctk.start_changed_started_at, runc.start_changed_started_at) << "StartedAt after docker start";
    EXPECT_EQ(ctk.status_after_restart, runc.status_after_restart) << "after docker restart";
    EXPECT_EQ(ctk.restart_changed_started_at, runc.restart_changed_started_at) << "StartedAt after docker restart";
    EXPECT_EQ(ctk.restart_count, runc.restart_count) << "RestartCount";
    EXPECT_EQ(ctk.status_after_kill, runc.status_after_kill) << "after docker kill";
    EXPECT_EQ(ctk.exit_after_kill, runc.exit_after_kill) << "exit code after docker kill";
    EXPECT_TRUE(ctk.leftovers.empty()) << "ctk left: " << joined(ctk.leftovers);
}

// ---------------------------------------------------------------------------
// docker run -it under a pty: the process sees a /dev/pts terminal, its exit
// code comes back.

struct TtySeen {
    int status = -1;
    bool timed_out = false;
    std::string pts, out;
    std::vector<std::string> leftovers;
};

TEST_F(DockerdPeer, RunInteractiveUnderPty) {
    std::map<std::string, TtySeen> seen;
    for (const auto& rt : runtimes) {
        std::string name = "tty-" + rt;
        DockerResult r = docker_in_pty({"run", "--rm", "-it", "--name", name, "--cidfile", cidfile(name), "--network",
                                        "none", "--runtime", rt, image(), "sh", "-c", "tty; exit 4"});
        std::string id = read_id_file(cidfile(name));
        daemon_.ids.insert(id);
        if (r.timed_out) rescue(id);
        TtySeen& s = seen[rt];
        s.status = r.status;
        s.timed_out = r.timed_out;
        s.out = r.out + r.err;
        s.pts = pts_path(r.out);
        s.leftovers = remove_container(name, id);
    }
    const TtySeen &runc = seen["runc"], &ctk = seen["ctk"];
    ASSERT_EQ(runc.status, 4) << "control (runc):\n" << runc.out;
    ASSERT_FALSE(runc.pts.empty()) << "control (runc) printed no /dev/pts path:\n" << runc.out;
    EXPECT_TRUE(runc.leftovers.empty()) << "control (runc) left: " << joined(runc.leftovers);
    EXPECT_FALSE(ctk.timed_out) << "docker run -it --runtime ctk timed out:\n" << ctk.out;
    EXPECT_EQ(ctk.status, runc.status) << ctk.out;
    EXPECT_FALSE(ctk.pts.empty()) << "`tty` printed no /dev/pts path:\n" << ctk.out;
    EXPECT_TRUE(ctk.leftovers.empty()) << "ctk left: " << joined(ctk.leftovers);
}

// ---------------------------------------------------------------------------
// docker exec (plain, and -it under a pty) in a running container.

struct ExecSeen {
    Failure failure;
    int plain_status = -1;
    std::string plain_out;
    int tty_status = -1;
    std::string tty_pts, tty_out;
    std::string status_after;
    std::vector<std::string> leftovers;
};

TEST_F(DockerdPeer, ExecAndExecInteractiveUnderPty) {
    std::map<std::string, ExecSeen> seen;
    for (const auto& rt : runtimes) {
        ExecSeen& s = seen[rt];
        std::string name = "exec-" + rt;
        DockerResult r = docker({"run", "-d", "--name", name, "--network", "none", "--runtime", rt, image(), "sleep",
                                 "1000"});
        std::string id = r.status == 0 ? trimmed(r.out) : inspect(name).id;
        daemon_.ids.insert(id);
        if (r.timed_out) rescue(id);
        [&] {
            if (r.status != 0) return s.failure.set("docker run -d", r);
            DockerResult e = docker({"exec", name, "sh", "-c", "echo in-exec; exit 5"});
            s.plain_status = e.status;
            s.plain_out = trimmed(e.out);
            if (e.timed_out) {
                rescue(id);
                return s.failure.set("docker exec", e);
            }
            DockerResult t = docker_in_pty({"exec", "-it", name, "sh", "-c", "tty; exit 3"});
            s.tty_status = t.status;
            s.tty_out = t.out + t.err;
            s.tty_pts = pts_path(t.out);
            if (t.timed_out) {
                rescue(id);
                return s.failure.set("docker exec -it", t);
            }
            s.status_after = inspect(name).status;
        }();
        s.leftovers = remove_container(name, id);
    }
    const ExecSeen &runc = seen["runc"], &ctk = seen["ctk"];
    ASSERT_FALSE(runc.failure.failed()) << "control (runc): " << runc.failure.what;
    EXPECT_EQ(runc.plain_status, 5);
    EXPECT_EQ(runc.plain_out, "in-exec");
    EXPECT_EQ(runc.tty_status, 3) << runc.tty_out;
    EXPECT_FALSE(runc.tty_pts.empty()) << runc.tty_out;
    EXPECT_EQ(runc.status_after, "running");
    EXPECT_TRUE(runc.leftovers.empty()) << "control (runc) left: " << joined(runc.leftovers);

    EXPECT_FALSE(ctk.failure.failed()) << ctk.failure.what;
    EXPECT_EQ(ctk.plain_status, runc.plain_status) << "docker exec's exit code";
    EXPECT_EQ(ctk.plain_out, runc.plain_out) << "docker exec's stdout";
    EXPECT_EQ(ctk.tty_status, runc.tty_status) << "docker exec -it's exit code:\n" << ctk.tty_out;
    EXPECT_FALSE(ctk.tty_pts.empty()) << "docker exec -it: `tty` printed no /dev/pts path:\n" << ctk.tty_out;
    EXPECT_EQ(ctk.status_after, runc.status_after) << "the container after the execs";
    EXPECT_TRUE(ctk.leftovers.empty()) << "ctk left: " << joined(ctk.leftovers);
}

// ---------------------------------------------------------------------------
// docker update --memory 64m --memory-swap 64m of a running container: the
// runtime's `update --resources -` writes the cgroup.

struct UpdateSeen {
    Failure failure;
    std::string limit_before;
    long long memory = -1, memory_swap = -1;
    std::string limit, memsw_limit;
    std::string status_after;
    std::vector<std::string> leftovers;
};

TEST_F(DockerdPeer, UpdateMemoryOfRunningContainer) {
    std::map<std::string, UpdateSeen> seen;
    for (const auto& rt : runtimes) {
        UpdateSeen& s = seen[rt];
        std::string name = "upd-" + rt;
        DockerResult r = docker({"run", "-d", "--name", name, "--network", "none", "--runtime", rt, image(), "sleep",
                                 "1000"});
        std::string id = r.status == 0 ? trimmed(r.out) : inspect(name).id;
        daemon_.ids.insert(id);
        if (r.timed_out) rescue(id);
        if (r.status != 0) {
            s.failure.set("docker run -d", r);
        } else {
            s.limit_before = cgroup_file("memory", id, "memory.limit_in_bytes");
            DockerResult u = docker({"update", "--memory", "64m", "--memory-swap", "64m", name});
            if (u.timed_out) rescue(id);
            if (u.status != 0) s.failure.set("docker update", u);
            Inspect i = inspect(name);
            s.memory = i.memory;
            s.memory_swap = i.memory_swap;
            s.status_after = i.status;
            s.limit = cgroup_file("memory", id, "memory.limit_in_bytes");
            s.memsw_limit = cgroup_file("memory", id, "memory.memsw.limit_in_bytes");
        }
        s.leftovers = remove_container(name, id);
    }
    const UpdateSeen &runc = seen["runc"], &ctk = seen["ctk"];
    ASSERT_FALSE(runc.failure.failed()) << "control (runc): " << runc.failure.what;
    EXPECT_EQ(runc.memory, 67108864);
    EXPECT_EQ(runc.memory_swap, 67108864);
    EXPECT_EQ(runc.limit, "67108864");
    EXPECT_EQ(runc.memsw_limit, "67108864");
    EXPECT_EQ(runc.status_after, "running");
    EXPECT_TRUE(runc.leftovers.empty()) << "control (runc) left: " << joined(runc.leftovers);

    EXPECT_FALSE(ctk.failure.failed()) << ctk.failure.what;
    EXPECT_EQ(ctk.limit_before, runc.limit_before) << "memory.limit_in_bytes before the update";
    EXPECT_EQ(ctk.memory, runc.memory) << "HostConfig.Memory";
    EXPECT_EQ(ctk.memory_swap, runc.memory_swap) << "HostConfig.MemorySwap";
    EXPECT_EQ(ctk.limit, runc.limit) << "/sys/fs/cgroup/memory/docker/<id>/memory.limit_in_bytes";
    EXPECT_EQ(ctk.memsw_limit, runc.memsw_limit) << "memory.memsw.limit_in_bytes";
    EXPECT_EQ(ctk.status_after, runc.status_after) << "the container after the update";
    EXPECT_TRUE(ctk.leftovers.empty()) << "ctk left: " << joined(ctk.leftovers);
}

// ---------------------------------------------------------------------------
// docker pause / unpause: State.Paused and the freezer cgroup.

struct PauseSeen {
    Failure failure;
    std::string status_paused, freezer_paused;
    bool paused = false;
    std::string status_unpaused, freezer_unpaused;
    bool paused_after_unpause = true;
    int exec_after_unpause = -1;
    std::vector<std::string> leftovers;
};

TEST_F(DockerdPeer, PauseUnpause) {
    std::map<std::string, PauseSeen> seen;
    for (const auto& rt : runtimes) {
        PauseSeen& s = seen[rt];
        std::string name = "pause-" + rt;
        DockerResult r = docker({"run", "-d", "--name", name, "--network", "none", "--runtime", rt, image(), "sleep",
                                 "1000"});
        std::string id = r.status == 0 ? trimmed(r.out) : inspect(name).id;
        daemon_.ids.insert(id);
        if (r.timed_out) rescue(id);
        [&] {
            if (r.status != 0) return s.failure.set("docker run -d", r);
            DockerResult p = docker({"pause", name});
            if (p.timed_out) rescue(id);
            if (p.status != 0) return s.failure.set("docker pause", p);
            Inspect i = inspect(name);
            s.status_paused = i.status;
            s.paused = i.paused;
            s.freezer_paused = cgroup_file("freezer", id, "freezer.state");
            DockerResult u = docker({"unpause", name});
            if (u.timed_out) rescue(id);
            if (u.status != 0) return s.failure.set("docker unpause", u);
            Inspect j = inspect(name);
            s.status_unpaused = j.status;
            s.paused_after_unpause = j.paused;
            s.freezer_unpaused = cgroup_file("freezer", id, "freezer.state");
            DockerResult e = docker({"exec", name, "true"});
            if (e.timed_out) rescue(id);
            s.exec_after_unpause = e.status;
        }();
        s.leftovers = remove_container(name, id);
    }
    const PauseSeen &runc = seen["runc"], &ctk = seen["ctk"];
    ASSERT_FALSE(runc.failure.failed()) << "control (runc): " << runc.failure.what;
    EXPECT_EQ(runc.status_paused, "paused");
    EXPECT_TRUE(runc.paused);
    EXPECT_EQ(runc.freezer_paused, "FROZEN");
    EXPECT_EQ(runc.status_unpaused, "running");
    EXPECT_FALSE(runc.paused_after_unpause);
    EXPECT_EQ(runc.freezer_unpaused, "THAWED");
    EXPECT_EQ(runc.exec_after_unpause, 0);
    EXPECT_TRUE(runc.leftovers.empty()) << "control (runc) left: " << joined(runc.leftovers);

    EXPECT_FALSE(ctk.failure.failed()) << ctk.failure.what;
    EXPECT_EQ(ctk.status_paused, runc.status_paused) << "State.Status after docker pause";
    EXPECT_EQ(ctk.paused, runc.paused) << "State.Paused after docker pause";
    EXPECT_EQ(ctk.freezer_paused, runc.freezer_paused) << "freezer.state after docker pause";
    EXPECT_EQ(ctk.status_unpaused, runc.status_unpaused) << "State.Status after docker unpause";
    EXPECT_EQ(ctk.paused_after_unpause, runc.paused_after_unpause) << "State.Paused after docker unpause";
    EXPECT_EQ(ctk.freezer_unpaused, runc.freezer_unpaused) << "freezer.state after docker unpause";
    EXPECT_EQ(ctk.exec_after_unpause, runc.exec_after_unpause) << "docker exec after unpause";
    EXPECT_TRUE(ctk.leftovers.empty()) << "ctk left: " << joined(ctk.leftovers);
}

// ---------------------------------------------------------------------------
// A memory limit that the process outgrows: the kernel's OOM killer ends it,
// docker reports State.OOMKilled and exit code 137 (the shim watches the
// memory cgroup's OOM events).

struct OomSeen {
    int status = -1;
    bool timed_out = false;
    std::string err;
    bool inspected = false;
    bool oom_killed = false;
    int exit_code = -1;
    std::vector<std::string> leftovers;
};

TEST_F(DockerdPeer, MemoryLimitOomKill) {
    std::map<std::string, OomSeen> seen;
    for (const auto& rt : runtimes) {
        OomSeen& s = seen[rt];
        std::string name = "oom-" + rt;
        DockerResult r = docker({"run", "--name", name, "--cidfile", cidfile(name), "-m", "32m", "--memory-swap",
                                 "32m", "--network", "none", "--runtime", rt, image(), "sh", "-c",
                                 "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"});
        std::string id = read_id_file(cidfile(name));
        daemon_.ids.insert(id);
        if (r.timed_out) rescue(id);
        s.status = r.status;
        s.timed_out = r.timed_out;
        s.err = r.out + r.err;
        Inspect i = await_status(name, "exited", 5000ms);
        s.inspected = i.ok;
        s.oom_killed = i.oom_killed;
        s.exit_code = i.exit_code;
        s.leftovers = remove_container(name, id);
    }
    const OomSeen &runc = seen["runc"], &ctk = seen["ctk"];
    ASSERT_EQ(runc.status, 137) << "control (runc):\n" << runc.err;
    EXPECT_TRUE(runc.oom_killed);
    EXPECT_EQ(runc.exit_code, 137);
    EXPECT_TRUE(runc.leftovers.empty()) << "control (runc) left: " << joined(runc.leftovers);

    EXPECT_FALSE(ctk.timed_out) << "docker run -m 32m --runtime ctk timed out:\n" << ctk.err;
    EXPECT_EQ(ctk.status, runc.status) << "docker run's exit code:\n" << ctk.err;
    EXPECT_TRUE(ctk.inspected) << "the container was not there to inspect";
    EXPECT_EQ(ctk.oom_killed, runc.oom_killed) << "State.OOMKilled";
    EXPECT_EQ(ctk.exit_code, runc.exit_code) << "State.ExitCode";
    EXPECT_TRUE(ctk.leftovers.empty()) << "ctk left: " << joined(ctk.leftovers);
}

} // namespace
} // namespace ctk::test
