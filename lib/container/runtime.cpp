#include "container/runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "container/channel.hpp"
#include "container/foreground.hpp"
#include "container/init.hpp"
#include "container/monitor.hpp"
#include "container/notify.hpp"
#include "container/process.hpp"
#include "container/rootfs.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/capability.hpp"
#include "linux/cgroup.hpp"
#include "linux/console.hpp"
#include "linux/namespace.hpp"
#include "linux/process.hpp"
#include "linux/seccomp.hpp"

namespace ctk::container {

namespace {

using linux::Namespace;
namespace cg = linux::cgroup;

std::string absolute(const std::string& path) {
    if (!path.empty() && path[0] == '/') return path;
    char buf[PATH_MAX];
    if (!::getcwd(buf, sizeof buf)) throw_errno("getcwd");
    std::string base = buf;
    if (path.empty() || path == ".") return base;
    return base + "/" + path;
}

std::string real_path(const std::string& path, const std::string& what) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) throw_errno(what, path);
    return buf;
}

// Everything decided before the clone.
struct Prepared {
    oci::Spec spec;
    std::string id, bundle, rootfs;
    ProcessPlan process;
    cg::Cgroup cgroup;
    uint64_t clone_flags = 0;
    uint64_t unshare_flags = 0;
    std::vector<std::pair<Namespace, UniqueFd>> joins;
    UniqueFd pid_join;
    bool new_user = false;
    bool in_user = false;
    bool new_pid = false;
    bool new_cgroup_ns = false;
};

// Compiled seccomp filters are kept under the state root, in a directory
// that no container ID can name (IDs do not start with '.').


Prepared prepare(const CreateOptions& o, const RuntimeLog& log, const cg::Layout& layout,
                 const std::string& seccomp_cache, const std::string& state_dir) {
    check_id(o.id);
    Prepared p;
    p.id = o.id;
    p.bundle = real_path(absolute(o.bundle), "bundle");
    p.spec = oci::Spec::load(p.bundle + "/config.json");
    if (!o.notify_socket.empty()) add_notify_socket(p.spec, state_dir);
    const oci::Spec& spec = p.spec;
    if (!spec.process) throw_invalid("config.json: no process to run");
    if (!spec.root) throw_invalid("config.json: no root");
    std::string root = spec.root->path;
    if (root.empty() || root[0] != '/') root = p.bundle + "/" + root;
    p.rootfs = real_path(root, "rootfs");
    struct stat st {};
    if (::stat(p.rootfs.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
        throw_invalid("rootfs " + quote(p.rootfs) + " is not a directory");
    if (!spec.linux) throw_invalid("config.json: no linux section");
    const oci::Linux& lx = *spec.linux;

    bool seen[8] = {};
    bool have_mount = false, have_uts = false;
    for (const auto& n : lx.namespaces) {
        auto ns = linux::parse_namespace(n.type);
        if (!ns) throw_invalid("linux.namespaces: unknown type " + quote(n.type));
        if (seen[static_cast<int>(*ns)]) throw_invalid("linux.namespaces: " + n.type + " listed twice");
        seen[static_cast<int>(*ns)] = true;
        if (*ns == Namespace::mount) have_mount = true;
        if (*ns == Namespace::uts) have_uts = true;
        if (*ns == Namespace::user) p.in_user = true;
        if (n.path.empty()) {
            if (*ns == Namespace::cgroup) {
                p.new_cgroup_ns = true; // unshared late, once the process is in its cgroup
                continue;
            }
            if (*ns == Namespace::user) p.new_user = true;
            if (*ns == Namespace::pid) p.new_pid = true;
            p.clone_flags |= linux::clone_flag(*ns);
            continue;
        }
        UniqueFd fd = linux::open_namespace(n.path, *ns);
        if (*ns == Namespace::pid) p.pid_join = std::move(fd);
        else p.joins.emplace_back(*ns, std::move(fd));
    }
    if (!have_mount) throw_invalid("linux.namespaces: ns-run needs a mount namespace");
    // A joined user namespace must be entered before the other namespaces are
    // made, so that they belong to it: the child makes them itself.
    std::stable_sort(p.joins.begin(), p.joins.end(),
                     [](const auto& a, const auto& b) { return a.first == Namespace::user && b.first != Namespace::user; });
    bool joined_user = p.in_user && !p.new_user;
    if (joined_user) {
        if (p.new_pid)
            throw_invalid("linux.namespaces: a new pid namespace inside a joined user namespace is not supported");
        p.unshare_flags = p.clone_flags;
        p.clone_flags = 0;
    }
    if (p.new_user && (lx.uid_mappings.empty() || lx.gid_mappings.empty()))
        throw_invalid("linux: a new user namespace needs uidMappings and gidMappings");
    if (!p.in_user && (!lx.uid_mappings.empty() || !lx.gid_mappings.empty()))
        throw_invalid("linux: uidMappings/gidMappings need a user namespace");
    if ((!spec.hostname.empty() || !spec.domainname.empty()) && !have_uts)
        throw_invalid("config.json: setting the hostname needs a private uts namespace");
    if (lx.extra.contains("timeOffsets")) throw_invalid("linux.timeOffsets is not supported");
    for (const auto& [key, value] : lx.sysctl) check_sysctl(key, spec);
    for (const auto& m : spec.mounts)
        if (m.destination.empty() || m.destination[0] != '/')
            throw_invalid("mount destination " + quote(m.destination) + " is not absolute");

    auto warn = [&](const std::string& m) { log.warn(m); };
    p.process = plan_process(*spec.process, lx.seccomp, warn, seccomp_cache);
    p.process.preserve_fds = o.preserve_fds;
    if (!p.process.seccomp.unknown.empty())
        log.debug("seccomp: syscalls unknown to libseccomp skipped: " + join(p.process.seccomp.unknown, ", "));

    p.cgroup = cg::Cgroup::plan(layout, lx.cgroups_path, p.id);
    return p;
}

struct Launched {
    pid_t pid = 0;
    uint64_t start = 0;
    UniqueFd pidfd;
    Channel channel;
    UniqueFd master;
    UniqueFd out, err;
    bool cgroup_made = false;
};

std::string hook_state(const Prepared& p, pid_t pid, const char* status) {
    Json j = {{"ociVersion", oci::runtime_spec_version},
              {"id", p.id},
              {"status", status},
              {"pid", pid},
              {"bundle", p.bundle}};
    if (!p.spec.annotations.empty()) j["annotations"] = p.spec.annotations;
    return dump_compact(j);
}

std::string hook_state(const State& s, const char* status) {
    Json j = {{"ociVersion", oci::runtime_spec_version},
              {"id", s.id},
              {"status", status},
              {"pid", s.pid},
              {"bundle", s.bundle}};
    if (!s.config.annotations.empty()) j["annotations"] = s.config.annotations;
    return dump_compact(j);
}

const std::vector<oci::Hook>& hooks_of(const oci::Spec& spec, std::vector<oci::Hook> oci::Hooks::*which) {
    static const std::vector<oci::Hook> none;
    return spec.hooks ? (*spec.hooks).*which : none;
}

// Everything from the cgroup to "created". The caller removes the state
// directory on failure; this kills what it started and removes the cgroup.
// clone3(args) with the pid namespace `pid_ns` (a namespace fd or a pidfd;
// -1: our own) entered around the call only, so that the child alone is in
// it. The child runs `child`, which does not return.
template <typename Child>
linux::Cloned clone_child(int pid_ns, const linux::CloneArgs& args, const std::string& what, Child&& child) {
    UniqueFd own_pid_ns;
    if (pid_ns >= 0) {
        own_pid_ns = open_path("/proc/self/ns/pid", O_RDONLY);
        linux::set_namespace(pid_ns, Namespace::pid, "the container's");
    }
    linux::Cloned c;
    try {
        c = linux::clone3(args);
    } catch (const Error& e) {
        if (own_pid_ns) linux::set_namespace(own_pid_ns.get(), Namespace::pid, "own pid");
        throw e.wrap(what);
    }
    if (c.pid == 0) child();
    if (own_pid_ns) linux::set_namespace(own_pid_ns.get(), Namespace::pid, "own pid");
    return c;
}

Launched launch(Prepared& p, const CreateOptions& o, const StateStore& store, bool wait_on_fifo,
                const RuntimeLog& log) {
    Launched l;
    const oci::Linux& lx = *p.spec.linux;
    ScopeGuard undo_cgroup([&] {
        if (l.cgroup_made) {
            try {
                p.cgroup.remove();
            } catch (const std::exception&) {
            }
        }
    });
    l.cgroup_made = true;
    p.cgroup.create(lx.resources ? &*lx.resources : nullptr);
    if (lx.resources) {
        p.cgroup.apply(*lx.resources, lx.devices, [&](const std::string& m) { log.warn(m); });
        p.cgroup.apply_device_filter(lx.resources->devices, lx.devices);
    } else {
        p.cgroup.apply_device_filter({}, lx.devices);
    }
    UniqueFd unified = p.cgroup.open_unified();
    // v1: the process joins its cgroups itself, first thing (see open_v1_tasks)
    std::vector<UniqueFd> v1_tasks = p.cgroup.open_v1_tasks();

    UniqueFd fifo;
    if (wait_on_fifo) {
        std::string path = store.fifo(p.id);
        if (::mkfifo(path.c_str(), 0600) < 0) throw_errno("mkfifo", path);
        fifo = open_path(path, O_PATH);
    }
    UniqueFd console;
    if (!o.console_socket.empty()) console = linux::connect_unix(o.console_socket);
    else if (p.process.terminal && wait_on_fifo)
        throw_invalid("a container with a terminal that runs detached needs --console-socket");
    UniqueFd host_proc = open_path("/proc", O_PATH | O_DIRECTORY);
    auto [parent_end, child_end] = Channel::pair();
    UniqueFd out_w, err_w;
    if (!o.stdio_log.empty()) {
        make_pipe(l.out, out_w);
        make_pipe(l.err, err_w);
    }

    InitConfig cfg;
    cfg.spec = &p.spec;
    cfg.id = p.id;
    cfg.bundle = p.bundle;
    cfg.rootfs = p.rootfs;
    cfg.process = p.process;
    if (o.new_keyring) cfg.process.session_keyring = "_ses." + p.id;
    cfg.no_pivot = o.no_pivot;
    for (const auto& [ns, fd] : p.joins) cfg.joins.emplace_back(ns, fd.get());
    cfg.unshare_flags = p.unshare_flags;
    for (const auto& fd : v1_tasks) cfg.cgroup_tasks.push_back(fd.get());
    cfg.wait_for_maps = p.new_user;
    cfg.user_namespace = p.in_user;
    cfg.new_cgroup_ns = p.new_cgroup_ns;
    cfg.cgroup = &p.cgroup;
    cfg.host_proc = host_proc.get();
    cfg.fifo = fifo.get();
    cfg.console_socket = console.get();
    cfg.stdout_fd = out_w.get();
    cfg.stderr_fd = err_w.get();
    auto init_note = p.spec.annotations.find(init_annotation);
    cfg.init = o.init || (init_note != p.spec.annotations.end() && init_note->second == "true");
    cfg.hooks_in_runtime = p.spec.hooks && (!p.spec.hooks->prestart.empty() || !p.spec.hooks->create_runtime.empty() ||
                                            !p.spec.hooks->create_container.empty() ||
                                            !p.spec.hooks->start_container.empty());

    linux::CloneArgs args;
    args.flags = p.clone_flags;
    args.cgroup_fd = unified.get();
    linux::Cloned c = clone_child(p.pid_join ? p.pid_join.get() : -1, args, "create the container process", [&] {
        parent_end.close();
        container_init(cfg, child_end);
    });
    child_end.close();
    out_w.reset();
    err_w.reset();
    l.pid = c.pid;
    l.pidfd = std::move(c.pidfd);
    l.channel = std::move(parent_end);
    ScopeGuard kill_child([&] {
        linux::pidfd_send_signal(l.pidfd.get(), SIGKILL);
        siginfo_t info {};
        ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(l.pidfd.get()), &info, WEXITED);
    });
    if (p.new_user) {
        auto maps = [](const std::vector<oci::IdMapping>& in) {
            std::vector<linux::IdMap> out;
            for (const auto& m : in) out.push_back({m.container_id, m.host_id, m.size});
            return out;
        };
        linux::write_id_maps(l.pid, maps(lx.uid_mappings), maps(lx.gid_mappings));
        l.channel.send(Msg::go);
    }
    v1_tasks.clear();
    if (!unified) p.cgroup.add_process_unified(l.pid); // no CLONE_INTO_CGROUP
    if (p.spec.process->oom_score_adj) {
        std::string path = "/proc/" + std::to_string(l.pid) + "/oom_score_adj";
        UniqueFd f = open_path(path, O_WRONLY);
        write_all(f.get(), std::to_string(*p.spec.process->oom_score_adj), path);
    }
    for (;;) {
        Message m = l.channel.expect_any("create the container");
        if (m.type == Msg::hooks) {
            std::string state = hook_state(p, l.pid, "creating");
            run_hooks(hooks_of(p.spec, &oci::Hooks::prestart), state, "prestart");
            run_hooks(hooks_of(p.spec, &oci::Hooks::create_runtime), state, "createRuntime");
            l.channel.send(Msg::go, state);
            continue;
        }
        if (m.type == Msg::ready) {
            l.master = std::move(m.fd);
            break;
        }
        throw Error("create the container: unexpected message", ErrorKind::failed);
    }
    l.start = linux::process_start_time(l.pid).value_or(0);
    kill_child.dismiss();
    undo_cgroup.dismiss();
    return l;
}

// `monitored`: this process stays the container process's parent (the
// monitor, or a foreground run); else the caller's subreaper adopts it.
State make_state(const Prepared& p, const Launched& l, bool monitored = true) {
    State s;
    s.id = p.id;
    s.bundle = p.bundle;
    s.rootfs = p.rootfs;
    s.pid = l.pid;
    s.pid_start = l.start;
    if (monitored) {
        s.monitor_pid = ::getpid();
        s.monitor_start = linux::process_start_time(s.monitor_pid).value_or(0);
    }
    s.created = now_rfc3339();
    s.own_pid_ns = p.new_pid;
    s.cgroup = p.cgroup.to_json();
    s.config = p.spec;
    return s;
}

void write_pid_file(const std::string& path, pid_t pid) {
    if (path.empty()) return;
    std::string abs = absolute(path);
    std::string tmp = abs + ".tmp" + std::to_string(::getpid());
    {
        UniqueFd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!f) throw_errno("write pid file", tmp);
        write_all(f.get(), std::to_string(pid), tmp);
    }
    if (::rename(tmp.c_str(), abs.c_str()) < 0) throw_errno("rename", tmp);
}

// After start: the process has executed its program when its end of the
// channel closes (close-on-exec); an error message means it failed.
void wait_exec(Channel& channel) {
    Message m = channel.receive();
    if (m.type == Msg::eof) return;
    if (m.type == Msg::error) throw error_from_payload(m.payload);
    throw Error("start the container: unexpected message", ErrorKind::failed);
}

void run_poststart(const State& s, const RuntimeLog& log) {
    try {
        run_hooks(hooks_of(s.config, &oci::Hooks::poststart), hook_state(s, "running"), "poststart");
    } catch (const Error& e) {
        log.warn(e.what());
    }
}

// Removes what a stopped container leaves: poststop hooks, cgroup, state.
void destroy(const StateStore& store, const State& s, const RuntimeLog& log) {
    try {
        run_hooks(hooks_of(s.config, &oci::Hooks::poststop), hook_state(s, "stopped"), "poststop");
    } catch (const Error& e) {
        log.warn(e.what());
    }
    if (!s.cgroup.empty()) {
        cg::Cgroup cgroup = cg::Cgroup::from_json(s.cgroup);
        try {
            // Without a pid namespace of its own, processes can outlive the first one.
            if (!s.own_pid_ns && !cgroup.pids().empty()) cgroup.signal_all(SIGKILL);
            cgroup.remove();
        } catch (const Error& e) {
            log.warn(e.what());
        }
    }
    store.remove(s.id);
}

// Waits until the process behind pidfd is gone (poll), at most timeout_ms.
bool wait_gone(int pidfd, int timeout_ms) {
    pollfd p {pidfd, POLLIN, 0};
    for (;;) {
        int r = ::poll(&p, 1, timeout_ms);
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) throw_errno("poll");
    }
}

// A pidfd for a recorded process, only when it is still that process.
UniqueFd open_recorded(pid_t pid, uint64_t start) {
    if (pid <= 0) return UniqueFd();
    UniqueFd pidfd = linux::try_pidfd_open(pid);
    if (!pidfd || !linux::process_alive(pid, start)) return UniqueFd();
    return pidfd;
}

void wait_monitor(const State& s, int timeout_ms) {
    if (s.monitor_pid == ::getpid()) return;
    UniqueFd m = open_recorded(s.monitor_pid, s.monitor_start);
    if (m) wait_gone(m.get(), timeout_ms);
}

int run_foreground(Launched& l, const CreateOptions& o, NotifyRelay* relay) {
    JsonFileLog log;
    if (!o.stdio_log.empty()) log = JsonFileLog(o.stdio_log);
    Foreground fg;
    fg.pidfd = l.pidfd.get();
    fg.master = l.master.get();
    fg.out = l.out.get();
    fg.err = l.err.get();
    fg.log = log ? &log : nullptr;
    fg.tee = true;
    // ns-run stays the service's main process: MAINPID is our own (runc's too).
    fg.notify = relay;
    fg.notify_pid = ::getpid();
    return wait_foreground(fg);
}

void finish_foreground(const StateStore& store_, const RuntimeLog& log_, const std::string& id, int status,
                       bool keep) {
    try {
        UniqueFd relock = store_.lock(id);
        State s = store_.load(id);
        s.exit_code = status;
        s.finished = now_rfc3339();
        // --keep: a stopped container that `delete` removes later, cgroup and all.
        if (keep) store_.save(s);
        else destroy(store_, s, log_);
    } catch (const Error& e) {
        // Deleted meanwhile (delete --force from elsewhere): nothing is left to do.
        if (e.kind() != ErrorKind::not_found) log_.warn(e.what());
    }
}


// run -d, start: ns-run exits next, so systemd must take the container's
// process as the main one (MAINPID) once it says READY. A relay that fails
// does not fail the verb (runc ignores it too): the container runs.
void relay_ready(NotifyRelay& relay, const State& s, const RuntimeLog& log) {
    try {
        UniqueFd pidfd = open_recorded(s.pid, s.pid_start);
        if (pidfd && !relay.wait(pidfd.get(), s.pid))
            log.warn("container " + quote(s.id) + " exited before it sent READY=1 to NOTIFY_SOCKET");
    } catch (const Error& e) {
        log.warn(e.what());
    }
}

// Undoes a launch that cannot go on: the process killed and reaped, its cgroup removed.
void kill_launched(Launched& l, Prepared& p) {
    linux::pidfd_send_signal(l.pidfd.get(), SIGKILL);
    reap(l.pidfd.get());
    try {
        p.cgroup.remove();
    } catch (const std::exception&) {
    }
}

// The shape of both detached verbs. Without --monitor (runc's way) the
// container process is this process's child and is adopted, when ns-run
// exits, by the caller's subreaper. With --monitor a forked monitor is its
// parent and stays: `body` runs in the monitor, which reports the outcome
// over a pipe and then becomes the waiting loop.
template <typename Body>
void detached(const StateStore& store, const CreateOptions& o, const char* verb, Body&& body) {
    if (!o.monitor) {
        if (!o.stdio_log.empty())
            throw Error(std::string(verb) + ": --stdio-log needs --monitor (someone must write the log)",
                        ErrorKind::usage);
        body();
        return;
    }
    UniqueFd report_r, report_w;
    make_pipe(report_r, report_w);
    pid_t monitor = ::fork();
    if (monitor < 0) throw_errno("fork the monitor");
    if (monitor == 0) {
        report_r.reset();
        ::setsid();
        Launched l;
        try {
            l = body();
        } catch (const Error& e) {
            std::string payload = error_payload(e);
            ssize_t n = ::write(report_w.get(), payload.data(), payload.size());
            (void)n;
            ::_exit(1);
        }
        report_w.reset();
        l.channel.close();
        become_monitor(store, o.id, l.pid, o.stdio_log, l.out.release(), l.err.release());
    }
    report_w.reset();
    std::string answer = read_fd(report_r.get(), 1 << 20);
    if (!answer.empty()) {
        ::waitpid(monitor, nullptr, 0);
        throw error_from_payload(answer);
    }
    if (!store.exists(o.id)) {
        ::waitpid(monitor, nullptr, 0);
        throw Error(std::string(verb) + " " + quote(o.id) + ": the monitor exited before the container was " +
                        (std::string(verb) == "create" ? "created" : "started"),
                    ErrorKind::failed);
    }
}

} // namespace

void Runtime::create(const CreateOptions& o) {
    cg::Layout layout = cg::Layout::detect();
    Prepared p = prepare(o, log_, layout, seccomp_cache_, store_.dir(o.id));
    UniqueFd lock = store_.create(o.id);
    ScopeGuard remove_dir([&] {
        try {
            store_.remove(o.id);
        } catch (const std::exception&) {
        }
    });
    // runc: the socket itself is bound by start, which relays.
    if (!o.notify_socket.empty()) make_dirs(notify_dir(store_.dir(o.id)), 0755);
    detached(store_, o, "create", [&] {
        Launched l = launch(p, o, store_, true, log_);
        ScopeGuard kill_child([&] { kill_launched(l, p); });
        store_.save(make_state(p, l, o.monitor));
        write_pid_file(o.pid_file, l.pid);
        kill_child.dismiss();
        lock.reset();
        return l;
    });
    remove_dir.dismiss();
}

void Runtime::start(const std::string& id, const std::string& notify_socket) {
    UniqueFd lock = store_.lock(id);
    State s = store_.load(id);
    Status st = current_status(s, store_.dir(id));
    if (st != Status::created)
        throw_conflict("container " + quote(id) + " is " + status_name(st) + ", not created");
    // Only a container created with NOTIFY_SOCKET has the socket mounted.
    NotifyRelay relay;
    struct stat nst {};
    if (!notify_socket.empty() && ::stat(notify_dir(store_.dir(id)).c_str(), &nst) == 0)
        relay = NotifyRelay::listen(store_.dir(id), notify_socket);
    std::string path = store_.fifo(id);
    UniqueFd fifo(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fifo) throw_errno("open", path);
    for (;;) {
        pollfd pf {fifo.get(), POLLIN, 0};
        int r = ::poll(&pf, 1, 100);
        if (r < 0 && errno != EINTR) throw_errno("poll", path);
        if (r > 0) {
            char c;
            ssize_t n = ::read(fifo.get(), &c, 1);
            if (n == 1) break;
            if (n == 0) throw Error("start " + quote(id) + ": the container process went away", ErrorKind::failed);
        }
        if (!linux::process_alive(s.pid, s.pid_start))
            throw Error("start " + quote(id) + ": the container process has exited", ErrorKind::failed);
    }
    ::unlink(path.c_str());
    s.started = now_rfc3339();
    store_.save(s);
    lock.reset();
    run_poststart(s, log_);
    if (relay) relay_ready(relay, s, log_);
}

// A foreground container's pty starts with the caller's terminal size, so
// the program's first look at it (stty size, a shell's prompt) is right
// without waiting for the runtime to copy the size after the start.
static void inherit_terminal_size(ProcessPlan& plan) {
    if (!plan.terminal || plan.console_size) return;
    if (auto ws = linux::window_size(0)) plan.console_size = oci::ConsoleSize{ws->rows, ws->cols};
}

int Runtime::run(const CreateOptions& o, bool detach, bool keep) {
    cg::Layout layout = cg::Layout::detect();
    Prepared p = prepare(o, log_, layout, seccomp_cache_, store_.dir(o.id));
    if (!detach && o.console_socket.empty()) inherit_terminal_size(p.process);
    UniqueFd lock = store_.create(o.id);
    ScopeGuard remove_dir([&] {
        try {
            store_.remove(o.id);
        } catch (const std::exception&) {
        }
    });
    NotifyRelay relay;
    if (!o.notify_socket.empty()) relay = NotifyRelay::listen(store_.dir(o.id), o.notify_socket);
    if (detach) {
        if (p.process.terminal && o.console_socket.empty())
            throw_invalid("a container with a terminal that runs detached needs --console-socket");
        State s;
        detached(store_, o, "run", [&] {
            Launched l = launch(p, o, store_, false, log_);
            ScopeGuard kill_child([&] { kill_launched(l, p); });
            s = make_state(p, l, o.monitor);
            l.channel.send(Msg::start);
            s.started = now_rfc3339();
            store_.save(s);
            wait_exec(l.channel);
            write_pid_file(o.pid_file, l.pid);
            kill_child.dismiss();
            lock.reset();
            run_poststart(s, log_);
            return l;
        });
        remove_dir.dismiss();
        if (relay) relay_ready(relay, store_.load(o.id), log_);
        return 0;
    }

    block_forwarded_signals();
    Launched l;
    try {
        l = launch(p, o, store_, false, log_);
    } catch (const Error& e) {
        // A program that is missing or cannot run: run's status is 127 or
        // 126, as a shell's (the process never started)
        int status = exec_failure_status(e);
        if (!status) throw;
        log_.failure(e.what());
        return status;
    }
    ScopeGuard kill_child([&] { kill_launched(l, p); });
    State s = make_state(p, l);
    l.channel.send(Msg::start);
    s.started = now_rfc3339();
    store_.save(s);
    kill_child.dismiss();
    remove_dir.dismiss();
    lock.reset();
    int status = -1;
    try {
        wait_exec(l.channel);
    } catch (const Error& e) {
        // The process could not execute its program: it exits 127 or 126 as a
        // shell would, and that is run's status.
        log_.failure(e.what());
        status = reap(l.pidfd.get());
    }
    if (status < 0) {
        write_pid_file(o.pid_file, l.pid);
        run_poststart(s, log_);
        status = run_foreground(l, o, relay ? &relay : nullptr);
    }
    finish_foreground(store_, log_, o.id, status, keep);
    return status;
}

Json Runtime::state(const std::string& id) const {
    State s = store_.load(id);
    Status st = current_status(s, store_.dir(id));
    if (st == Status::stopped && !s.exit_code) {
        // Gone, but its monitor is about to record how: a moment's wait gives
        // a consistent answer (stopped with exitCode).
        wait_monitor(s, 1000);
        s = store_.load(id);
    }
    return oci_state(s, st);
}

void Runtime::kill(const std::string& id, int sig, bool all) {
    State s = store_.load(id);
    Status st = current_status(s, store_.dir(id));
    // runc: kill --all of a stopped container has nothing to signal and succeeds
    if (st == Status::stopped && all) return;
    // "container not running": the words containerd's shim and conmon match
    if (st == Status::stopped) throw_conflict("kill " + quote(id) + ": container not running");
    if (all && !s.cgroup.empty()) {
        cg::Cgroup::from_json(s.cgroup).signal_all(sig);
        return;
    }
    UniqueFd pidfd = open_recorded(s.pid, s.pid_start);
    if (!pidfd || !linux::pidfd_send_signal(pidfd.get(), sig))
        throw_conflict("kill " + quote(id) + ": container not running");
}

void Runtime::remove(const std::string& id, bool force) {
    // runc: delete --force of a container that is gone already succeeds
    if (force && !store_.exists(id)) {
        check_id(id);
        return;
    }
    State s = store_.load(id);
    Status st = current_status(s, store_.dir(id));
    if ((st == Status::running || st == Status::paused) && !force)
        throw_conflict("container " + quote(id) + " is " + status_name(st) +
                       ": stop it first or use --force");
    if (st != Status::stopped) {
        UniqueFd pidfd = open_recorded(s.pid, s.pid_start);
        cg::Cgroup cgroup;
        if (!s.cgroup.empty()) cgroup = cg::Cgroup::from_json(s.cgroup);
        if (!cgroup.empty() && (!s.own_pid_ns || st == Status::paused)) cgroup.signal_all(SIGKILL);
        if (pidfd) linux::pidfd_send_signal(pidfd.get(), SIGKILL);
        if (st == Status::paused && !cgroup.empty()) cgroup.thaw();
        if (pidfd && !wait_gone(pidfd.get(), 10000))
            throw Error("delete " + quote(id) + ": the container process did not exit after SIGKILL",
                        ErrorKind::failed);
    }
    wait_monitor(s, 10000);
    UniqueFd lock = store_.lock(id);
    if (!store_.exists(id)) return;
    s = store_.load(id);
    destroy(store_, s, log_);
}

Json Runtime::list() const {
    Json out = Json::array();
    for (const auto& id : store_.ids()) {
        try {
            auto s = store_.load_brief(id);
            Status st = current_status(*s, store_.dir(id));
            Json j = oci_state(*s, st);
            struct stat sb {};
            if (::stat(store_.dir(id).c_str(), &sb) == 0) j["owner"] = sb.st_uid == 0 ? "root" : std::to_string(sb.st_uid);
            out.push_back(std::move(j));
        } catch (const Error&) {
        }
    }
    return out;
}

std::vector<pid_t> Runtime::ps(const std::string& id) const {
    State s = store_.load(id);
    Status st = current_status(s, store_.dir(id));
    if (st == Status::stopped) return {};
    if (s.cgroup.empty()) return {s.pid};
    return cg::Cgroup::from_json(s.cgroup).pids();
}

void Runtime::pause(const std::string& id) {
    UniqueFd lock = store_.lock(id);
    State s = store_.load(id);
    Status st = current_status(s, store_.dir(id));
    if (st != Status::running) throw_conflict("container " + quote(id) + " is " + status_name(st) + ", not running");
    if (s.cgroup.empty()) throw Error("container " + quote(id) + " has no cgroup to freeze", ErrorKind::failed);
    cg::Cgroup::from_json(s.cgroup).freeze();
}

void Runtime::resume(const std::string& id) {
    UniqueFd lock = store_.lock(id);
    State s = store_.load(id);
    Status st = current_status(s, store_.dir(id));
    if (st != Status::paused) throw_conflict("container " + quote(id) + " is " + status_name(st) + ", not paused");
    cg::Cgroup::from_json(s.cgroup).thaw();
}

Json Runtime::wait(const std::string& id) {
    for (;;) {
        State s = store_.load(id);
        if (s.exit_code) return {{"id", id}, {"exitCode", *s.exit_code}};
        UniqueFd mon = open_recorded(s.monitor_pid, s.monitor_start);
        if (mon) {
            wait_gone(mon.get(), -1);
            State after = store_.load(id);
            if (after.exit_code) return {{"id", id}, {"exitCode", *after.exit_code}};
        }
        UniqueFd init = open_recorded(s.pid, s.pid_start);
        if (init) {
            wait_gone(init.get(), -1);
            continue;
        }
        // The monitor may have recorded the status and exited since the load.
        State last = store_.load(id);
        if (last.exit_code) return {{"id", id}, {"exitCode", *last.exit_code}};
        // Gone with nobody to record how: the exit status is unknown.
        return {{"id", id}, {"exitCode", -1}};
    }
}

int Runtime::exec(const ExecOptions& o) {
    State s = store_.load(o.id);
    Status st = current_status(s, store_.dir(o.id));
    if (st == Status::stopped) throw_conflict("exec in " + quote(o.id) + ": container not running");
    if (st == Status::paused && !o.ignore_paused) throw_conflict("container " + quote(o.id) + " is paused");

    oci::Process proc;
    if (!o.process_file.empty()) {
        std::string text = o.process_file == "-" ? read_fd(0) : read_file(o.process_file);
        try {
            proc = parse_json(text, o.process_file).get<oci::Process>();
        } catch (const Error& e) {
            throw e.wrap("process " + quote(o.process_file));
        }
    } else {
        if (o.args.empty()) throw Error("exec: no command given", ErrorKind::usage);
        proc = s.config.process ? *s.config.process : oci::Process{};
        proc.args = o.args;
        proc.terminal = o.tty;
        proc.console_size.reset();
        if (!o.cwd.empty()) proc.cwd = o.cwd;
        for (const auto& kv : o.env) {
            auto key = kv.substr(0, kv.find('='));
            std::erase_if(proc.env, [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
            proc.env.push_back(kv);
        }
        if (!o.user.empty()) {
            auto parts = split(o.user, ':');
            auto uid = parse_uint(parts[0]);
            if (!uid || parts.size() > 2) throw Error("exec: --user wants uid[:gid], got " + quote(o.user), ErrorKind::usage);
            proc.user.uid = static_cast<uint32_t>(*uid);
            if (parts.size() == 2) {
                auto gid = parse_uint(parts[1]);
                if (!gid) throw Error("exec: --user wants uid[:gid], got " + quote(o.user), ErrorKind::usage);
                proc.user.gid = static_cast<uint32_t>(*gid);
            }
        }
        for (auto g : o.additional_gids) proc.user.additional_gids.push_back(g);
        if (!o.caps.empty()) {
            if (!proc.capabilities) proc.capabilities = oci::Capabilities{};
            auto add = [&](std::optional<std::vector<std::string>>& set) {
                if (!set) set = std::vector<std::string>{};
                for (const auto& c : o.caps) set->push_back(c);
            };
            add(proc.capabilities->bounding);
            add(proc.capabilities->effective);
            add(proc.capabilities->permitted);
            add(proc.capabilities->inheritable);
        }
        if (o.no_new_privs) proc.no_new_privileges = true;
        if (!o.apparmor.empty()) proc.apparmor_profile = o.apparmor;
        if (!o.process_label.empty()) proc.selinux_label = o.process_label;
    }
    if (proc.terminal && o.detach && o.console_socket.empty())
        throw_invalid("exec -d with a terminal needs --console-socket");
    auto warn = [&](const std::string& m) { log_.warn(m); };
    std::optional<oci::Seccomp> seccomp;
    if (s.config.linux) seccomp = s.config.linux->seccomp;
    ExecConfig cfg;
    cfg.process = plan_process(proc, seccomp, warn, seccomp_cache_);
    cfg.process.preserve_fds = o.preserve_fds;
    cfg.process.session_keyring = "_ses." + o.id; // the container's, as runc exec joins it
    if (!o.detach && o.console_socket.empty()) inherit_terminal_size(cfg.process);

    UniqueFd pidfd = open_recorded(s.pid, s.pid_start);
    if (!pidfd) throw_conflict("exec in " + quote(o.id) + ": container not running");
    bool pid_ns = false;
    if (s.config.linux) {
        for (const auto& n : s.config.linux->namespaces) {
            auto ns = linux::parse_namespace(n.type);
            if (!ns) continue;
            if (*ns == Namespace::pid) pid_ns = true;
            else cfg.setns_flags |= static_cast<uint32_t>(linux::clone_flag(*ns));
        }
    }
    cfg.pidfd = pidfd.get();
    UniqueFd console;
    if (!o.console_socket.empty()) console = linux::connect_unix(o.console_socket);
    cfg.console_socket = console.get();
    cg::Cgroup cgroup;
    if (!s.cgroup.empty()) cgroup = cg::Cgroup::from_json(s.cgroup);
    UniqueFd unified = cgroup.empty() ? UniqueFd() : cgroup.open_unified();
    std::vector<UniqueFd> v1_tasks = cgroup.empty() ? std::vector<UniqueFd>() : cgroup.open_v1_tasks();
    for (const auto& fd : v1_tasks) cfg.cgroup_tasks.push_back(fd.get());
    auto [parent_end, child_end] = Channel::pair();

    if (!o.detach) block_forwarded_signals();
    linux::CloneArgs args;
    args.cgroup_fd = unified.get();
    linux::Cloned c = clone_child(pid_ns ? pidfd.get() : -1, args, "create the exec process", [&] {
        parent_end.close();
        exec_init(cfg, child_end);
    });
    child_end.close();
    ScopeGuard kill_child([&] {
        linux::pidfd_send_signal(c.pidfd.get(), SIGKILL);
        reap(c.pidfd.get());
    });
    v1_tasks.clear();
    if (!cgroup.empty() && !unified) cgroup.add_process_unified(c.pid); // no CLONE_INTO_CGROUP
    if (proc.oom_score_adj) {
        std::string path = "/proc/" + std::to_string(c.pid) + "/oom_score_adj";
        UniqueFd f = open_path(path, O_WRONLY);
        write_all(f.get(), std::to_string(*proc.oom_score_adj), path);
    }
    parent_end.send(Msg::go);
    Message ready = parent_end.expect(Msg::ready, "exec");
    kill_child.dismiss();
    try {
        wait_exec(parent_end);
    } catch (const Error& e) {
        if (o.detach) {
            reap(c.pidfd.get());
            throw;
        }
        log_.failure(e.what());
        return reap(c.pidfd.get());
    }
    write_pid_file(o.pid_file, c.pid);
    if (o.detach) return 0;
    Foreground fg;
    fg.pidfd = c.pidfd.get();
    fg.master = ready.fd.get();
    return wait_foreground(fg);
}

void Runtime::update(const std::string& id, const Json& resources) {
    UniqueFd lock = store_.lock(id);
    State s = store_.load(id);
    Status st = current_status(s, store_.dir(id));
    if (st == Status::stopped) throw_conflict("update " + quote(id) + ": container not running");
    if (s.cgroup.empty()) throw Error("update " + quote(id) + ": the container has no cgroup", ErrorKind::failed);
    if (!resources.is_object()) throw_invalid("update " + quote(id) + ": resources must be a JSON object");
    // runc writes only what is set: dockerd sends 0 (and "") for every field
    // it leaves alone, and containerd's CRI the device rules with each update
    Json patch = resources;
    patch.erase("devices");
    std::function<void(Json&)> drop_unset = [&](Json& j) {
        for (auto it = j.begin(); it != j.end();) {
            if (it->is_object()) drop_unset(*it);
            bool unset = (it->is_number() && it->get<double>() == 0) || (it->is_string() && it->empty()) ||
                         (it->is_object() && it->empty()) || it->is_null();
            it = unset ? j.erase(it) : std::next(it);
        }
    };
    drop_unset(patch);
    oci::Resources change;
    try {
        change = patch.get<oci::Resources>();
    } catch (const std::exception& e) {
        throw Error("update " + quote(id) + ": resources: " + e.what(), ErrorKind::invalid);
    }
    cg::Cgroup::from_json(s.cgroup).apply_limits(change, [&](const std::string& m) { log_.warn(m); });
    if (!s.config.linux) s.config.linux = oci::Linux{};
    Json merged = s.config.linux->resources ? Json(*s.config.linux->resources) : Json::object();
    merged.merge_patch(patch);
    s.config.linux->resources = merged.get<oci::Resources>();
    store_.save(s);
}

void Runtime::events(const std::string& id, int interval_ms, bool once,
                     const std::function<void(const Json&)>& emit) {
    State s = store_.load(id);
    Status st = current_status(s, store_.dir(id));
    if (st == Status::stopped) throw_conflict("events " + quote(id) + ": container not running");
    if (s.cgroup.empty()) throw Error("events " + quote(id) + ": the container has no cgroup", ErrorKind::failed);
    cg::Cgroup cgroup = cg::Cgroup::from_json(s.cgroup);
    auto stats = [&] { emit({{"type", "stats"}, {"id", id}, {"data", cgroup.stats()}}); };
    if (once) {
        stats();
        return;
    }
    UniqueFd pidfd = open_recorded(s.pid, s.pid_start);
    uint64_t ooms = cgroup.oom_kills();
    // The OOM count is polled (a small file read) rather than watched through
    // cgroup.event_control, which v2 lacks: one loop serves both.
    const int tick = 100;
    int since_stats = interval_ms;
    for (;;) {
        uint64_t now = cgroup.oom_kills();
        if (now > ooms) emit({{"type", "oom"}, {"id", id}});
        ooms = now;
        if (!pidfd) return;
        if (since_stats >= interval_ms) {
            stats();
            since_stats = 0;
        }
        if (wait_gone(pidfd.get(), std::min(tick, interval_ms))) {
            if (cgroup.oom_kills() > ooms) emit({{"type", "oom"}, {"id", id}});
            return;
        }
        since_stats += std::min(tick, interval_ms);
    }
}

Json Runtime::features() {
    Json ns = Json::array();
    for (auto n : linux::all_namespaces) ns.push_back(linux::spec_name(n));
    Json mount_options = {"ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async",
                          "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime",
                          "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime",
                          "lazytime", "nolazytime", "nosymfollow", "symfollow", "bind", "rbind",
                          "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable",
                          "runbindable", "rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec",
                          "rexec", "rnodiratime", "rdiratime", "rrelatime", "rnorelatime", "rnoatime",
                          "ratime", "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow"};
    return {{"ociVersionMin", "1.0.0"},
            {"ociVersionMax", oci::runtime_spec_version},
            {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
            {"mountOptions", mount_options},
            {"linux",
             {{"namespaces", ns},
              {"capabilities", linux::known_capabilities()},
              {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}}},
              {"seccomp",
               {{"enabled", true},
                {"actions", linux::seccomp::known_actions()},
                {"operators", linux::seccomp::known_operators()},
                {"archs", linux::seccomp::known_architectures()},
                {"knownFlags", linux::seccomp::known_flags()},
                {"supportedFlags", linux::seccomp::known_flags()}}},
              {"apparmor", {{"enabled", apparmor_enabled()}}},
              {"selinux", {{"enabled", selinux_enabled()}}},
              {"intelRdt", {{"enabled", false}}},
              {"mountExtensions", {{"idmap", {{"enabled", false}}}}}}},
            {"annotations",
             {{"io.github.ctk.ns-run.version", CTK_VERSION},
              {init_annotation, "\"true\" (or ns-run run --init): a minimal init as pid 1"}}}};
}

} // namespace ctk::container
