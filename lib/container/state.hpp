// A container's runtime state: <root>/<id>/state.json and config.json (root: --root, default
// $CTK_RUN/runtime). It holds what the OCI state reports (config-linux.md,
// runtime.md "State") plus what the later verbs need: the config as created,
// the cgroup, the monitor, and created/started/finished times and the exit
// code (CONTRACTS.md, ns-run "state: the OCI state and its extensions").
#pragma once

#include <sys/types.h>

#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "core/fd.hpp"
#include "core/json.hpp"
#include "oci/runtime_spec.hpp"

namespace ctk::container {

enum class Status { creating, created, running, paused, stopped };
const char* status_name(Status s);

struct State {
    std::string id;
    std::string bundle;
    std::string rootfs;
    pid_t pid = 0;              // the container's first process (host pid)
    uint64_t pid_start = 0;     // its start time, to tell it from a reused pid
    pid_t monitor_pid = 0;      // the process that waits for it (monitor or foreground run)
    uint64_t monitor_start = 0;
    std::string created, started, finished; // RFC 3339
    std::optional<int> exit_code;
    bool own_pid_ns = false;    // the first process is pid 1 of its own pid namespace
    Json cgroup;                // linux::cgroup::Cgroup::to_json()
    oci::Spec config;           // config.json as it was at create
    // Set by StateStore::load_brief, once per state file: the file that says
    // whether the cgroup is frozen, and what it holds then (path "": none).
    std::optional<std::pair<std::string, std::string>> freeze_probe;

    Json to_json() const;
    static State from_json(const Json& j, const std::string& what);
};

// Status from the record and the live system: exit code recorded or process
// gone -> stopped; start fifo present -> created; cgroup frozen -> paused.
Status current_status(const State& s, const std::string& state_dir);

// The OCI state (runtime.md) plus the extensions: created, started, finished,
// exitCode, rootfs.
Json oci_state(const State& s, Status status);

// "2026-01-02T03:04:05.123456789Z"
std::string now_rfc3339();

// Container IDs: letters, digits, '_', '+', '-', '.', not starting with '.'.
void check_id(const std::string& id);

class StateStore {
public:
    explicit StateStore(std::string root) : root_(std::move(root)) {}
    const std::string& root() const { return root_; }
    std::string dir(const std::string& id) const { return root_ + "/" + id; }
    std::string fifo(const std::string& id) const { return dir(id) + "/exec.fifo"; }

    // Makes <root>/<id> (conflict when it exists) and returns it locked.
    UniqueFd create(const std::string& id) const;
    // Locks an existing container's directory (flock, exclusive); not_found when absent.
    UniqueFd lock(const std::string& id) const;
    bool exists(const std::string& id) const;
    // state.json and config.json (the config as created, and as `update` changed it)
    State load(const std::string& id) const;
    // state.json only: what a listing needs (config holds just the annotations,
    // the cgroup only the directories that tell whether it is frozen)
    // Shared with the cache of a long-lived reader (ctld).
    std::shared_ptr<const State> load_brief(const std::string& id) const;
    void save(const State& s) const;
    void remove(const std::string& id) const;
    // The containers: the directories holding a state.json (all of them when
    // !checked, for a reader that loads each state next and skips the missing).
    std::vector<std::string> ids(bool checked = true) const;

private:
    std::string root_;
};

} // namespace ctk::container
