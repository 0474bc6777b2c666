// ctld: the Docker Engine API over the ctk store.
//
// Every request is served by lib/engine, the same code ctl runs, over the
// same store (CTK_ROOT, CTK_RUN): a container made by ctl is seen by ctld and
// the other way round. ctld keeps no state of its own that is not in the
// store or the runtime: its memory holds only what clients wait on (the hub),
// the recent events, and exec sessions. Restarting it leaves containers
// running (their monitors and stdio keepers are not its children in any way
// that matters); at start-up it finds the running ones again.
//
// One thread per connection, blocking I/O: a slow or stuck client holds up
// its own connection and nothing else.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/events.hpp"
#include "api/http.hpp"
#include "api/hub.hpp"
#include "api/router.hpp"
#include "api/transport.hpp"
#include "engine/engine.hpp"
#include "store/paths.hpp"

namespace ctk::api {

struct DaemonOptions {
    std::vector<std::string> hosts;   // unix:///… or tcp://…
    bool tls_verify = false;          // mutual TLS on TCP listeners
    TlsFiles tls;
    bool insecure_tcp = false;        // plain TCP, loopback only
    std::string group = "ctk";        // owner group of UNIX sockets (mode 0660)
    bool group_given = false;         // --group was given: a missing group is an error
    bool debug = false;               // a log line per request
    size_t max_connections = 1024;    // at it, one awaiting a request is closed, or the new one gets 503
    ServerLimits limits;              // header size, header and idle timeouts
    std::vector<std::pair<std::string, int>> address_pools; // base CIDR, subnet size (--default-address-pool)
    uint64_t json_body_limit = 8u << 20;
};

// An exec instance (POST /containers/{id}/exec … /exec/{id}/start).
struct ExecInstance {
    std::string id, container;
    std::vector<std::string> cmd, env;
    std::string user, workdir;
    bool tty = false, attach_stdin = false, attach_stdout = true, attach_stderr = true, privileged = false;
    int rows = 0, cols = 0;
    std::mutex m;
    bool started = false, running = false;
    std::optional<int> exit_code;
    pid_t runtime_pid = 0; // the ns-run exec process
    int master = -1;       // our side of its pty (TTY), while running
};

class Daemon {
public:
    Daemon(store::Paths paths, DaemonOptions options);
    ~Daemon();

    // Listens and serves until SIGTERM or SIGINT. Returns the exit status.
    int run();
    // Serves one request (the router); public for tests.
    void handle(Request& req, Response& res) { router_.dispatch(req, res); }
    // Serves a connection until it closes (tests call it on a socketpair).
    void serve(std::unique_ptr<Transport> t);

    const store::Paths& paths() const { return paths_; }
    const DaemonOptions& options() const { return options_; }
    engine::Engine engine() const { return engine::Engine(paths_); }
    Events& events() { return events_; }
    Hub& hub() { return hub_; }
    void log(const std::string& line) const;

    // ---- containers
    // POST /containers/{id}/start. false: it was running already (304).
    bool start_container(const std::string& ref);
    // Makes sure a running container's exit is noticed (ctl may have started it).
    void watch_if_running(const std::string& id);
    // The same with a state the caller has just read (no second `ns-run state`).
    void watch_if_running(const std::string& id, const engine::ContainerState& st);
    void watch_if_running(const std::string& id, const engine::RuntimeState& rs);
    // Removes a container the way DELETE /containers/{id} does, with events.
    void remove_container(const std::string& ref, bool force, bool volumes);
    // The attributes Docker's container events carry (name, image, labels).
    std::map<std::string, std::string> container_attributes(const engine::ContainerRecord& r) const;
    void container_event(const engine::ContainerRecord& r, const std::string& action,
                         std::map<std::string, std::string> extra = {});
    // "network connect" (before "start") or "disconnect" (after "die") for each
    // network the container is attached to, as dockerd reports them. (ctk's
    // endpoint itself lives from create to rm: a stopped container keeps its address.)
    void network_events(const engine::ContainerRecord& r, const std::string& action);

    // ---- exec instances
    std::shared_ptr<ExecInstance> new_exec(std::shared_ptr<ExecInstance> e);
    std::shared_ptr<ExecInstance> exec(const std::string& id); // HttpError 404 when unknown
    std::vector<std::string> exec_ids_of(const std::string& container);

    // Restores the view of running containers after a restart (live restore).
    void recover();

private:
    void on_exit(const std::string& id);
    void accept_loop(std::vector<std::pair<UniqueFd, std::optional<TlsContext>>>& listeners, int signal_fd);
    // Answers 503 with `message` on a connection that is not served, and ends its write side.
    void refuse(int fd, const std::string& message);
    void log_throttled(const std::string& line);
    // Shuts down the connection that has awaited a request longest; false: none does.
    bool evict_waiting();

    store::Paths paths_;
    DaemonOptions options_;
    Router router_;
    Events events_;
    Hub hub_;
    std::unique_ptr<ExitWatcher> watcher_;
    std::mutex exec_m_;
    std::map<std::string, std::shared_ptr<ExecInstance>> execs_;
    std::atomic<size_t> connections_{0};
    std::atomic<int64_t> last_throttled_log_{0};
    std::atomic<int64_t> last_connection_end_{0};
    bool trim_pending_ = false; // the accept loop's: connections were open since the last malloc_trim
    std::atomic<uint64_t> serial_{0};
    std::mutex waiting_m_;
    std::map<uint64_t, std::pair<int, int64_t>> waiting_; // connections awaiting a request: fd, since (ns)
    std::vector<std::string> unix_paths_;
};

// Route tables, one file per object.
void add_system_routes(Router& r, Daemon& d);
void add_image_routes(Router& r, Daemon& d);
void add_container_routes(Router& r, Daemon& d);
void add_exec_routes(Router& r, Daemon& d);
void add_network_routes(Router& r, Daemon& d);
void add_volume_routes(Router& r, Daemon& d);
void add_build_routes(Router& r, Daemon& d);

// Request bodies: JSON objects (Content-Type application/json or none), with
// Go's wording for syntax errors (500, as the engine answers).
Json json_body(Request& req, uint64_t limit, bool required = false);
// A Docker-style parse error message for nlohmann's exception.
std::string go_json_error(const std::string& text, const std::exception& e);

} // namespace ctk::api
