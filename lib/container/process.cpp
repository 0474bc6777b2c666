#include "container/process.hpp"

#include <linux/keyctl.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "core/process.hpp"
#include "linux/process.hpp"

namespace ctk::container {

bool apparmor_enabled() {
    auto v = read_file_if_exists("/sys/module/apparmor/parameters/enabled", 64);
    return v && !v->empty() && (*v)[0] == 'Y';
}

bool selinux_enabled() { return ::access("/sys/fs/selinux/enforce", F_OK) == 0; }

ProcessPlan plan_process(const oci::Process& p, const std::optional<oci::Seccomp>& seccomp,
                         const std::function<void(const std::string&)>& warn, const std::string& seccomp_cache) {
    ProcessPlan plan;
    plan.args = p.args;
    plan.env = p.env;
    plan.cwd = p.cwd.empty() ? "/" : p.cwd;
    if (plan.cwd[0] != '/') throw_invalid("process.cwd " + quote(plan.cwd) + " is not absolute");
    plan.uid = p.user.uid;
    plan.gid = p.user.gid;
    for (auto g : p.user.additional_gids) plan.additional_gids.push_back(g);
    if (p.user.umask) plan.umask = static_cast<mode_t>(*p.user.umask);
    if (p.capabilities) plan.caps = linux::cap_sets(*p.capabilities, warn);
    plan.no_new_privileges = p.no_new_privileges;
    for (const auto& r : p.rlimits) {
        auto res = linux::parse_rlimit(r.type);
        if (!res) throw_invalid("process.rlimits: unknown rlimit " + quote(r.type));
        if (r.soft > r.hard) throw_invalid("process.rlimits: " + r.type + " soft limit above the hard limit");
        rlimit lim {};
        lim.rlim_cur = r.soft;
        lim.rlim_max = r.hard;
        plan.rlimits.emplace_back(*res, lim);
    }
    if (seccomp) plan.seccomp = linux::seccomp::compile_cached(*seccomp, seccomp_cache);
    if (!p.apparmor_profile.empty()) {
        if (apparmor_enabled()) plan.apparmor_profile = p.apparmor_profile;
        else warn("apparmorProfile " + quote(p.apparmor_profile) + " given but AppArmor is not enabled on this host: ignored");
    }
    if (!p.selinux_label.empty()) {
        if (selinux_enabled()) plan.selinux_label = p.selinux_label;
        else warn("selinuxLabel given but SELinux is not enabled on this host: ignored");
    }
    plan.terminal = p.terminal;
    plan.console_size = p.console_size;
    if (plan.args.empty()) throw_invalid("process.args must not be empty");
    return plan;
}

void reset_signals() {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        ::sigaction(s, &dfl, nullptr);
    }
}

std::string find_executable(const ProcessPlan& plan) {
    const std::string& name = plan.args[0];
    if (name.find('/') != std::string::npos) return name;
    std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const auto& e : plan.env)
        if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
    bool denied = false;
    for (const auto& dir : split(path, ':')) {
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) < 0 || S_ISDIR(st.st_mode)) continue;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        denied = true;
    }
    if (denied) throw Error("exec " + quote(name) + ": permission denied", ErrorKind::invalid, EACCES);
    throw Error("exec " + quote(name) + ": executable file not found in $PATH", ErrorKind::not_found, ENOENT);
}

void check_executable(const ProcessPlan& plan) {
    const std::string& name = plan.args[0];
    if (name.find('/') == std::string::npos) {
        (void)find_executable(plan);
        return;
    }
    if (name[0] != '/') return; // relative to cwd: execve tells
    struct stat st {};
    if (::stat(name.c_str(), &st) < 0)
        throw Error("exec " + quote(name) + ": no such file or directory", ErrorKind::not_found, ENOENT);
    if (S_ISDIR(st.st_mode) || ::access(name.c_str(), X_OK) < 0)
        throw Error("exec " + quote(name) + ": permission denied", ErrorKind::invalid, EACCES);
}

int exec_failure_status(const Error& e) {
    std::string_view what = e.what();
    if (what.rfind("exec ", 0) != 0) return 0;
    if (e.error_number() == ENOENT) return 127;
    if (e.error_number() == EACCES) return 126;
    return 0;
}

void enter_cwd(const std::string& cwd) {
    UniqueFd root = open_path("/", O_PATH | O_DIRECTORY);
    UniqueFd dir = try_open_in_root(root.get(), cwd, O_PATH | O_DIRECTORY);
    if (!dir) throw_errno("chdir to cwd", cwd);
    if (::fchdir(dir.get()) < 0) throw_errno("chdir to cwd", cwd);
    char buf[4096];
    if (!::getcwd(buf, sizeof buf) || buf[0] != '/')
        throw Error("cwd " + quote(cwd) + " is outside the container", ErrorKind::invalid);
}

namespace {

void write_attr(const std::string& file, const std::string& value) {
    // Only through a real procfs (a fake /proc in the rootfs must not swallow it).
    UniqueFd proc = open_path("/proc", O_PATH | O_DIRECTORY);
    struct statfs st {};
    if (::fstatfs(proc.get(), &st) < 0 || st.f_type != PROC_SUPER_MAGIC)
        throw Error("/proc in the container is not procfs: cannot apply " + file, ErrorKind::invalid);
    std::string path = "thread-self/attr/" + file;
    int fd = ::openat(proc.get(), path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("open", "/proc/" + path);
    UniqueFd f(fd);
    if (::write(fd, value.data(), value.size()) < 0) throw_errno("write", "/proc/" + path);
}

void setup_terminal_stdio() {
    // stdio is the pty slave already (dup2 by the caller); make it ours.
    if (::setsid() < 0 && errno != EPERM) throw_errno("setsid");
    if (::ioctl(0, TIOCSCTTY, 0) < 0) throw_errno("make the pty the controlling terminal");
}

[[noreturn]] void mini_init(const std::string& path, const ProcessPlan& plan, Channel& channel);

// The init's command line as the container sees it (/proc/1/cmdline, ps) is
// Docker's, "/sbin/docker-init -- CMD ARGS", and its name "docker-init", not
// ns-run's path and arguments on the host. The kernel shows the memory that
// held our own argv ([arg_start, arg_end) of /proc/self/stat): it is rewritten
// in place, the rest filled with NULs (which ps drops), cut where the new line
// is longer. (prctl(PR_SET_MM_ARG_*) could point it elsewhere, but it needs
// CAP_SYS_RESOURCE, which many hosts' bounding sets lack.)
void show_as_docker_init(const std::vector<std::string>& args) {
    (void)::prctl(PR_SET_NAME, "docker-init", 0, 0, 0);
    auto stat = read_file_if_exists("/proc/self/stat", 4096);
    if (!stat || stat->rfind(')') == std::string::npos) return;
    // fields after "pid (comm)": state is field 3, arg_start and arg_end fields 48 and 49
    auto fields = split(stat->substr(stat->rfind(')') + 2), ' ');
    if (fields.size() < 47) return;
    auto arg_start = parse_uint(fields[45]), arg_end = parse_uint(fields[46]);
    if (!arg_start || !arg_end || *arg_end <= *arg_start) return;
    std::string line = std::string("/sbin/docker-init") + '\0' + "--" + '\0';
    for (const auto& a : args) line += a + '\0';
    size_t room = *arg_end - *arg_start;
    line.resize(room, '\0');
    line.back() = '\0'; // a NUL last: the kernel reads no further (setproctitle's rule)
    std::memcpy(reinterpret_cast<char*>(*arg_start), line.data(), room);
}

} // namespace

namespace {
// HOME when the environment lacks it, as runc sets it: the user's home in the
// container's /etc/passwd, else "/".
std::string home_of(uid_t uid) {
    auto passwd = read_file_if_exists("/etc/passwd", 1 << 20);
    if (passwd)
        for (const auto& line : split(*passwd, '\n')) {
            auto f = split(line, ':');
            if (f.size() >= 6 && parse_uint(f[2]) == uid && !f[5].empty()) return f[5];
        }
    return "/";
}
} // namespace

void finalize_and_exec(const ProcessPlan& given, Channel& channel, bool as_init) {
    int code = 1;
    ProcessPlan plan = given;
    try {
        if (as_init) show_as_docker_init(plan.args);
        bool has_home = false;
        for (const auto& e : plan.env) has_home |= e.rfind("HOME=", 0) == 0;
        if (!has_home) plan.env.push_back("HOME=" + home_of(plan.uid));
        for (const auto& [res, lim] : plan.rlimits)
            if (::setrlimit(res, &lim) < 0) throw_errno("setrlimit " + std::to_string(res));
        if (!plan.apparmor_profile.empty()) write_attr("exec", "exec " + plan.apparmor_profile);
        if (!plan.selinux_label.empty()) write_attr("exec", plan.selinux_label);
        // runc: a session keyring of the container's own, so that keys of the
        // host's session (or of other containers) are out of its reach
        if (!plan.session_keyring.empty() &&
            ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, plan.session_keyring.c_str()) < 0 && errno != ENOSYS)
            throw_errno("join session keyring", plan.session_keyring);
        // a session of its own, as runc's init makes: the caller's job control
        // and terminal signals do not reach it
        if (::setsid() < 0 && errno != EPERM) throw_errno("setsid");
        if (plan.terminal) setup_terminal_stdio();
        enter_cwd(plan.cwd);

        if (plan.setgroups_allowed) {
            if (::setgroups(plan.additional_gids.size(), plan.additional_gids.data()) < 0)
                throw_errno("setgroups");
        }
        if (plan.caps) {
            linux::drop_bounding(*plan.caps);
            linux::keep_capabilities(true);
        }
        if (::setresgid(plan.gid, plan.gid, plan.gid) < 0) throw_errno("setgid " + std::to_string(plan.gid));
        if (::setresuid(plan.uid, plan.uid, plan.uid) < 0) throw_errno("setuid " + std::to_string(plan.uid));
        // Without no_new_privs, loading seccomp needs CAP_SYS_ADMIN: keep it
        // effective until the filter is in, then drop it.
        bool need_admin = !plan.seccomp.empty() && !plan.no_new_privileges;
        uint64_t extra = need_admin ? (uint64_t{1} << CAP_SYS_ADMIN) : 0;
        if (plan.caps) {
            linux::apply_capabilities(*plan.caps, extra);
            linux::keep_capabilities(false);
        }
        if (plan.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            throw_errno("prctl PR_SET_NO_NEW_PRIVS");
        if (plan.umask) ::umask(*plan.umask);
        else ::umask(022);

        std::string path;
        try {
            path = find_executable(plan);
        } catch (const Error& e) {
            code = e.kind() == ErrorKind::not_found ? 127 : 126;
            throw;
        }
        // CVE-2024-21626: nothing of the runtime reaches the new program.
        for (int fd = 3; fd < 3 + plan.preserve_fds; fd++) ::fcntl(fd, F_SETFD, 0);
        linux::cloexec_from(3 + plan.preserve_fds);

        if (as_init) {
            if (!plan.seccomp.empty()) {
                linux::seccomp::load(plan.seccomp);
                if (need_admin && plan.caps) linux::drop_extra(*plan.caps);
            }
            mini_init(path, plan, channel);
        }
        std::vector<char*> argv, envp;
        for (const auto& a : plan.args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        for (const auto& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        if (!plan.seccomp.empty()) {
            UniqueFd listener = linux::seccomp::load(plan.seccomp);
            (void)listener.release();
            if (need_admin && plan.caps) linux::drop_extra(*plan.caps);
        }
        ::execve(path.c_str(), argv.data(), envp.data());
        int err = errno;
        code = (err == ENOENT) ? 127 : 126;
        throw_errno("exec", plan.args[0], err);
    } catch (const Error& e) {
        channel.send_error(e);
        ::_exit(code);
    } catch (const std::exception& e) {
        channel.send_error(Error(e.what()));
        ::_exit(code);
    }
}

namespace {

// A minimal init as pid 1 (tini's job): starts the process, forwards every
// signal it can catch to it, reaps every orphan, and exits with its status.
void mini_init(const std::string& path, const ProcessPlan& plan, Channel& channel) {
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, nullptr);
    int exec_pipe[2];
    if (::pipe2(exec_pipe, O_CLOEXEC) < 0) throw_errno("pipe");
    pid_t child = ::fork();
    if (child < 0) throw_errno("fork");
    if (child == 0) {
        ::close(exec_pipe[0]);
        ::setpgid(0, 0);
        if (plan.terminal) ::tcsetpgrp(0, ::getpid());
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        std::vector<char*> argv, envp;
        for (const auto& a : plan.args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        for (const auto& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        ::execve(path.c_str(), argv.data(), envp.data());
        int err = errno;
        ssize_t n = ::write(exec_pipe[1], &err, sizeof err);
        (void)n;
        ::_exit(err == ENOENT ? 127 : 126);
    }
    ::close(exec_pipe[1]);
    int err = 0;
    ssize_t n;
    do {
        n = ::read(exec_pipe[0], &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    ::close(exec_pipe[0]);
    if (n == static_cast<ssize_t>(sizeof err)) {
        channel.send_error(Error("exec " + quote(plan.args[0]) + ": " + errno_text(err), ErrorKind::failed, err));
        ::waitpid(child, nullptr, 0);
        ::_exit(err == ENOENT ? 127 : 126);
    }
    channel.close();
    for (;;) {
        siginfo_t info {};
        int sig = ::sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            ::kill(child, sig);
            continue;
        }
        for (;;) {
            int status = 0;
            pid_t p = ::waitpid(-1, &status, WNOHANG);
            if (p <= 0) break;
            if (p == child) ::_exit(exit_status(status));
        }
    }
}

} // namespace

} // namespace ctk::container
