#include "container/foreground.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "linux/console.hpp"
#include "linux/process.hpp"

namespace ctk::container {

sigset_t forwarded_signals() {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD})
        sigaddset(&s, sig);
    return s;
}

void block_forwarded_signals() {
    sigset_t s = forwarded_signals();
    ::sigprocmask(SIG_BLOCK, &s, nullptr);
}

void unblock_forwarded_signals() {
    sigset_t s = forwarded_signals();
    ::sigprocmask(SIG_UNBLOCK, &s, nullptr);
}

int reap(int pidfd) {
    siginfo_t info {};
    for (;;) {
        if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) == 0) break;
        if (errno != EINTR) throw_errno("wait for the container process");
    }
    if (info.si_code == CLD_EXITED) return info.si_status;
    return 128 + info.si_status;
}

namespace {

bool copy_some(int from, int to) {
    char buf[65536];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
    if (to >= 0) {
        try {
            write_all(to, std::string_view(buf, static_cast<size_t>(n)));
        } catch (const Error&) {
        }
    }
    return true;
}

bool log_some(int from, JsonFileLog* log, JsonFileLog::Stream s, int tee_to) {
    char buf[65536];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
    std::string_view data(buf, static_cast<size_t>(n));
    if (log) log->feed(s, data);
    if (tee_to >= 0) {
        try {
            write_all(tee_to, data);
        } catch (const Error&) {
        }
    }
    return true;
}

} // namespace

int wait_foreground(const Foreground& fg) {
    sigset_t sigs = forwarded_signals();
    UniqueFd sfd(::signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sfd) throw_errno("signalfd");
    std::optional<linux::RawTerminal> raw;
    bool stdin_open = false;
    if (fg.master >= 0) {
        ::fcntl(fg.master, F_SETFL, ::fcntl(fg.master, F_GETFL) | O_NONBLOCK);
        if (is_terminal(0)) {
            raw.emplace(0);
            if (auto ws = linux::window_size(0)) linux::set_window_size(fg.master, *ws);
        }
        stdin_open = true;
    }
    int out = fg.out, err = fg.err;
    int master = fg.master;
    NotifyRelay* notify = fg.notify;
    std::optional<int> status;
    bool lean_done = false;
    std::vector<std::pair<uintptr_t, size_t>> lean_pages;
    if (fg.lean) lean_pages = linux::droppable_file_pages();
    while (!status || out >= 0 || err >= 0 || master >= 0) {
        pollfd p[7];
        int n = 0;
        p[n++] = {sfd.get(), POLLIN, 0};
        int pid_slot = -1, in_slot = -1, m_slot = -1, o_slot = -1, e_slot = -1, n_slot = -1;
        if (notify && !status) {
            n_slot = n;
            p[n++] = {notify->fd(), POLLIN, 0};
        }
        if (!status) {
            pid_slot = n;
            p[n++] = {fg.pidfd, POLLIN, 0};
        }
        if (stdin_open && !status) {
            in_slot = n;
            p[n++] = {0, POLLIN, 0};
        }
        if (master >= 0) {
            m_slot = n;
            p[n++] = {master, POLLIN, 0};
        }
        if (out >= 0) {
            o_slot = n;
            p[n++] = {out, POLLIN, 0};
        }
        if (err >= 0) {
            e_slot = n;
            p[n++] = {err, POLLIN, 0};
        }
        if (fg.lean && !lean_done) {
            // Right before blocking, so little runs between the drop and the wait.
            linux::drop_pages(lean_pages);
            lean_done = true;
        }
        // Once the process is gone, drain what is buffered, but do not wait
        // for a stray descendant that still holds the pty or a pipe.
        int r = ::poll(p, static_cast<nfds_t>(n), status ? 100 : -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (r == 0) break;
        if (p[0].revents & POLLIN) {
            signalfd_siginfo si {};
            while (::read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                int sig = static_cast<int>(si.ssi_signo);
                if (sig == SIGCHLD) continue;
                if (sig == SIGWINCH && fg.master >= 0 && fg.forward) {
                    if (auto ws = linux::window_size(0)) linux::set_window_size(fg.master, *ws);
                    continue;
                }
                if (!status && fg.forward) linux::pidfd_send_signal(fg.pidfd, sig);
            }
        }
        if (n_slot >= 0 && p[n_slot].revents) {
            try {
                if (notify->receive(fg.notify_pid, false)) notify = nullptr;
            } catch (const Error&) {
                notify = nullptr; // the host's socket is gone: the container runs on
            }
        }
        if (pid_slot >= 0 && p[pid_slot].revents) status = reap(fg.pidfd);
        if (in_slot >= 0 && p[in_slot].revents) {
            if (!copy_some(0, master)) stdin_open = false;
        }
        if (m_slot >= 0 && p[m_slot].revents) {
            if (!copy_some(master, 1)) master = -1; // EIO: every slave fd is closed
        }
        if (o_slot >= 0 && p[o_slot].revents) {
            if (!log_some(out, fg.log, JsonFileLog::stdout_stream, fg.tee ? 1 : -1)) out = -1;
        }
        if (e_slot >= 0 && p[e_slot].revents) {
            if (!log_some(err, fg.log, JsonFileLog::stderr_stream, fg.tee ? 2 : -1)) err = -1;
        }
    }
    if (fg.log) {
        fg.log->flush(JsonFileLog::stdout_stream);
        fg.log->flush(JsonFileLog::stderr_stream);
    }
    if (!status) status = reap(fg.pidfd);
    return *status;
}

} // namespace ctk::container
