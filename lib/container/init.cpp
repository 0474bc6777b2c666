#include "container/init.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "container/rootfs.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "linux/console.hpp"
#include "linux/mount.hpp"
#include "linux/process.hpp"

namespace ctk::container {

void run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json, const char* kind) {
    for (const auto& h : hooks) {
        RunOptions o;
        o.executable = h.path;
        o.input = state_json;
        o.env = h.env;
        o.capture_stdout = true;
        o.capture_stderr = true;
        if (h.timeout) o.timeout_ms = *h.timeout * 1000;
        std::vector<std::string> argv = h.args;
        if (argv.empty()) argv.push_back(h.path);
        ProcessResult r;
        try {
            r = run_process(argv, o);
        } catch (const Error& e) {
            throw e.wrap(std::string(kind) + " hook " + quote(h.path));
        }
        if (r.timed_out)
            throw Error(std::string(kind) + " hook " + quote(h.path) + ": timed out after " +
                            std::to_string(*h.timeout) + "s",
                        ErrorKind::failed);
        if (r.status != 0) {
            std::string err = r.err;
            while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
            throw Error(std::string(kind) + " hook " + quote(h.path) + " exited with status " +
                            std::to_string(r.status) + (err.empty() ? "" : ": " + err),
                        ErrorKind::failed);
        }
    }
}

namespace {

void redirect_stdio(const InitConfig& cfg) {
    if (cfg.stdout_fd >= 0 && ::dup2(cfg.stdout_fd, 1) < 0) throw_errno("dup2 stdout");
    if (cfg.stderr_fd >= 0 && ::dup2(cfg.stderr_fd, 2) < 0) throw_errno("dup2 stderr");
}

// The pty: opened from the container's own devpts after the pivot, its
// slave becomes stdio and /dev/console, its master goes to the console
// socket or back to the runtime.
UniqueFd setup_console(const ProcessPlan& plan, bool console_file) {
    linux::Pty pty = linux::open_pty("/dev/ptmx");
    if (plan.console_size)
        linux::set_window_size(pty.master.get(), {static_cast<unsigned short>(plan.console_size->height),
                                                  static_cast<unsigned short>(plan.console_size->width)});
    if (console_file) {
        UniqueFd root = open_path("/", O_PATH | O_DIRECTORY);
        UniqueFd target = make_file_in_root(root.get(), "/dev/console", 0600);
        UniqueFd tree = linux::open_tree(pty.slave.get(), "", OPEN_TREE_CLONE | AT_EMPTY_PATH);
        linux::move_mount(tree.get(), target.get(), "/dev/console");
    }
    for (int fd = 0; fd <= 2; fd++)
        if (::dup2(pty.slave.get(), fd) < 0) throw_errno("dup2 the pty");
    return std::move(pty.master);
}

void hand_over_master(UniqueFd master, int console_socket, Channel& channel, Msg type) {
    if (console_socket >= 0) {
        linux::send_fd(console_socket, master.get(), "/dev/console");
        ::close(console_socket);
        channel.send(type);
    } else {
        channel.send(type, "", master.get());
    }
}

void wait_for_start(const InitConfig& cfg, Channel& channel) {
    if (cfg.fifo < 0) {
        channel.expect(Msg::start, "wait for start");
        return;
    }
    // `ns-run start` opens exec.fifo for reading; until then this open blocks.
    std::string path = "self/fd/" + std::to_string(cfg.fifo);
    int fd;
    do {
        fd = ::openat(cfg.host_proc, path.c_str(), O_WRONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) throw_errno("open exec.fifo");
    char c = '0';
    if (::write(fd, &c, 1) != 1) throw_errno("write exec.fifo");
    ::close(fd);
    ::close(cfg.fifo);
}

} // namespace

// Only `keep`, the v1 cgroup task files and the process's preserved fds stay
// open: no fd of the runtime's (its lock, a report pipe) may reach the
// container. Joins the v1 cgroups before anything is charged here, resets the
// signals, and dies with the runtime from here on.
static void leave_runtime(std::vector<int> keep, const std::vector<int>& cgroup_tasks, int preserve_fds) {
    keep.insert(keep.end(), cgroup_tasks.begin(), cgroup_tasks.end());
    for (int fd = 3; fd < 3 + preserve_fds; fd++) keep.push_back(fd);
    linux::close_fds_except(keep);
    linux::cgroup::join_v1_tasks(cgroup_tasks);
    for (int fd : cgroup_tasks) ::close(fd);
    reset_signals();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

// In a handler: the exception being handled goes to the runtime, and this
// process ends.
[[noreturn]] static void report_and_exit(Channel& channel) {
    try {
        throw;
    } catch (const Error& e) {
        channel.send_error(e);
    } catch (const std::exception& e) {
        channel.send_error(Error(std::string("internal error: ") + e.what()));
    }
    ::_exit(1);
}

void container_init(const InitConfig& cfg, Channel& channel) {
    std::string hook_state;
    const pid_t runtime_pid = ::getppid();
    try {
        std::vector<int> keep = {channel.fd(), cfg.host_proc, cfg.fifo, cfg.console_socket, cfg.stdout_fd,
                                 cfg.stderr_fd};
        for (const auto& [ns, fd] : cfg.joins) keep.push_back(fd);
        leave_runtime(keep, cfg.cgroup_tasks, cfg.process.preserve_fds);
        if (::getppid() != runtime_pid) ::_exit(1);
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        ::umask(0);
        redirect_stdio(cfg);
        if (cfg.wait_for_maps) channel.expect(Msg::go, "wait for the id maps");
        for (const auto& [ns, fd] : cfg.joins) {
            linux::set_namespace(fd, ns, linux::spec_name(ns));
            ::close(fd);
        }
        if (cfg.unshare_flags && ::unshare(static_cast<int>(cfg.unshare_flags)) < 0) throw_errno("unshare");
        if (cfg.user_namespace) {
            if (::setresgid(0, 0, 0) < 0) throw_errno("setgid 0 in the user namespace");
            if (::setresuid(0, 0, 0) < 0) throw_errno("setuid 0 in the user namespace");
        }
        const oci::Spec& spec = *cfg.spec;
        if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
            throw_errno("sethostname", spec.hostname);
        if (!spec.domainname.empty() && ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
            throw_errno("setdomainname", spec.domainname);
        apply_sysctls(spec);

        RootfsPlan plan;
        plan.spec = &spec;
        plan.rootfs = cfg.rootfs;
        plan.bundle = cfg.bundle;
        plan.user_namespace = cfg.user_namespace;
        plan.cgroup_namespace = cfg.new_cgroup_ns;
        plan.cgroup = cfg.cgroup;
        plan.cwd = cfg.process.cwd;
        UniqueFd root = prepare_rootfs(plan);

        if (cfg.hooks_in_runtime) {
            channel.send(Msg::hooks);
            hook_state = channel.expect(Msg::go, "wait for the createRuntime hooks").payload;
        }
        if (spec.hooks && !spec.hooks->create_container.empty())
            run_hooks(spec.hooks->create_container, hook_state, "createContainer");
        protect_paths(root.get(), spec);
        bool private_prop = !spec.linux || spec.linux->rootfs_propagation.empty() ||
                            spec.linux->rootfs_propagation == "private" ||
                            spec.linux->rootfs_propagation == "rprivate";
        if (cfg.no_pivot) move_root_into(root.get(), cfg.rootfs);
        else pivot_into(root.get(), private_prop);
        root.reset();

        UniqueFd master;
        if (cfg.process.terminal) master = setup_console(cfg.process, true);
        finish_rootfs(spec);
        check_executable(cfg.process);
        // Created: from here the process outlives the runtime, which exits
        // right after "ready" when no monitor stays (the caller's subreaper
        // adopts it). So the death signal goes first; a runtime that died
        // before this point is seen as a new parent, and the process gives up.
        ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        if (::getppid() != runtime_pid) ::_exit(1);
        if (master) hand_over_master(std::move(master), cfg.console_socket, channel, Msg::ready);
        else channel.send(Msg::ready);

        wait_for_start(cfg, channel);
        if (cfg.new_cgroup_ns && ::unshare(CLONE_NEWCGROUP) < 0) throw_errno("unshare the cgroup namespace");
        if (spec.hooks && !spec.hooks->start_container.empty()) {
            const std::string from = "\"status\":\"creating\"";
            if (auto at = hook_state.find(from); at != std::string::npos)
                hook_state.replace(at, from.size(), "\"status\":\"running\"");
            run_hooks(spec.hooks->start_container, hook_state, "startContainer");
        }
    } catch (const std::exception&) {
        report_and_exit(channel);
    }
    finalize_and_exec(cfg.process, channel, cfg.init);
}

void exec_init(const ExecConfig& cfg, Channel& channel) {
    try {
        leave_runtime({channel.fd(), cfg.pidfd, cfg.console_socket}, cfg.cgroup_tasks, cfg.process.preserve_fds);
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (cfg.setns_flags && ::setns(cfg.pidfd, static_cast<int>(cfg.setns_flags)) < 0)
            throw_errno("join the container's namespaces");
        ::close(cfg.pidfd);
        channel.expect(Msg::go, "wait for the cgroups");
        if (cfg.process.terminal) {
            UniqueFd master = setup_console(cfg.process, false);
            hand_over_master(std::move(master), cfg.console_socket, channel, Msg::ready);
        } else {
            channel.send(Msg::ready);
        }
        ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    } catch (const std::exception&) {
        report_and_exit(channel);
    }
    finalize_and_exec(cfg.process, channel, false);
}

} // namespace ctk::container
