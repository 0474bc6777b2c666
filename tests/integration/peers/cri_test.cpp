// Kubernetes' interface to ctk: containerd 1.6's CRI plugin runs pods with
// ns-run as the runc runtime's binary and net-bridge as the CNI plugin; the
// same flow with runc and the reference CNI bridge plugin (host-local IPAM) is
// the control, and the two runs' results are compared.
//
// Each flow starts a containerd of its own (root, state, gRPC socket, runtime
// state Root under the test's directory; proxies pointed at a closed loopback
// port so that it can never reach out) with a CRI configuration: the sandbox
// image is a one-layer pause image the test makes from the fixture busybox
// image and pushes to the loopback registry, which is a plain-HTTP mirror; the
// CNI bin_dir holds symlinks to the plugins, conf_dir one conflist. The CRI
// client is tests/integration/peers/cri/cri_client.py (Debian's python3-grpcio,
// stubs generated at test time from cri/api.proto, our own minimal copy of
// the CRI v1 API), which runs two pods with two containers each and the
// probes, and prints JSON; this file checks it and the host: shared pod netns,
// the pods' cgroups, veths on the bridge, mounts, and that nothing (mount,
// netns, veth, cgroup, process, runtime state, address, rule) is left after
// the pods are stopped and removed.
//
// Subnets: 10.233.0.0/16 for net-bridge, 10.234.0.0/16 for the reference
// bridge; traffic only between the test's own pods.
#include "core/fs.hpp"
#include "core/lock.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "tool_test.hpp"

#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ctk::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* const kPython = "/usr/bin/python3";
const char* const kRunc = "/usr/sbin/runc";
const char* const kCniDir = "/usr/lib/cni";
const std::vector<std::string> kPods = {"a", "b"};
const std::vector<std::string> kContainers = {"a-client", "a-server", "b-client", "b-server"};

struct Flow {
    std::string tag;         // names the flow's directory and bridge
    std::string runtime;     // the runc runtime's BinaryName
    bool net_bridge = false; // net-bridge as the CNI plugin, else the reference bridge
};

struct FlowResult {
    Json up, down;     // what cri_client.py printed
    Json during;       // host facts while the pods run
    Json after;        // host facts after stop and remove
    Json summary;      // the facts both runtimes must agree on
    std::string log;   // containerd's log, for failure messages
    std::string trace; // the runtime's calls (CTK_CRI_TRACE=DIR)
};

// j[k1][k2]... that neither throws nor inserts: null when a step is missing.
const Json& at(const Json& j, std::initializer_list<std::string> path) {
    static const Json null;
    const Json* p = &j;
    for (const auto& k : path) {
        if (!p->is_object() || !p->contains(k)) return null;
        p = &(*p)[k];
    }
    return *p;
}

// j.value(key, def), but def when j is no object or the value has another type.
template <class T> T get(const Json& j, const std::string& key, T def) {
    const Json& v = at(j, {key});
    if (v.is_null()) return def;
    try {
        return v.get<T>();
    } catch (const std::exception&) {
        return def;
    }
}
std::string get(const Json& j, const std::string& key, const char* def) {
    return get(j, key, std::string(def));
}

void drop(Json& j, const std::string& key) {
    if (j.is_object()) j.erase(key);
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

ino_t inode_of(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Alive and not a zombie.
bool process_alive(int pid) {
    if (pid <= 0) return false;
    auto stat = read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return false;
    auto close = stat->rfind(')');
    return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] != 'Z';
}

// Pids whose command line contains `needle`.
std::vector<int> pids_with_cmdline(const std::string& needle) {
    std::vector<int> pids;
    for (const auto& e : fs::directory_iterator("/proc")) {
        auto pid = parse_uint(e.path().filename().string());
        if (!pid || static_cast<int>(*pid) == ::getpid()) continue;
        auto cmd = read_file_if_exists(e.path().string() + "/cmdline");
        if (!cmd) continue;
        std::replace(cmd->begin(), cmd->end(), '\0', ' ');
        if (cmd->find(needle) != std::string::npos && process_alive(static_cast<int>(*pid)))
            pids.push_back(static_cast<int>(*pid));
    }
    return pids;
}

bool cgroup_v2() {
    return exists("/sys/fs/cgroup/cgroup.controllers");
}

// The directory of a cgroup path in the memory hierarchy (v1) or the unified one.
std::string cgroup_dir(const std::string& path) {
    return (cgroup_v2() ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory") + path;
}

// The cgroup of a process in that hierarchy, from /proc/PID/cgroup.
std::string cgroup_of(int pid) {
    auto text = read_file_if_exists("/proc/" + std::to_string(pid) + "/cgroup");
    if (!text) return "";
    for (const auto& line : split(*text, '\n')) {
        auto f = split(line, ':');
        if (f.size() < 3) continue;
        bool match = false;
        if (cgroup_v2()) {
            match = f[0] == "0";
        } else {
            for (const auto& c : split(f[1], ','))
                match = match || c == "memory";
        }
        if (match) return f[2];
    }
    return "";
}

// Every cgroup directory named `top` and below, deepest first, in every hierarchy.
std::vector<std::string> cgroup_tree(const std::string& top) {
    std::vector<std::string> dirs;
    std::vector<std::string> roots;
    if (cgroup_v2()) {
        roots.push_back("/sys/fs/cgroup");
    } else {
        for (const auto& e : fs::directory_iterator("/sys/fs/cgroup"))
            if (e.is_directory() && !e.is_symlink()) roots.push_back(e.path().string());
    }
    for (const auto& r : roots) {
        std::string base = r + top;
        if (!exists(base)) continue;
        std::vector<std::string> found = {base};
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(base, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_directory()) found.push_back(it->path().string());
        std::sort(found.begin(), found.end(),
                  [](const auto& x, const auto& y) { return x.size() > y.size(); });
        dirs.insert(dirs.end(), found.begin(), found.end());
    }
    return dirs;
}

// Normalised CRI log: "<stream> <tag> <text>" per line, sorted (stdout and
// stderr lines written at once may come in either order); a line that is not
// `<RFC3339Nano> <stream> <P|F> <text>` is kept whole with a "bad: " prefix.
std::vector<std::string> log_lines(const Json& text) {
    static const std::regex line_re(
        R"(^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})) (stdout|stderr) ([PF]) (.*)$)");
    std::vector<std::string> out;
    if (!text.is_string()) return {"bad: " + text.dump()};
    for (const auto& line : split(text.get<std::string>(), '\n')) {
        if (line.empty()) continue;
        std::smatch m;
        if (std::regex_match(line, m, line_re))
            out.push_back(m[4].str() + " " + m[5].str() + " " + m[6].str());
        else
            out.push_back("bad: " + line);
    }
    std::sort(out.begin(), out.end());
    return out;
}

class CriPeer : public ToolTest {
protected:
    void SetUp() override {
        ToolTest::SetUp();
        CTK_REQUIRE_ROOT();
        for (const char* p :
             {"containerd", "containerd-shim-runc-v2", "skopeo", "umoci", "ip", "nft"})
            if (!have_program(p)) GTEST_SKIP() << p << " missing";
        if (::access(kRunc, X_OK) != 0) GTEST_SKIP() << "runc missing";
        if (::access((std::string(kCniDir) + "/bridge").c_str(), X_OK) != 0)
            GTEST_SKIP() << "containernetworking-plugins missing";
        auto py = run_command({kPython, "-c", "import grpc, grpc_tools.protoc"});
        if (py.status != 0)
            GTEST_SKIP() << "python3-grpcio / python3-grpc-tools missing: " << py.err;
        // One run of this program at a time on the machine: its subnets are fixed.
        static FileLock* lock = new FileLock("/run/ctk-test-peers-cri.lock");
        (void)lock;
        unique_ = random_hex(2);
        cgroup_parent_ = "/ctk-cri-" + unique_;
        defer([this] {
            for (const auto& d : cgroup_tree(cgroup_parent_))
                ::rmdir(d.c_str());
        });
        make_pause_image();
    }

    // A one-layer image from the fixture busybox whose entrypoint sleeps
    // forever, pushed as <registry>/ctk-test/pause:<unique>; deleted at the end.
    void make_pause_image() {
        std::string layout = tmp() + "/pause-layout";
        std::string src = "docker://" + registry() + "/tiny:latest";
        auto r = run_command(
            {"skopeo", "copy", "-q", "--src-tls-verify=false", src, "oci:" + layout + ":latest"});
        ASSERT_EQ(r.status, 0) << "fixture image " << src << " not in the registry?\n" << r;
        r = run_command({"umoci", "config", "--image", layout + ":latest", "--tag", "pause",
                         "--clear=config.cmd", "--config.entrypoint", "/bin/sleep",
                         "--config.entrypoint", "2147483647"});
        ASSERT_EQ(r.status, 0) << r;
        pause_image_ = registry() + "/ctk-test/pause:" + unique_;
        r = run_command({"skopeo", "copy", "-q", "--dest-tls-verify=false",
                         "oci:" + layout + ":pause", "docker://" + pause_image_});
        ASSERT_EQ(r.status, 0) << r;
        defer([this] {
            run_command({"skopeo", "delete", "--tls-verify=false", "docker://" + pause_image_});
        });
    }

    std::string client_script() const {
        return source_dir() + "/tests/integration/peers/cri/cri_client.py";
    }

    ToolResult cri(const std::string& socket, const std::vector<std::string>& args) {
        std::vector<std::string> argv = {kPython, client_script(), "--socket",  socket,
                                         "--gen", tmp() + "/gen",  "--timeout", "30"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv);
    }

    // containerd in the background, its own session, output to `log`.
    int start_daemon(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                     const std::string& log) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        SpawnAttr attr(POSIX_SPAWN_SETSID);
        std::vector<char*> av, ev;
        for (const auto& a : argv)
            av.push_back(const_cast<char*>(a.c_str()));
        av.push_back(nullptr);
        for (const auto& e : env)
            ev.push_back(const_cast<char*>(e.c_str()));
        ev.push_back(nullptr);
        pid_t pid = -1;
        int rc = ::posix_spawnp(&pid, argv[0].c_str(), &fa, attr.get(), av.data(), ev.data());
        posix_spawn_file_actions_destroy(&fa);
        EXPECT_EQ(rc, 0) << "cannot start " << argv[0];
        return rc == 0 ? pid : -1;
    }

    static void stop_daemon(int pid) {
        if (pid <= 0) return;
        ::kill(pid, SIGTERM);
        for (int i = 0; i < 300; ++i) {
            if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
            std::this_thread::sleep_for(50ms);
        }
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }

    // rules whose comment names the network: "ctk network <id12> on <bridge>"
    // (or "ctk network <id12>", as net-bridge wrote them before)
    int count_ctk_rules(const std::string& comment) {
        auto r = run_command({"nft", "list", "table", "ip", "ctk"});
        int n = 0;
        for (const auto& line : split(r.out, '\n'))
            if (line.find("comment \"" + comment + "\"") != std::string::npos ||
                line.find("comment \"" + comment + " on ") != std::string::npos)
                ++n;
        return n;
    }

    FlowResult run_flow(const Flow& flow);
    void check_flow(const Flow& flow, FlowResult r);
    static void compare(const FlowResult& control, const FlowResult& ours);

    std::string unique_;
    std::string cgroup_parent_;
    std::string pause_image_;
};

FlowResult CriPeer::run_flow(const Flow& flow) {
    FlowResult res;
    const std::string dir = tmp() + "/" + flow.tag;
    const std::string sock = dir + "/containerd.sock";
    const std::string runtime_root = dir + "/rr";
    const std::string subnet = flow.net_bridge ? "10.233.0.0/16" : "10.234.0.0/16";
    const std::string gateway = flow.net_bridge ? "10.233.0.1" : "10.234.0.1";
    const std::string bridge = std::string("ctkcri-") + (flow.net_bridge ? "n" : "r") + unique_;
    const std::string network = "ctk-cri-" + flow.tag + "-" + unique_;
    const std::string cgroup_parent = cgroup_parent_ + "/" + flow.tag;
    for (const char* d : {"root", "state", "rr", "cni-bin", "cni-conf", "logs", "host-local", "opt",
                          "ctk-root", "ctk-run"})
        make_dirs(dir + "/" + d);

    // CNI: the plugins by symlink, one conflist.
    std::vector<std::string> plugins = {"loopback"};
    Json plugin = {
        {"bridge", bridge},
        {"isGateway", true},
        {"ipMasq", false},
        {"hairpinMode", true},
        {"ipam", {{"subnet", subnet}, {"routes", Json::array({Json{{"dst", "0.0.0.0/0"}}})}}}};
    if (flow.net_bridge) {
        fs::create_symlink(fs::absolute(tool_path("net-bridge")), dir + "/cni-bin/net-bridge");
        plugin["type"] = "net-bridge";
    } else {
        plugins.push_back("bridge");
        plugins.push_back("host-local");
        plugin["type"] = "bridge";
        plugin["ipam"]["type"] = "host-local";
        plugin["ipam"]["dataDir"] = dir + "/host-local";
    }
    for (const auto& p : plugins)
        fs::create_symlink(std::string(kCniDir) + "/" + p, dir + "/cni-bin/" + p);
    Json conflist = {
        {"cniVersion", "1.0.0"}, {"name", network}, {"plugins", Json::array({plugin})}};
    write_file_atomic(dir + "/cni-conf/10-ctk-test.conflist", conflist.dump(2));
    // net-bridge's store and configuration (it inherits containerd's environment).
    // CNI mode never makes the default network; were it asked to, its subnet
    // would overlap the CNI network's and be refused.
    write_file_atomic(
        dir + "/ctk.json",
        R"({"network":{"default_subnet":"10.233.255.0/30","default_bridge":"ctkcri-d)" + unique_ +
            R"(","dns":[]}})");
    const std::vector<std::string> nb_env = {"CTK_ROOT=" + dir + "/ctk-root",
                                             "CTK_RUN=" + dir + "/ctk-run",
                                             "CTK_CONFIG=" + dir + "/ctk.json"};

    std::string config = R"(version = 2
root = "@DIR@/root"
state = "@DIR@/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "@DIR@/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "@DIR@/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "@PAUSE@"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "@RUNTIME@"
        Root = "@DIR@/rr"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "@DIR@/cni-bin"
    conf_dir = "@DIR@/cni-conf"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."@REGISTRY@"]
    endpoint = ["http://@REGISTRY@"]
)";
    auto subst = [&](const std::string& key, const std::string& value) {
        for (auto p = config.find(key); p != std::string::npos;
             p = config.find(key, p + value.size()))
            config.replace(p, key.size(), value);
    };
    subst("@DIR@", dir);
    subst("@PAUSE@", pause_image_);
    // CTK_CRI_TRACE=DIR: the shim runs the runtime through a script that logs
    // every call, its exit status and the tail of its --log file to
    // DIR/<flow>.runtime.log; containerd's log and the container logs are
    // copied to DIR at the end of the flow.
    std::string runtime = flow.runtime;
    const char* trace_env = std::getenv("CTK_CRI_TRACE");
    std::string trace_dir = trace_env && *trace_env == '/' ? trace_env : "";
    if (!trace_dir.empty()) {
        make_dirs(trace_dir);
        runtime = dir + "/runtime-trace.sh";
        std::string log = trace_dir + "/" + flow.tag + ".runtime.log";
        write_file_atomic(log, "");
        write_file_atomic(runtime,
                          "#!/bin/sh\nlog=; prev=\nfor a in \"$@\"; do [ \"$prev\" = --log ] && "
                          "log=$a; prev=$a; done\n"
                          "echo \"$(date +%T.%N) [$$] $*\" >>" +
                              log + "\n" + flow.runtime +
                              " \"$@\"\nrc=$?\n"
                              "echo \"$(date +%T.%N) [$$] rc=$rc\" >>" +
                              log +
                              "\n"
                              "[ -n \"$log\" ] && [ -s \"$log\" ] && tail -n 3 \"$log\" | sed "
                              "'s/^/    log: /' >>" +
                              log + "\nexit $rc\n",
                          0755);
        defer([this, dir, trace_dir, flow] {
            run_command({"sh", "-c",
                         "cp " + dir + "/containerd.log " + trace_dir + "/" + flow.tag +
                             ".containerd.log; cd " + dir + "/logs && for f in */*.log; do cp $f " +
                             trace_dir + "/" + flow.tag + ".$(echo $f | tr / .); done"});
        });
    }
    subst("@RUNTIME@", runtime);
    subst("@REGISTRY@", registry());
    write_file_atomic(dir + "/config.toml", config);

    // Clean-ups, run in reverse: the last registered runs first.
    // 4. Whatever is left once containerd is gone: runtime state, processes in
    //    the flow's cgroups, the netns, the bridge and the network.
    auto netns_paths = std::make_shared<std::set<std::string>>();
    defer(
        [this, flow, dir, runtime_root, cgroup_parent, netns_paths, bridge, network, nb_env, sock] {
            std::string ns_root = runtime_root + "/k8s.io";
            if (exists(ns_root))
                for (const auto& e : fs::directory_iterator(ns_root))
                    run_command({flow.runtime, "--root", ns_root, "delete", "--force",
                                 e.path().filename().string()});
            for (const auto& d : cgroup_tree(cgroup_parent))
                if (auto procs = read_file_if_exists(d + "/cgroup.procs"))
                    for (const auto& p : split(*procs, '\n'))
                        if (auto pid = parse_uint(trim(p)))
                            ::kill(static_cast<pid_t>(*pid), SIGKILL);
            for (int pid : pids_with_cmdline(sock))
                ::kill(pid, SIGKILL);
            // The pods' netns: those the flow saw, and any containerd logged (a
            // pod whose RunPodSandbox failed or hung is in no result).
            static const std::regex netns_re(R"(/var/run/netns/cni-[0-9a-f-]+)");
            std::string log = read_file_if_exists(dir + "/containerd.log").value_or("");
            for (std::sregex_iterator it(log.begin(), log.end(), netns_re), end; it != end; ++it)
                netns_paths->insert(it->str());
            for (const auto& ns : *netns_paths)
                if (exists(ns))
                    run_command({"ip", "netns", "del", fs::path(ns).filename().string()});
            if (flow.net_bridge) run_command({tool_path("net-bridge"), "rm", network}, "", nb_env);
            run_command({"ip", "link", "del", bridge});
            run_command({"ip", "link", "del", "ctkcri-d" + unique_});
        });
    // 3. containerd itself.
    std::vector<std::string> env = {
        "HTTP_PROXY=http://127.0.0.1:9",
        "HTTPS_PROXY=http://127.0.0.1:9",
        "http_proxy=http://127.0.0.1:9",
        "https_proxy=http://127.0.0.1:9",
        "NO_PROXY=127.0.0.1",
        "no_proxy=127.0.0.1",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    env.insert(env.end(), nb_env.begin(), nb_env.end());
    int daemon =
        start_daemon({"containerd", "--config", dir + "/config.toml", "--log-level", "debug"},
                     tool_env(env), dir + "/containerd.log");
    auto daemon_pid = std::make_shared<int>(daemon);
    defer([daemon_pid] { stop_daemon(std::exchange(*daemon_pid, -1)); });
    // 2. Best effort through CRI: stop and remove every pod of this test.
    defer([this, sock] {
        cri(sock, {"--timeout", "20", "cleanup", "--label", "ctk-test=" + unique_});
    });

    auto version = [&] {
        for (int i = 0; i < 100; ++i) {
            if (exists(sock)) {
                auto v = cri(sock, {"version"});
                if (v.status == 0 && v.json().contains("runtime_api_version")) return v.json();
            }
            std::this_thread::sleep_for(100ms);
        }
        return Json();
    }();
    res.log = read_file_if_exists(dir + "/containerd.log").value_or("");
    if (version.is_null()) {
        ADD_FAILURE() << "containerd did not answer on " << sock << "\n" << res.log;
        return res;
    }

    // Up: pods, containers, probes.
    Json spec = {{"unique", unique_},
                 {"image", registry() + "/tiny:latest"},
                 {"log_root", dir + "/logs"},
                 {"cgroup_parent", cgroup_parent}};
    write_file_atomic(dir + "/spec.json", spec.dump());
    auto up = cri(sock, {"up", "--spec", dir + "/spec.json", "--state", dir + "/state.json"});
    EXPECT_EQ(up.status, 0) << up;
    res.up = up.json();
    for (const auto& pod : kPods)
        if (auto ns = get(res.up["pods"][pod], "netns", ""); !ns.empty()) netns_paths->insert(ns);

    // The host while the pods run.
    Json& d = res.during;
    d["bridge"] = exists("/sys/class/net/" + bridge);
    d["bridge_gateway"] =
        run_command({"ip", "-4", "-o", "addr", "show", "dev", bridge}).out.find(gateway + "/16") !=
        std::string::npos;
    std::set<ino_t> pod_netns;
    for (const auto& pod : kPods) {
        Json& p = res.up["pods"][pod];
        std::string ns = get(p, "netns", "");
        Json& f = d["pods"][pod];
        f["netns_is_cni"] = ns.rfind("/var/run/netns/cni-", 0) == 0;
        f["netns_exists"] = !ns.empty() && exists(ns);
        ino_t ino = ns.empty() ? 0 : inode_of(ns);
        pod_netns.insert(ino);
        // Every process of the pod (sandbox, server, client) in the pod's netns.
        std::vector<int> pids = {get(p, "pid", 0)};
        for (const char* c : {"-server", "-client"})
            pids.push_back(get(res.up["containers"][pod + c]["status"], "pid", 0));
        bool shared = ino != 0;
        for (int pid : pids)
            shared = shared && inode_of("/proc/" + std::to_string(pid) + "/ns/net") == ino;
        f["netns_shared"] = shared;
        // The host ends of the veths, on the bridge.
        std::vector<std::string> veths;
        for (auto& [name, i] : p["cni_interfaces"].items())
            if (get(i, "sandbox", "").empty() && name != bridge) veths.push_back(name);
        f["veth_count"] = veths.size();
        bool on_bridge = !veths.empty();
        for (const auto& v : veths) {
            std::error_code ec;
            auto master = fs::read_symlink("/sys/class/net/" + v + "/master", ec);
            on_bridge = on_bridge && !ec && master.filename() == bridge;
        }
        f["veths_on_bridge"] = on_bridge;
        res.after["veths"][pod] = veths; // checked again after removal
        f["ip_in_subnet"] = get(p, "ip", "").rfind(gateway.substr(0, 7), 0) == 0;
    }
    d["pods_distinct_netns"] = pod_netns.size() == kPods.size() && !pod_netns.count(0);
    // The bridge's MAC (the gateway's, as the pods see it) stays the same as
    // pods join: both CNI results name the MAC the bridge still has.
    {
        std::string now(
            trim(read_file_if_exists("/sys/class/net/" + bridge + "/address").value_or("")));
        std::string ma = get(at(res.up, {"pods", "a", "cni_interfaces", bridge}), "mac", "");
        std::string mb = get(at(res.up, {"pods", "b", "cni_interfaces", bridge}), "mac", "");
        d["bridge_mac_stable"] = !now.empty() && ma == now && mb == now;
    }
    // cgroups: the runtime put each process in the cgroup CRI asked for.
    std::map<std::string, std::string> leaves; // id -> cgroup path
    for (const auto& pod : kPods) {
        Json& p = res.up["pods"][pod];
        leaves[get(p, "id", "")] = cgroup_parent + "/pod-" + pod + "/" + get(p, "id", "");
        for (const char* c : {"-server", "-client"}) {
            Json& ct = res.up["containers"][pod + c];
            leaves[get(ct, "id", "")] = cgroup_parent + "/pod-" + pod + "/" + get(ct, "id", "");
        }
    }
    bool cgroups = true, in_cgroup = true, rootfs = true;
    auto mountinfo = read_file("/proc/self/mountinfo");
    for (const auto& [id, path] : leaves) {
        cgroups = cgroups && !id.empty() && exists(cgroup_dir(path));
        rootfs = rootfs && mountinfo.find(dir + "/state/io.containerd.runtime.v2.task/k8s.io/" +
                                          id + "/rootfs") != std::string::npos;
    }
    for (const auto& key : kContainers) {
        Json& ct = res.up["containers"][key];
        in_cgroup =
            in_cgroup && cgroup_of(get(ct["status"], "pid", 0)) == leaves[get(ct, "id", "")];
    }
    d["cgroups_exist"] = cgroups;
    d["processes_in_their_cgroups"] = in_cgroup;
    d["rootfs_mounted"] = rootfs;
    // No iptables NAT rule for the subnet (ipMasq false; net-bridge uses nftables).
    {
        auto nat = run_command({"sh", "-c", "iptables -t nat -S 2>/dev/null || true"});
        int n = 0;
        for (const auto& line : split(nat.out, '\n'))
            n += line.find(subnet.substr(0, 7)) != std::string::npos;
        d["iptables_nat_rules"] = n;
    }
    std::string network_id;
    if (flow.net_bridge) {
        if (auto rec = read_file_if_exists(dir + "/ctk-root/networks/" + network + ".json")) {
            Json n = Json::parse(*rec);
            network_id = get(n, "id", "").substr(0, 12);
            d["ctk_network_source"] = get(n, "source", "");
            d["ctk_endpoints"] = n["endpoints"].size();
        }
        d["ctk_rules"] = network_id.empty() ? 0 : count_ctk_rules("ctk network " + network_id);
    }

    // Down: stop and remove everything.
    auto down = cri(sock, {"down", "--state", dir + "/state.json"});
    EXPECT_EQ(down.status, 0) << down;
    res.down = down.json();

    // The host after removal. The shims exit on their own shortly after.
    Json& a = res.after;
    for (int i = 0; i < 100 && !pids_with_cmdline(sock).empty(); ++i)
        std::this_thread::sleep_for(100ms);
    a["shims"] = pids_with_cmdline(sock).size();
    bool netns_gone = true, veths_gone = true, cgroups_gone = true, pids_gone = true,
         mounts_gone = true;
    for (const auto& ns : *netns_paths)
        netns_gone = netns_gone && !exists(ns);
    for (const auto& pod : kPods)
        for (const auto& v : a["veths"][pod])
            veths_gone = veths_gone && !exists("/sys/class/net/" + v.get<std::string>());
    for (const auto& [id, path] : leaves)
        cgroups_gone = cgroups_gone && !exists(cgroup_dir(path));
    for (const auto& pod : kPods) {
        pids_gone = pids_gone && !process_alive(get(res.up["pods"][pod], "pid", 0));
        for (const char* c : {"-server", "-client"})
            pids_gone =
                pids_gone && !process_alive(get(res.up["containers"][pod + c]["status"], "pid", 0));
    }
    mountinfo = read_file("/proc/self/mountinfo");
    for (const auto& [id, path] : leaves)
        mounts_gone = mounts_gone && mountinfo.find(id) == std::string::npos;
    a["netns_gone"] = netns_gone;
    a["veths_gone"] = veths_gone;
    a["cgroups_gone"] = cgroups_gone;
    a["processes_gone"] = pids_gone;
    a["mounts_gone"] = mounts_gone;
    std::vector<std::string> state_left;
    if (exists(runtime_root + "/k8s.io"))
        for (const auto& e : fs::directory_iterator(runtime_root + "/k8s.io"))
            state_left.push_back(e.path().filename());
    a["runtime_state_left"] = state_left;
    // Addresses given back: host-local's reservation files, net-bridge's endpoints.
    if (flow.net_bridge) {
        if (auto rec = read_file_if_exists(dir + "/ctk-root/networks/" + network + ".json"))
            a["addresses_left"] = Json::parse(*rec)["endpoints"].size();
        a["ctk_rules_after_del"] =
            network_id.empty() ? -1 : count_ctk_rules("ctk network " + network_id);
    } else {
        size_t left = 0;
        if (exists(dir + "/host-local/" + network))
            for (const auto& e : fs::directory_iterator(dir + "/host-local/" + network)) {
                auto name = e.path().filename().string();
                left += name != "lock" && name.rfind("last_reserved_ip", 0) != 0;
            }
        a["addresses_left"] = left;
    }
    // Both plugins keep the bridge after the last DEL; removing it is the
    // network owner's job (net-bridge rm, or ip link del for the reference).
    a["bridge_after_del"] = exists("/sys/class/net/" + bridge);
    if (flow.net_bridge) {
        auto rm = run_command({tool_path("net-bridge"), "rm", network}, "", nb_env);
        EXPECT_EQ(rm.status, 0) << rm;
        a["ctk_rules_after_rm"] =
            network_id.empty() ? -1 : count_ctk_rules("ctk network " + network_id);
    } else {
        run_command({"ip", "link", "del", bridge});
    }
    a["bridge_after_rm"] = exists("/sys/class/net/" + bridge);

    // containerd stops; nothing of it is mounted any more.
    stop_daemon(std::exchange(*daemon_pid, -1));
    res.log = read_file_if_exists(dir + "/containerd.log").value_or("");
    if (!trace_dir.empty())
        res.trace = read_file_if_exists(trace_dir + "/" + flow.tag + ".runtime.log").value_or("");
    {
        int n = 0;
        for (const auto& line : split(read_file("/proc/self/mountinfo"), '\n'))
            n += line.find(" " + dir + "/") != std::string::npos;
        a["mounts_under_dir"] = n;
    }
    a["processes_of_socket"] = pids_with_cmdline(sock).size();

    // The facts both runtimes must agree on.
    Json& s = res.summary;
    s["runtime_api_version"] = get(res.up["version"], "runtime_api_version", "");
    s["up_errors"] = res.up["errors"];
    s["down_errors"] = res.down["errors"];
    for (const auto& pod : kPods) {
        s["pod_state"][pod] = get(res.up["pods"][pod], "state", "");
        s["pod_state_after_stop"][pod] = get(res.down["pods"][pod], "state", "");
        s["pod_after_remove"][pod] = get(res.down["pods"][pod], "status_after_remove", "");
        s["pod_remove_again"][pod] = get(res.down["pods"][pod], "remove_again", "");
        s["pod_stop_after_remove"][pod] = get(res.down["pods"][pod], "stop_after_remove", "");
        s["localhost"][pod] = res.up["localhost"][pod];
        drop(s["localhost"][pod], "seconds");
    }
    for (const auto& dir_name : {"a->b", "b->a"}) {
        s["cross"][dir_name] = res.up["cross"][dir_name];
        drop(s["cross"][dir_name], "seconds");
    }
    for (const auto& key : kContainers) {
        Json& c = res.up["containers"][key];
        s["containers"][key] = {
            {"created", get(c, "created_state", "")},
            {"running", get(c["status"], "state", "")},
            {"started", get(c["status"], "started", false)},
            {"log_path", fs::path(get(c["status"], "log_path", "")).filename().string()},
            {"stopped", get(res.down["stopped"][key], "state", "")},
            {"exit_code", get(res.down["stopped"][key], "exit_code", -1)},
            {"reason", get(res.down["stopped"][key], "reason", "")},
            {"stop_in_grace", get(res.down["stop"][key], "seconds", 99.0) < 8.0},
            {"log", log_lines(res.down["logs"][key])}};
        Json& st = res.up["stats"][key];
        s["stats"][key] = {{"cpu", get(st, "has_cpu", false) &&
                                       get(st, "cpu_usage_core_nano_seconds", uint64_t{0}) > 0},
                           {"memory", get(st, "has_memory", false) &&
                                          get(st, "memory_working_set_bytes", uint64_t{0}) > 0},
                           {"timestamps", get(st, "cpu_timestamp", int64_t{0}) > 0 &&
                                              get(st, "memory_timestamp", int64_t{0}) > 0}};
    }
    for (const char* e : {"output", "hostname", "env"}) {
        s["exec"][e] = res.up["exec"][e];
        drop(s["exec"][e], "seconds");
    }
    s["exec"]["eth0_has_pod_ip"] =
        get(res.up["exec"]["eth0"], "stdout", "")
            .find(get(res.up["pods"]["a"], "ip", "?") + "/16") != std::string::npos;
    s["exec"]["missing_program"] =
        res.up["exec"]["missing"].contains("error")
            ? get(res.up["exec"]["missing"]["error"], "code", "")
            : "exit " + std::to_string(get(res.up["exec"]["missing"], "exit_code", -1));
    s["exec"]["timeout"] = res.up["exec"]["timeout"].contains("error")
                               ? get(res.up["exec"]["timeout"]["error"], "code", "")
                               : "no error";
    s["exec"]["timeout_in_time"] = get(res.up["exec"]["timeout"], "seconds", 99.0) < 10.0;
    s["list"] = res.up["list"];
    s["containers_left"] = res.down["containers_left"];
    s["pods_left"] = res.down["pods_left"];
    s["host_during"] = d;
    drop(s["host_during"], "ctk_rules");
    drop(s["host_during"], "ctk_network_source");
    drop(s["host_during"], "ctk_endpoints");
    s["host_after"] = a;
    drop(s["host_after"], "veths");
    drop(s["host_after"], "ctk_rules_after_del");
    drop(s["host_after"], "ctk_rules_after_rm");
    return res;
}

// What every flow must show, whatever the runtime and plugin.
void CriPeer::check_flow(const Flow& flow, FlowResult r) {
    SCOPED_TRACE(flow.tag);
    Json& s = r.summary;
    auto tail = [&] { return r.log.size() > 6000 ? r.log.substr(r.log.size() - 6000) : r.log; };
    EXPECT_EQ(s["runtime_api_version"], "v1");
    EXPECT_EQ(s["up_errors"], Json::array()) << r.up.dump(1) << "\ncontainerd log (tail):\n"
                                             << tail() << "\nruntime calls (CTK_CRI_TRACE=DIR):\n"
                                             << r.trace;
    EXPECT_EQ(s["down_errors"], Json::array()) << r.down.dump(1) << "\ncontainerd log (tail):\n"
                                               << tail();
    if (!r.up["errors"].empty()) return; // the rest would only repeat the first error
    for (const auto& pod : kPods) {
        SCOPED_TRACE("pod " + pod);
        EXPECT_EQ(s["pod_state"][pod], "SANDBOX_READY");
        EXPECT_EQ(s["pod_state_after_stop"][pod], "SANDBOX_NOTREADY");
        EXPECT_EQ(s["pod_after_remove"][pod], "NOT_FOUND");
        EXPECT_EQ(s["pod_remove_again"][pod], "OK");
        // The client reaches the server beside it on localhost: one netns per pod.
        EXPECT_EQ(get(s["localhost"][pod], "stdout", ""), "hello-from-pod-" + pod + "\n")
            << s["localhost"][pod];
        EXPECT_EQ(get(s["localhost"][pod], "exit_code", -1), 0);
        for (const char* k :
             {"netns_is_cni", "netns_exists", "netns_shared", "veths_on_bridge", "ip_in_subnet"})
            EXPECT_EQ(s["host_during"]["pods"][pod][k], true)
                << k << ": " << r.up["pods"][pod].dump();
        EXPECT_EQ(s["host_during"]["pods"][pod]["veth_count"], 1);
    }
    // Pod a <-> pod b by the addresses PodSandboxStatus gave, through the bridge.
    EXPECT_EQ(get(s["cross"]["a->b"], "stdout", ""), "hello-from-pod-b\n") << s["cross"];
    EXPECT_EQ(get(s["cross"]["b->a"], "stdout", ""), "hello-from-pod-a\n") << s["cross"];
    EXPECT_NE(get(at(r.up, {"pods", "a"}), "ip", ""), get(at(r.up, {"pods", "b"}), "ip", ""));
    for (const char* k : {"bridge", "bridge_gateway", "bridge_mac_stable", "pods_distinct_netns",
                          "cgroups_exist", "processes_in_their_cgroups", "rootfs_mounted"})
        EXPECT_EQ(s["host_during"][k], true) << k;
    EXPECT_EQ(s["host_during"]["iptables_nat_rules"], 0);
    // ExecSync: output, exit code, the pod's hostname and the container's env.
    EXPECT_EQ(s["exec"]["output"],
              (Json{{"stdout", "out-line\n"}, {"stderr", "err-line\n"}, {"exit_code", 3}}));
    EXPECT_EQ(get(s["exec"]["hostname"], "stdout", ""), "pod-a\n");
    EXPECT_EQ(get(s["exec"]["env"], "stdout", ""), "a\n");
    EXPECT_EQ(s["exec"]["eth0_has_pod_ip"], true) << r.up["exec"]["eth0"];
    EXPECT_EQ(s["exec"]["timeout"], "DEADLINE_EXCEEDED");
    EXPECT_EQ(s["exec"]["timeout_in_time"], true);
    EXPECT_EQ(s["list"], (Json{"client:CONTAINER_RUNNING", "client:CONTAINER_RUNNING",
                               "server:CONTAINER_RUNNING", "server:CONTAINER_RUNNING"}));
    for (const auto& key : kContainers) {
        SCOPED_TRACE(key);
        Json& c = s["containers"][key];
        bool server = key.find("server") != std::string::npos;
        EXPECT_EQ(c["created"], "CONTAINER_CREATED");
        EXPECT_EQ(c["running"], "CONTAINER_RUNNING");
        EXPECT_EQ(c["started"], true);
        EXPECT_EQ(c["log_path"], server ? "server.log" : "client.log");
        EXPECT_EQ(c["stopped"], "CONTAINER_EXITED");
        // SIGTERM reached the shell's trap: exit 0 within the grace period.
        EXPECT_EQ(c["exit_code"], 0);
        EXPECT_EQ(c["reason"], "Completed");
        EXPECT_EQ(c["stop_in_grace"], true) << r.down["stop"][key];
        // The CRI log: "<RFC3339Nano> <stream> F <line>".
        Json want =
            server ? Json{"stderr F server-stderr", "stdout F server-ready", "stdout F server-term"}
                   : Json{"stdout F client-ready", "stdout F client-term"};
        EXPECT_EQ(c["log"], want) << r.down["logs"][key];
        EXPECT_EQ(s["stats"][key], (Json{{"cpu", true}, {"memory", true}, {"timestamps", true}}))
            << r.up["stats"][key];
    }
    EXPECT_EQ(s["containers_left"], Json::array());
    EXPECT_EQ(s["pods_left"], Json::array());
    // Nothing left on the host.
    Json& a = s["host_after"];
    for (const char* k :
         {"netns_gone", "veths_gone", "cgroups_gone", "processes_gone", "mounts_gone"})
        EXPECT_EQ(a[k], true) << k;
    EXPECT_EQ(a["shims"], 0);
    EXPECT_EQ(a["runtime_state_left"], Json::array());
    EXPECT_EQ(a["addresses_left"], 0);
    EXPECT_EQ(a["bridge_after_del"], true);
    EXPECT_EQ(a["bridge_after_rm"], false);
    EXPECT_EQ(a["mounts_under_dir"], 0);
    EXPECT_EQ(a["processes_of_socket"], 0);
    if (flow.net_bridge) {
        EXPECT_EQ(r.during["ctk_network_source"], "cni");
        EXPECT_EQ(r.during["ctk_endpoints"], 2);
        EXPECT_GT(get(r.during, "ctk_rules", 0), 0);
        // After the last DEL the network and its rules stay (like the
        // reference plugin's bridge) until `net-bridge rm`.
        EXPECT_EQ(r.after["ctk_rules_after_del"], r.during["ctk_rules"]);
        EXPECT_EQ(r.after["ctk_rules_after_rm"], 0);
    }
}

// Key by key, so that a difference names what differs.
void CriPeer::compare(const FlowResult& control, const FlowResult& ours) {
    for (auto& [key, value] : control.summary.items()) {
        if (!value.is_object()) {
            EXPECT_EQ(at(ours.summary, {key}), value) << "differs from the control: " << key;
            continue;
        }
        for (auto& [k2, v2] : value.items())
            EXPECT_EQ(at(ours.summary, {key, k2}), v2)
                << "differs from the control: " << key << "." << k2;
    }
}

// The results of the control run, kept for the other tests of this program.
FlowResult& control_result() {
    static FlowResult r;
    return r;
}

const Flow kControl{"runc-ref", kRunc, false};

TEST_F(CriPeer, RuncWithTheReferenceBridgePlugin) {
    FlowResult r = run_flow(kControl);
    check_flow(kControl, r);
    control_result() = r;
}

// net-bridge as containerd's CNI plugin, with runc: the network half alone.
TEST_F(CriPeer, RuncWithNetBridgeAsTheCniPlugin) {
    Flow flow{"runc-nb", kRunc, true};
    FlowResult r = run_flow(flow);
    check_flow(flow, r);
    if (control_result().summary.is_null()) control_result() = run_flow(kControl);
    compare(control_result(), r);
}

TEST_F(CriPeer, NsRunWithNetBridge) {
    Flow flow{"nsrun-nb", fs::absolute(tool_path("ns-run")).string(), true};
    FlowResult r = run_flow(flow);
    check_flow(flow, r);
    if (control_result().summary.is_null()) control_result() = run_flow(kControl);
    compare(control_result(), r);
}

} // namespace
} // namespace ctk::test
