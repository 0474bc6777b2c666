// The runc verbs over a state directory (--root). Each returns what the tool
// prints or the exit status of the container process; failures throw ctk::Error.
//
// Processes (see the README's ns-run section for the picture):
//   run (foreground)  ns-run --clone3--> container process; ns-run waits,
//                     forwards signals, proxies a pty, records the exit.
//   create, run -d    ns-run --fork--> monitor --clone3--> container process;
//                     ns-run returns once the container is created (or, with
//                     run -d, started); the monitor re-executes itself as a
//                     small waiter that writes the stdio log and the exit.
//   exec              ns-run --clone3 (in the container's pid namespace)-->
//                     process that joins the other namespaces and executes.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "container/log.hpp"
#include "container/state.hpp"
#include "core/json.hpp"

namespace ctk::container {

// config.json annotation: "true" runs the minimal init as pid 1, as --init does.
inline constexpr const char* init_annotation = "io.github.ctk.ns-run.init";

struct CreateOptions {
    std::string id;
    std::string bundle = ".";
    std::string console_socket;
    std::string pid_file;
    std::string stdio_log;   // json-file log of stdout/stderr, written by the monitor
    int preserve_fds = 0;
    bool init = false;       // a minimal init as pid 1
    bool no_pivot = false;   // accepted for runc compatibility; pivot_root is always used
};

struct ExecOptions {
    std::string id;
    std::string process_file;          // --process: a runtime-spec process object
    std::vector<std::string> args;
    std::vector<std::string> env;      // -e K=V
    std::string cwd;
    std::string user;                  // uid[:gid]
    std::vector<uint32_t> additional_gids;
    std::vector<std::string> caps;     // --cap
    bool tty = false;
    bool detach = false;
    bool no_new_privs = false;
    bool ignore_paused = false;
    std::string apparmor, process_label;
    std::string console_socket;
    std::string pid_file;
    int preserve_fds = 0;
};

class Runtime {
public:
    Runtime(std::string root, RuntimeLog log) : store_(std::move(root)), log_(std::move(log)) {}

    void create(const CreateOptions& o);
    void start(const std::string& id);
    // Foreground: the container's exit status. Detached: 0 once started.
    int run(const CreateOptions& o, bool detach, bool keep);
    Json state(const std::string& id) const;
    void kill(const std::string& id, int sig, bool all);
    void remove(const std::string& id, bool force);
    Json list() const;
    std::vector<pid_t> ps(const std::string& id) const;
    void pause(const std::string& id);
    void resume(const std::string& id);
    int exec(const ExecOptions& o);
    // Blocks until the container has stopped: {"id": ..., "exitCode": N}.
    Json wait(const std::string& id);
    static Json features();

    const StateStore& store() const { return store_; }

private:
    StateStore store_;
    RuntimeLog log_;
};

// The monitor's main after it re-executed itself (argv from Runtime).
int monitor_main(int argc, char** argv);
inline constexpr const char* monitor_verb = "__monitor";

} // namespace ctk::container
