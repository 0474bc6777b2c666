#include "linux/process.hpp"

#include <poll.h>

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace ctk::linux {

Cloned clone3(const CloneArgs& a) {
    struct clone_args args {};
    int pidfd = -1;
    args.flags = a.flags | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    if (a.cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<uint64_t>(a.cgroup_fd);
    }
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) throw_errno("clone3");
    Cloned out;
    out.pid = static_cast<pid_t>(pid);
    if (pid > 0) out.pidfd.reset(pidfd);
    return out;
}

// glibc 2.36's <sys/pidfd.h> lacks extern "C": call the kernel directly.
UniqueFd try_pidfd_open(pid_t pid) {
    long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return UniqueFd();
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return UniqueFd(static_cast<int>(fd));
}

UniqueFd pidfd_open(pid_t pid) {
    UniqueFd fd = try_pidfd_open(pid);
    if (!fd) throw_errno("pidfd_open", std::to_string(pid));
    return fd;
}

bool pidfd_send_signal(int pidfd, int sig) {
    if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0) return true;
    if (errno == ESRCH) return false;
    throw_errno("send " + signal_name(sig) + " to the container process");
}

namespace {
// /proc/PID/stat's state (field 3) and start time (field 22), from one read.
struct StatFields {
    char state = 0;
    uint64_t start_time = 0;
};
std::optional<StatFields> read_proc_stat(pid_t pid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return std::nullopt;
    buf[n] = 0;
    // The command name (field 2) may hold spaces and ')': count from the last ')'.
    char* p = std::strrchr(buf, ')');
    if (!p || p[1] != ' ') return std::nullopt;
    StatFields f;
    f.state = p[2];
    p++;
    // fields 3..22: state is field 3; start time is the 20th field after ')'.
    for (int field = 3; field < 22; field++) {
        p = std::strchr(p + 1, ' ');
        if (!p) return std::nullopt;
    }
    f.start_time = std::strtoull(p + 1, nullptr, 10);
    return f;
}
} // namespace

std::optional<uint64_t> process_start_time(pid_t pid) {
    auto f = read_proc_stat(pid);
    if (!f) return std::nullopt;
    return f->start_time;
}

bool process_alive(pid_t pid, uint64_t start_time) {
    if (pid <= 0) return false;
    auto f = read_proc_stat(pid);
    if (!f) return false;
    if (start_time != 0 && f->start_time != start_time) return false;
    // A zombie has exited; it only waits for its parent to reap it.
    return f->state != 'Z' && f->state != 'X';
}

bool AliveCache::alive(pid_t pid, uint64_t start_time) {
    if (start_time == 0) return process_alive(pid, start_time); // nothing to tell a reused pid by
    auto key = std::make_pair(pid, start_time);
    {
        std::lock_guard<std::mutex> l(mutex_);
        if (auto it = held_.find(key); it != held_.end()) {
            // a pidfd turns readable when its process has exited (a zombie too)
            struct pollfd p = {it->second.pidfd.get(), POLLIN, 0};
            if (::poll(&p, 1, 0) == 0) {
                it->second.asked = true;
                return true;
            }
            held_.erase(it);
            return false;
        }
    }
    if (!process_alive(pid, start_time)) return false;
    UniqueFd fd = try_pidfd_open(pid);
    // alive before and after pidfd_open: the pid was not reused in between, so the pidfd holds that process
    if (!fd || !process_alive(pid, start_time)) return false;
    std::lock_guard<std::mutex> l(mutex_);
    held_.insert_or_assign(key, Held{std::move(fd), true});
    return true;
}

void AliveCache::sweep() {
    std::lock_guard<std::mutex> l(mutex_);
    std::erase_if(held_, [](const auto& e) { return !e.second.asked; });
    for (auto& [key, h] : held_) h.asked = false;
}

size_t AliveCache::held() const {
    std::lock_guard<std::mutex> l(mutex_);
    return held_.size();
}

namespace {
struct SignalName {
    const char* name;
    int number;
};
constexpr SignalName signal_names[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},    {"CONT", SIGCONT},
    {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},
    {"URG", SIGURG},     {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},   {"WINCH", SIGWINCH},   {"IO", SIGIO},       {"POLL", SIGPOLL},
    {"PWR", SIGPWR},     {"SYS", SIGSYS},
};
} // namespace

int parse_signal(std::string_view s) {
    std::string name(s);
    if (auto n = parse_uint(name)) {
        if (*n >= 1 && *n <= static_cast<uint64_t>(SIGRTMAX)) return static_cast<int>(*n);
        throw_invalid("signal " + quote(name) + " is out of range");
    }
    std::string upper;
    for (char c : name) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    std::string_view u = upper;
    if (u.substr(0, 3) == "SIG") u.remove_prefix(3);
    for (const auto& e : signal_names)
        if (u == e.name) return e.number;
    auto offset = [&](std::string_view base, int origin, int dir) -> std::optional<int> {
        if (u.substr(0, base.size()) != base) return std::nullopt;
        std::string_view rest = u.substr(base.size());
        if (rest.empty()) return origin;
        if (rest[0] != (dir > 0 ? '+' : '-')) return std::nullopt;
        auto n = parse_uint(rest.substr(1));
        if (!n) return std::nullopt;
        int sig = origin + dir * static_cast<int>(*n);
        if (sig < SIGRTMIN || sig > SIGRTMAX) return std::nullopt;
        return sig;
    };
    if (auto sig = offset("RTMIN", SIGRTMIN, 1)) return *sig;
    if (auto sig = offset("RTMAX", SIGRTMAX, -1)) return *sig;
    throw_invalid("unknown signal " + quote(name));
}

std::string signal_name(int sig) {
    for (const auto& e : signal_names)
        if (e.number == sig) return std::string("SIG") + e.name;
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
    return "signal " + std::to_string(sig);
}

std::optional<int> parse_rlimit(std::string_view name) {
    static constexpr SignalName rlimits[] = {
        {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
        {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    };
    for (const auto& e : rlimits)
        if (name == e.name) return e.number;
    return std::nullopt;
}

std::vector<std::pair<uintptr_t, size_t>> droppable_file_pages() {
    std::vector<std::pair<uintptr_t, size_t>> out;
    int fd = ::open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    std::string smaps;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        smaps.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    // A mapping: "start-end perms offset dev inode path", then "Key: value kB" lines.
    unsigned long start = 0, stop = 0;
    bool candidate = false;
    auto flush = [&] {
        if (candidate) out.emplace_back(start, stop - start);
        candidate = false;
    };
    for (const auto& line : split(smaps, '\n')) {
        unsigned long a = 0, b = 0, inode = 0;
        char perms[8] = {};
        if (std::sscanf(line.c_str(), "%lx-%lx %7s %*s %*s %lu", &a, &b, perms, &inode) == 4) {
            flush();
            start = a;
            stop = b;
            candidate = inode != 0 && perms[1] != 'w';
            continue;
        }
        // A read-only mapping can still hold copied pages (relocated data
        // made read-only afterwards): those would come back unrelocated.
        unsigned long kb = 0;
        if (std::sscanf(line.c_str(), "Anonymous: %lu", &kb) == 1 && kb != 0) candidate = false;
    }
    flush();
    return out;
}

void drop_pages(const std::vector<std::pair<uintptr_t, size_t>>& ranges) {
    for (const auto& [start, size] : ranges) ::madvise(reinterpret_cast<void*>(start), size, MADV_DONTNEED);
}

void close_fds_except(std::vector<int> keep) {
    std::sort(keep.begin(), keep.end());
    unsigned next = 3;
    for (int fd : keep) {
        if (fd < static_cast<int>(next)) {
            if (fd >= 0 && static_cast<unsigned>(fd) + 1 > next) next = static_cast<unsigned>(fd) + 1;
            continue;
        }
        if (static_cast<unsigned>(fd) > next) ::syscall(SYS_close_range, next, static_cast<unsigned>(fd) - 1, 0);
        next = static_cast<unsigned>(fd) + 1;
    }
    ::syscall(SYS_close_range, next, ~0U, 0);
}

void cloexec_from(int first) {
    if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    throw_errno("close_range");
}

} // namespace ctk::linux
