// Running other programs: the tools compose by exec (ctl runs reg-fetch,
// img-unpack, ns-run ...), ns-run runs OCI hooks, tests run the built tools.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/fd.hpp"

namespace ctk {

// posix_spawn attributes for a child that starts as a fresh process does:
// no signal blocked, every signal at its default (whatever the parent set),
// plus `extra_flags` (POSIX_SPAWN_SETSID, POSIX_SPAWN_SETPGROUP ...; set the
// matching attribute through get() before spawning).
class SpawnAttr {
public:
    explicit SpawnAttr(short extra_flags = 0);
    ~SpawnAttr() { posix_spawnattr_destroy(&attr_); }
    SpawnAttr(const SpawnAttr&) = delete;
    SpawnAttr& operator=(const SpawnAttr&) = delete;
    posix_spawnattr_t* get() { return &attr_; }

private:
    posix_spawnattr_t attr_;
};

struct RunOptions {
    std::string executable;                            // run this file; argv[0] is only its name ("" = argv[0] via PATH)
    std::string input;                                 // written to the child's stdin
    std::optional<std::vector<std::string>> env;       // replaces the environment ("K=V")
    std::vector<std::string> extra_env;                // added to (or overriding) the environment
    std::string cwd;                                   // "" = inherit
    bool capture_stdout = true;                        // else inherited
    bool capture_stderr = true;                        // else inherited
    bool stdin_inherit = false;                        // pass our stdin instead of `input`
    int stdin_fd = -1;                                 // the child's stdin is this fd (a pipe streaming a tar)
    int stdout_fd = -1;                                // the child's stdout is this fd (not captured)
    int timeout_ms = -1;                               // SIGKILL after this long; -1 = none
};

struct ProcessResult {
    int status = 0;         // exit code, or 128 + signal number as a shell reports it
    bool timed_out = false;
    std::string out;
    std::string err;
    bool ok() const noexcept { return status == 0 && !timed_out; }
};

// Runs argv[0] (looked up in PATH when it has no '/') and waits for it.
// Throws when it cannot be started (ENOENT: not_found).
ProcessResult run_process(const std::vector<std::string>& argv, const RunOptions& options = {});

// A child whose stdin or stdout is a pipe the caller feeds or drains as it
// runs (img-pack's tars streamed to and from a socket or another child);
// stderr is captured. It runs under run_process on a thread of its own.
class PipedProcess {
public:
    enum class End { stdin_of, stdout_of }; // which of the child's ends the pipe is
    PipedProcess(std::vector<std::string> argv, End end, RunOptions options = {});
    ~PipedProcess();
    PipedProcess(const PipedProcess&) = delete;
    PipedProcess& operator=(const PipedProcess&) = delete;
    // The caller's end: write the child's stdin to it, or read its stdout.
    int fd() const noexcept { return mine_.get(); }
    // Closes the caller's end: end of input, or EPIPE for a child still writing.
    void close() noexcept { mine_.reset(); }
    // Closes the caller's end and waits; throws what run_process threw
    // (the child could not be started).
    ProcessResult wait();

private:
    UniqueFd mine_, theirs_;
    ProcessResult result_;
    std::exception_ptr error_;
    std::thread thread_;
};

// Exit code or 128+signal from a wait status.
int exit_status(int wstatus) noexcept;

// Directory of the running executable (from /proc/self/exe): tools find their
// siblings here before PATH.
std::string self_exe_dir();

// The environment as "K=V" strings, with `overrides` replacing or adding
// entries (of two overrides of one key, the later wins).
std::vector<std::string> environment_with(const std::vector<std::string>& overrides);

} // namespace ctk
