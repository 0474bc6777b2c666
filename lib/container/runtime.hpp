// The runc verbs over a state directory (--root). Each returns what the tool
// prints or the exit status of the container process; failures throw ctk::Error.
//
// Processes (see the README's ns-run section for the picture):
//   run (foreground)  ns-run --clone3--> container process; ns-run waits,
//                     forwards signals, proxies a pty, records the exit.
//   create, run -d    ns-run --clone3--> container process, as runc does:
//                     ns-run returns once the container is created (or, with
//                     run -d, started) and the process is adopted by the
//                     caller's subreaper (containerd's shim, conmon), which
//                     reaps it and learns its exit status.
//   ... --monitor     ns-run --fork--> monitor --clone3--> container process;
//                     for callers without a shim (ctl, ctld): the monitor
//                     re-executes itself as a small waiter that writes the
//                     stdio log and records the exit in state.json.
//   exec              ns-run --clone3 (in the container's pid namespace)-->
//                     process that joins the other namespaces and executes.
#pragma once

#include <sys/types.h>

#include <functional>
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
    std::string stdio_log;   // json-file log of stdout/stderr (foreground, or by the monitor)
    bool monitor = false;    // create, run -d: a monitor of ns-run's is the process's parent
    bool new_keyring = true; // a session keyring of the container's own (runc's default)
    int preserve_fds = 0;
    bool init = false;       // a minimal init as pid 1
    bool no_pivot = false;   // MS_MOVE + chroot instead of pivot_root (a ramfs rootfs)
    std::string notify_socket; // NOTIFY_SOCKET given to ns-run: relayed (container/notify.hpp)
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
    // seccomp_cache: where compiled seccomp filters are kept ("" = none); not
    // under `root`, which callers share with runc (dockerd, podman list it).
    Runtime(std::string root, RuntimeLog log, std::string seccomp_cache = {})
        : store_(std::move(root)), log_(std::move(log)), seccomp_cache_(std::move(seccomp_cache)) {}

    void create(const CreateOptions& o);
    // notify_socket: NOTIFY_SOCKET given to ns-run start (container/notify.hpp).
    void start(const std::string& id, const std::string& notify_socket = {});
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
    // runc update: new limits for a running container's cgroup (merged into
    // the resources it was created with, as a JSON merge patch), kept in its state.
    void update(const std::string& id, const Json& resources);
    // runc events: with `once` one stats event {"type":"stats","id","data"};
    // else a stats event every interval_ms and {"type":"oom","id"} when the
    // OOM killer strikes, until the container stops.
    void events(const std::string& id, int interval_ms, bool once, const std::function<void(const Json&)>& emit);

    const StateStore& store() const { return store_; }

private:
    StateStore store_;
    RuntimeLog log_;
    std::string seccomp_cache_;
};

// The monitor's main after it re-executed itself (argv from Runtime).
int monitor_main(int argc, char** argv);
inline constexpr const char* monitor_verb = "__monitor";

} // namespace ctk::container
