#include "container/monitor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>

#include "container/foreground.hpp"
#include "container/log.hpp"
#include "container/runtime.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"
#include "linux/process.hpp"

namespace ctk::container {

void record_exit(const StateStore& store, const std::string& id, int status) {
    std::string dir = store.dir(id);
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    UniqueFd lock(fd);
    while (::flock(fd, LOCK_EX) < 0 && errno == EINTR) {
    }
    if (!store.exists(id)) return;
    State s = store.load(id);
    s.exit_code = status;
    s.finished = now_rfc3339();
    store.save(s);
}

void monitor_loop(const StateStore& store, const std::string& id, pid_t pid, const std::string& stdio_log,
                  int out, int err) {
    int status = 255;
    try {
        UniqueFd pidfd = linux::pidfd_open(pid);
        JsonFileLog log;
        if (!stdio_log.empty()) log = JsonFileLog(stdio_log);
        Foreground fg;
        fg.pidfd = pidfd.get();
        fg.out = out;
        fg.err = err;
        fg.log = log ? &log : nullptr;
        fg.forward = false;
        fg.lean = true;
        status = wait_foreground(fg);
    } catch (const std::exception&) {
    }
    try {
        record_exit(store, id, status);
    } catch (const std::exception&) {
    }
    ::_exit(0);
}

void become_monitor(const StateStore& store, const std::string& id, pid_t pid, const std::string& stdio_log,
                    int out, int err) {
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        for (int fd = 0; fd <= 2; fd++) ::dup2(null, fd);
        ::close(null);
    }
    // The monitor forwards nothing: signals for the container go through `kill`.
    for (int sig : {SIGINT, SIGHUP, SIGQUIT, SIGPIPE}) ::signal(sig, SIG_IGN);
    block_forwarded_signals();
    std::string spid = std::to_string(pid), sout = std::to_string(out), serr = std::to_string(err);
    // Whatever ns-run inherited (a caller's pipe, `3>&1`; ctl's start lock) is
    // not the monitor's to keep for the container's whole life: a reader of
    // that pipe would wait for the container. Only out and err cross the exec.
    // The container's own --preserve-fds were passed to it before this.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = 3; fd < 1024; fd++) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (out >= 0) ::fcntl(out, F_SETFD, 0);
    if (err >= 0) ::fcntl(err, F_SETFD, 0);
    const char* argv[] = {"ns-run",    monitor_verb, store.root().c_str(), id.c_str(), spid.c_str(),
                          sout.c_str(), serr.c_str(), stdio_log.c_str(),   nullptr};
    // /proc/self/exe is the protected copy this process runs from.
    ::execv("/proc/self/exe", const_cast<char* const*>(argv));
    monitor_loop(store, id, pid, stdio_log, out, err);
}

int monitor_main(int argc, char** argv) {
    if (argc != 8) return 2;
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    StateStore store(argv[2]);
    pid_t pid = static_cast<pid_t>(std::atoi(argv[4]));
    int out = std::atoi(argv[5]);
    int err = std::atoi(argv[6]);
    if (out >= 0) ::fcntl(out, F_SETFD, FD_CLOEXEC);
    if (err >= 0) ::fcntl(err, F_SETFD, FD_CLOEXEC);
    monitor_loop(store, argv[3], pid, argv[7], out, err);
}

} // namespace ctk::container
