// Waiting for a container process in the foreground (run, exec): forwards
// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 to it, keeps a pty's size
// in step with our terminal (SIGWINCH), copies between our stdio and the pty,
// and writes the stdio log.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "container/log.hpp"
#include "container/notify.hpp"

namespace ctk::container {

// The signals the foreground forwards; block them (and SIGCHLD) before the
// clone, so none is lost in between.
sigset_t forwarded_signals();
void block_forwarded_signals();
void unblock_forwarded_signals();

struct Foreground {
    int pidfd = -1;        // the process to wait for (our child)
    int master = -1;       // pty master to proxy, or -1
    int out = -1, err = -1; // stdio log pipes, or -1
    JsonFileLog* log = nullptr;
    bool tee = false;      // copy the log pipes to our own stdout/stderr too
    bool forward = true;   // forward signals (the detached monitor does not)
    bool lean = false;     // drop unused code pages before waiting (linux::release_file_pages)
    NotifyRelay* notify = nullptr; // relays the container's READY=1 (with MAINPID=notify_pid)
    pid_t notify_pid = 0;
};

// Returns the exit status (128+signal when killed).
int wait_foreground(const Foreground& fg);

// waitid(P_PIDFD) -> exit status; the caller must be the parent.
int reap(int pidfd);

} // namespace ctk::container
