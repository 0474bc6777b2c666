// ns-run: an OCI runtime with runc's command line (man ns-run.8).
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "container/protected_exe.hpp"
#include "container/runtime.hpp"
#include "core/cli.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/process.hpp"
#include "store/paths.hpp"

using namespace ctk;
using namespace ctk::container;

namespace {

// The verb, found before parsing: run, create and exec must first make sure
// the binary they run is protected (CVE-2019-5736), before any other work.
const char* find_verb(int argc, char** argv) {
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (a[0] != '-') return a;
        if (std::strchr(a, '=')) continue;
        for (const char* takes_value : {"--root", "--log", "--log-format", "--criu", "--rootless"})
            if (std::strcmp(a, takes_value) == 0) i++;
    }
    return "";
}

std::string table(const Json& list) {
    std::string out = "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n";
    for (const auto& c : list)
        out += c.value("id", "") + "\t" + std::to_string(c.value("pid", 0)) + "\t" + c.value("status", "") + "\t" +
               c.value("bundle", "") + "\t" + c.value("created", "") + "\t" + c.value("owner", "") + "\n";
    return out;
}

std::string ps_table(const std::vector<pid_t>& pids) {
    std::string out = "PID\tCMD\n";
    for (pid_t p : pids) {
        std::string cmd;
        if (auto c = read_file_if_exists("/proc/" + std::to_string(p) + "/cmdline", 1 << 16)) {
            for (char& ch : *c)
                if (ch == '\0') ch = ' ';
            cmd = std::string(trim(*c));
        }
        out += std::to_string(p) + "\t" + cmd + "\n";
    }
    return out;
}

// runc update's flags; set ones override the --resources file.
struct UpdateFlags {
    std::string memory, memory_swap, memory_reservation, kernel_memory, kernel_memory_tcp;
    std::optional<uint64_t> cpu_shares, cpu_period, cpu_rt_period, blkio_weight;
    std::optional<int64_t> cpu_quota, cpu_rt_runtime, pids_limit;
    std::string cpuset_cpus, cpuset_mems, l3_cache_schema, mem_bw_schema;
};

// Sizes as runc reads them (docker's units.RAMInBytes): 64m, 1g, 512k, bytes; -1.
int64_t parse_bytes(const std::string& flag, const std::string& text) {
    if (text == "-1") return -1;
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) digits++;
    auto n = parse_uint(std::string_view(text).substr(0, digits));
    std::string unit = to_lower(text.substr(digits));
    if (!unit.empty() && unit.back() == 'b') unit.pop_back();
    if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();
    const std::string units = "kmgtp";
    uint64_t mult = 1;
    if (unit.size() == 1 && units.find(unit[0]) != std::string::npos)
        for (size_t i = 0; i <= units.find(unit[0]); i++) mult *= 1024;
    else if (!unit.empty()) n.reset();
    if (!n || *n > static_cast<uint64_t>(INT64_MAX) / mult)
        throw Error(flag + ": invalid size " + quote(text), ErrorKind::usage);
    return static_cast<int64_t>(*n * mult);
}

// Go durations as runc's --interval takes them: 5s, 500ms, 1m, 1.5s.
int parse_duration_ms(const std::string& text) {
    size_t end = 0;
    double v = 0;
    try {
        v = std::stod(text, &end);
    } catch (const std::exception&) {
        end = 0;
    }
    std::string unit = text.substr(end);
    double ms = unit == "ms" ? v : unit == "s" ? v * 1000 : unit == "m" ? v * 60000 : unit == "h" ? v * 3600000 : -1;
    if (end == 0 || ms < 1 || ms > 86400000.0)
        throw Error("--interval: invalid duration " + quote(text), ErrorKind::usage);
    return static_cast<int>(ms);
}

void merge_update_flags(const UpdateFlags& f, Json& r) {
    if (!f.l3_cache_schema.empty() || !f.mem_bw_schema.empty())
        throw Error("update: Intel RDT is not supported", ErrorKind::usage);
    auto bytes = [&](const char* flag, const std::string& v, const char* key) {
        if (!v.empty()) r["memory"][key] = parse_bytes(flag, v);
    };
    bytes("--memory", f.memory, "limit");
    bytes("--memory-swap", f.memory_swap, "swap");
    bytes("--memory-reservation", f.memory_reservation, "reservation");
    bytes("--kernel-memory", f.kernel_memory, "kernel");
    bytes("--kernel-memory-tcp", f.kernel_memory_tcp, "kernelTCP");
    if (f.cpu_shares) r["cpu"]["shares"] = *f.cpu_shares;
    if (f.cpu_period) r["cpu"]["period"] = *f.cpu_period;
    if (f.cpu_quota) r["cpu"]["quota"] = *f.cpu_quota;
    if (f.cpu_rt_period) r["cpu"]["realtimePeriod"] = *f.cpu_rt_period;
    if (f.cpu_rt_runtime) r["cpu"]["realtimeRuntime"] = *f.cpu_rt_runtime;
    if (!f.cpuset_cpus.empty()) r["cpu"]["cpus"] = f.cpuset_cpus;
    if (!f.cpuset_mems.empty()) r["cpu"]["mems"] = f.cpuset_mems;
    if (f.pids_limit) r["pids"]["limit"] = *f.pids_limit;
    if (f.blkio_weight) r["blockIO"]["weight"] = *f.blkio_weight;
}

} // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], monitor_verb) == 0) return monitor_main(argc, argv);
    // Writes to a hook or a peer that went away are errors, not a reason to die.
    ::signal(SIGPIPE, SIG_IGN);
    std::string verb = find_verb(argc, argv);
    if (verb == "run" || verb == "create" || verb == "exec") {
        try {
            ensure_protected_exe(argv);
        } catch (const Error& e) {
            report_error("ns-run", e.what());
            return exit_code(e.kind());
        }
    }

    CLI::App app("ns-run: run OCI bundles as runc does (see man ns-run)", "ns-run");
    app.set_version_flag("--version", std::string("ns-run ") + CTK_VERSION);
    app.require_subcommand(1);
    std::string root, log_file, log_format = "text", rootless, criu;
    bool debug = false, systemd_cgroup = false;
    app.add_option("--root", root, "state directory (default $CTK_RUN/runtime)");
    app.add_option("--log", log_file, "also write messages to this file");
    app.add_option("--log-format", log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", debug, "debug messages");
    app.add_flag("--systemd-cgroup", systemd_cgroup, "not supported (cgroupfs only)");
    app.add_option("--rootless", rootless, "accepted for runc compatibility");
    app.add_option("--criu", criu, "accepted for runc compatibility");

    CreateOptions copts;
    bool detach = false, keep = false, no_new_keyring = false, no_subreaper = false;
    auto add_create = [&](CLI::App* c) {
        c->add_option("-b,--bundle", copts.bundle, "bundle directory (default .)");
        c->add_option("--console-socket", copts.console_socket, "UNIX socket that receives the pty master");
        c->add_option("--pid-file", copts.pid_file, "write the container process's pid here");
        c->add_option("--preserve-fds", copts.preserve_fds, "pass fds 3..3+N-1 to the container");
        c->add_option("--stdio-log", copts.stdio_log, "write stdout/stderr to FILE in Docker's json-file format");
        c->add_flag("--init", copts.init, "run a minimal init as pid 1 (reaps zombies, forwards signals)");
        c->add_flag("--no-pivot", copts.no_pivot, "move the rootfs to / and chroot instead of pivot_root (a ramfs root)");
        c->add_flag("--no-new-keyring", no_new_keyring, "keep the caller's session keyring (default: a new one, _ses.ID)");
        c->add_flag("--monitor", copts.monitor,
                    "create, run -d: a monitor of ns-run's stays the process's parent, records its exit and "
                    "writes --stdio-log (for callers without a shim; default: the caller's subreaper adopts it, as with runc)");
        c->add_option("id", copts.id, "container ID")->required();
    };
    auto* create = app.add_subcommand("create", "create a container (its process waits for start)");
    add_create(create);
    auto* run = app.add_subcommand("run", "create and start a container, wait for it unless -d");
    add_create(run);
    run->add_flag("-d,--detach", detach, "return once started (the caller, or --monitor, waits for the container)");
    run->add_flag("--keep", keep, "keep the stopped container's state (foreground)");
    run->add_flag("--no-subreaper", no_subreaper, "accepted for runc compatibility");

    std::string id;
    auto* start = app.add_subcommand("start", "run the process of a created container");
    start->add_option("id", id)->required();
    auto* state = app.add_subcommand("state", "print the container's OCI state (JSON)");
    state->add_option("id", id)->required();
    std::string signal = "SIGTERM";
    bool all = false, force = false;
    auto* kill = app.add_subcommand("kill", "send a signal (default SIGTERM) to the container");
    kill->add_flag("-a,--all", all, "to every process of the container");
    kill->add_option("id", id)->required();
    kill->add_option("signal", signal);
    auto* del = app.add_subcommand("delete", "delete a stopped container");
    del->add_flag("-f,--force", force, "kill it first if it runs");
    del->add_option("id", id)->required();
    std::string format = "table";
    bool quiet = false;
    auto* list = app.add_subcommand("list", "list containers");
    list->add_option("-f,--format", format)->check(CLI::IsMember({"table", "json"}));
    list->add_flag("-q,--quiet", quiet, "IDs only");
    auto* ps = app.add_subcommand("ps", "processes of a container");
    ps->add_option("-f,--format", format)->check(CLI::IsMember({"table", "json"}));
    ps->add_option("id", id)->required();
    auto* pause = app.add_subcommand("pause", "freeze every process of the container");
    pause->add_option("id", id)->required();
    auto* resume = app.add_subcommand("resume", "thaw a paused container");
    resume->add_option("id", id)->required();
    auto* features = app.add_subcommand("features", "what this runtime supports (JSON)");
    std::string resources_file, interval = "5s";
    UpdateFlags uflags;
    auto* update = app.add_subcommand("update", "change the resource limits of a running container");
    update->add_option("-r,--resources", resources_file, "a runtime-spec linux.resources JSON file ('-': stdin)");
    update->add_option("--memory", uflags.memory, "memory limit (bytes; k, m, g suffixes)");
    update->add_option("--memory-swap", uflags.memory_swap, "memory+swap limit; -1: unlimited swap");
    update->add_option("--memory-reservation", uflags.memory_reservation, "memory soft limit");
    update->add_option("--kernel-memory", uflags.kernel_memory, "kernel memory limit (v1)");
    update->add_option("--kernel-memory-tcp", uflags.kernel_memory_tcp, "kernel TCP buffer limit (v1)");
    update->add_option("--cpu-share", uflags.cpu_shares, "CPU shares (relative weight)");
    update->add_option("--cpu-period", uflags.cpu_period, "CFS period (us)");
    update->add_option("--cpu-quota", uflags.cpu_quota, "CFS quota (us) per period");
    update->add_option("--cpu-rt-period", uflags.cpu_rt_period, "realtime period (us)");
    update->add_option("--cpu-rt-runtime", uflags.cpu_rt_runtime, "realtime runtime (us) per period");
    update->add_option("--cpuset-cpus", uflags.cpuset_cpus, "CPUs to use");
    update->add_option("--cpuset-mems", uflags.cpuset_mems, "memory nodes to use");
    update->add_option("--pids-limit", uflags.pids_limit, "maximum number of processes");
    update->add_option("--blkio-weight", uflags.blkio_weight, "block IO weight (10-1000)");
    update->add_option("--l3-cache-schema", uflags.l3_cache_schema, "Intel RDT (not supported)");
    update->add_option("--mem-bw-schema", uflags.mem_bw_schema, "Intel RDT (not supported)");
    update->add_option("id", id)->required();
    bool stats_once = false;
    auto* events = app.add_subcommand("events", "stats and OOM events of a container (JSON lines)");
    events->add_option("--interval", interval, "time between stats events (Go duration: 5s, 500ms)");
    events->add_flag("--stats", stats_once, "print the stats once and exit");
    events->add_option("id", id)->required();
    auto* wait = app.add_subcommand("wait", "wait until the container stops; print its exit code (JSON)");
    wait->add_option("id", id)->required();

    ExecOptions eopts;
    std::vector<std::string> exec_words;
    auto* exec = app.add_subcommand("exec", "run a process in a running container");
    exec->add_option("-p,--process", eopts.process_file, "process.json (runtime-spec process object)");
    exec->add_flag("-t,--tty", eopts.tty, "allocate a pty");
    exec->add_flag("-d,--detach", eopts.detach, "do not wait for the process");
    exec->add_option("--pid-file", eopts.pid_file);
    exec->add_option("-e,--env", eopts.env, "K=V (repeatable)")->allow_extra_args(false);
    exec->add_option("--cwd", eopts.cwd);
    exec->add_option("-u,--user", eopts.user, "uid[:gid]");
    exec->add_option("-g,--additional-gids", eopts.additional_gids)->allow_extra_args(false);
    exec->add_option("-c,--cap", eopts.caps, "add a capability (repeatable)")->allow_extra_args(false);
    exec->add_flag("--no-new-privs", eopts.no_new_privs);
    exec->add_flag("--ignore-paused", eopts.ignore_paused);
    exec->add_option("--apparmor", eopts.apparmor);
    exec->add_option("--process-label", eopts.process_label);
    exec->add_option("--console-socket", eopts.console_socket);
    exec->add_option("--preserve-fds", eopts.preserve_fds);
    exec->add_option("id", eopts.id)->required();
    exec->add_option("command", exec_words, "the command and its arguments");
    exec->positionals_at_end();

    return cli_main("ns-run", app, argc, argv, [&]() -> int {
        RuntimeLog log(log_file, log_format == "json", debug);
        try {
            if (systemd_cgroup)
                throw Error("--systemd-cgroup: the systemd cgroup driver is not supported", ErrorKind::usage);
            store::Paths paths = store::Paths::from_env();
            if (root.empty()) root = paths.runtime_state();
            Runtime rt(root, log, paths.run + "/seccomp-cache");
            copts.new_keyring = !no_new_keyring;
            // As runc: a unit of Type=notify hears the container's READY=1.
            const char* notify = std::getenv("NOTIFY_SOCKET");
            if (notify) copts.notify_socket = notify;
            if (*create) {
                rt.create(copts);
            } else if (*run) {
                return rt.run(copts, detach, keep);
            } else if (*start) {
                rt.start(id, copts.notify_socket);
            } else if (*state) {
                print_json(rt.state(id));
            } else if (*kill) {
                rt.kill(id, linux::parse_signal(signal), all);
            } else if (*del) {
                rt.remove(id, force);
            } else if (*list) {
                Json l = rt.list();
                if (quiet) {
                    for (const auto& c : l) std::printf("%s\n", c.value("id", "").c_str());
                } else if (format == "json") {
                    print_json(l);
                } else {
                    std::fputs(table(l).c_str(), stdout);
                }
            } else if (*ps) {
                auto pids = rt.ps(id);
                if (format == "json") print_json(pids);
                else std::fputs(ps_table(pids).c_str(), stdout);
            } else if (*pause) {
                rt.pause(id);
            } else if (*resume) {
                rt.resume(id);
            } else if (*features) {
                print_json(Runtime::features());
            } else if (*update) {
                Json resources = Json::object();
                if (!resources_file.empty()) {
                    std::string text = resources_file == "-" ? read_fd(0) : read_file(resources_file);
                    resources = parse_json(text, resources_file == "-" ? "resources on stdin" : resources_file);
                }
                merge_update_flags(uflags, resources);
                rt.update(id, resources);
            } else if (*events) {
                rt.events(id, parse_duration_ms(interval), stats_once, [](const Json& e) {
                    std::string line = dump_compact(e) + "\n";
                    std::fputs(line.c_str(), stdout);
                    std::fflush(stdout);
                });
            } else if (*wait) {
                print_json(rt.wait(id));
            } else if (*exec) {
                if (!exec_words.empty() && exec_words.front() == "--") exec_words.erase(exec_words.begin());
                eopts.args = exec_words;
                return rt.exec(eopts);
            }
            return 0;
        } catch (const Error& e) {
            log.error(e.what());
            throw;
        }
    });
}
