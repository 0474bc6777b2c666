// Starting the tools with the file descriptors ctld hands them: a pipe for a
// container's stdin, a pty for an exec, stderr read line by line for
// reg-fetch's progress. (core/process.hpp's run_process covers the plain
// "run and collect the output" case.)
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "core/fd.hpp"

namespace ctk::api {

struct SpawnOptions {
    // For each of stdin, stdout, stderr: an fd to give the child, or -1 for
    // /dev/null unless the matching pipe_* is set (then the parent end is returned).
    int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
    bool pipe_stdin = false, pipe_stdout = false, pipe_stderr = false;
    std::vector<std::pair<int, int>> extra_fds; // {fd in the child (>= 3), fd of ours}
    bool new_session = false;                   // setsid: not ended by our terminal or process group
    std::vector<std::string> extra_env;         // "K=V" added to the environment
};

struct Spawned {
    pid_t pid = -1;
    UniqueFd in, out, err; // parent ends of the requested pipes
};

// Throws ctk::Error (not_found when the program does not exist).
Spawned spawn(const std::vector<std::string>& argv, const SpawnOptions& options);
// Waits for a child; exit code or 128+signal.
int wait_child(pid_t pid);
// Reads everything until EOF (EINTR-safe).
std::string read_all(int fd);

} // namespace ctk::api
