// The container engine shared by ctl and ctld: every Docker verb on
// containers, images, networks and volumes, done by running the ctk tools
// over the store. Each verb builds a Plan (plan.hpp) and executes it, or, in
// explain mode, appends it to the plan being explained instead.
//
// A container's life here:
//   create  reserve ID and name (container.json, Setup "creating"); img-unpack
//           the image into containers/<id>/bundle; write hostname, hosts and
//           resolv.conf; make the network namespace and attach it to its
//           networks (net-bridge); apply volumes (vol-mount); set ctl's options
//           in config.json; Setup "ready".
//   start   ns-run run (detached: its monitor keeps the exit status and the
//           json-file log; foreground: ctl waits with the user's terminal).
//   stop    ns-run kill (StopSignal, then SIGKILL after the timeout), ns-run wait.
//   rm      ns-run delete, net-bridge detach, netns removal, vol-mount release,
//           img-unpack --release, then the directory.
// Every step of rm tolerates a missing part, so a container left half-made by
// an interrupted ctl is always removable.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "engine/container_spec.hpp"
#include "engine/container_store.hpp"
#include "engine/image_store.hpp"
#include "engine/plan.hpp"
#include "store/paths.hpp"

namespace ctk::engine {

struct NetworkSettings;
struct CtkSection;

// What the runtime (ns-run state) says about a container.
struct RuntimeState {
    std::string status; // "" unknown to the runtime, else creating/created/running/paused/stopped
    int pid = 0;
    std::string created, started, finished; // RFC 3339
    std::optional<int> exit_code;
};

// Docker's view of a container's state, as inspect's "State" shows it.
// A container's exit status as docker reports it: the recorded one, or 255
// when nobody recorded it (its monitor was killed: docker's "shim lost").
int exit_status_or_lost(std::optional<int> recorded);

struct ContainerState {
    std::string status = "created"; // created running paused restarting removing exited dead
    bool running = false, paused = false, dead = false;
    int pid = 0;
    int exit_code = 0;
    std::string error;
    std::string started_at, finished_at; // RFC 3339 or the zero time
    Json to_json() const;
    // "Up 2 minutes", "Exited (0) 3 seconds ago", "Created"
    std::string human(int64_t now_ns) const;
};

struct StartOptions {
    bool attach = false;      // foreground: the user's terminal, exit status returned
    bool interactive = false; // pass stdin
};

struct ExecRequest {
    std::vector<std::string> cmd;
    std::vector<std::string> env;
    std::string user, workdir;
    bool interactive = false, tty = false, detach = false;
};

struct LogOptions {
    bool follow = false, timestamps = false, stdout = true, stderr = true;
    std::string tail = "all";
    std::optional<int64_t> since_ns, until_ns;
};

// "name[:group]" or "uid[:gid]" -> "uid:gid", looked up in the rootfs' own
// /etc/passwd and /etc/group (read in-root); not_found for an unknown name.
std::string container_user(const std::string& rootfs, const std::string& spec);

// The container's /etc/resolv.conf follows its networks (unless --dns,
// --dns-search or --dns-option made it): the endpoint resolv.conf of its
// first user network, whose DNS responder answers the names of every network
// the container is on and relays the rest upstream (Docker's embedded DNS);
// on the default network alone, that one's (the upstream servers). Adds the
// steps that copy it over <dir>/resolv.conf, in place (a running container
// has the file bind-mounted); none when DNS is custom or no network is left.
void add_resolv_conf_steps(Plan& p, const ContainerRecord& r, const std::string& dir,
                           const std::vector<std::string>& networks);

// HostConfig.PortBindings as net-bridge --publish specs. Docker publishes them
// on one endpoint of the container, its first network (the gateway's): the one
// attached when the container is made, or the one connected while it has none.
std::vector<std::string> publish_specs(const Json& bindings);

class Engine {
public:
    explicit Engine(store::Paths paths);

    const store::Paths& paths() const { return paths_; }
    ContainerStore& containers() { return containers_; }
    ImageStore& images() { return images_; }

    // Explain mode: plans are appended to `into` and nothing runs.
    void explain_into(Plan* into) { explain_ = into; }
    bool explaining() const { return explain_ != nullptr; }
    // Called before every step (ctl throws here after an interrupt).
    void set_exec_options(ExecOptions o) { exec_options_ = std::move(o); }
    // Where progress and warnings go (ctl: stderr).
    void set_message_sink(std::function<void(const std::string&)> sink) { message_ = std::move(sink); }

    // A plan with the store's environment and the tools' PATH set.
    Plan new_plan(const std::string& title) const;
    // Runs a plan (or appends it in explain mode). Returns the foreground status.
    int execute(const Plan& plan);
    // The same, with the captured values and kept outputs (none in explain mode).
    ExecResult run_plan(const Plan& plan);

    // ---- images
    // Makes sure `ref` is in the store (pulls it when missing or `always`);
    // returns the image. In explain mode a missing image yields nullopt.
    std::optional<LocalImage> ensure_image(const std::string& ref, const std::string& policy = "missing");
    void pull(const std::string& ref, bool quiet);
    // reg-fetch push's result: {"reference", "digest", "size", …}
    Json push(const std::string& ref, bool quiet);

    // ---- containers
    // Creates a container; returns its record (Setup "ready"). On failure or
    // interrupt everything made so far is removed again.
    // A field of the wrong JSON type (a number where docker wants a list) is
    // ErrorKind::invalid (ctld: 400), as docker's decoder refuses it.
    ContainerRecord create(const CreateRequest& request);
    // Starts it. Foreground: returns the container's exit status.
    int start(const std::string& ref, const StartOptions& options = {});
    // docker run: create + start (+ remove with --rm); returns the exit status
    // (foreground) or 0 (detached; `created` receives the ID).
    int run(const CreateRequest& request, const StartOptions& options, std::string* created = nullptr);
    void stop(const std::string& ref, std::optional<int> timeout);
    void restart(const std::string& ref, std::optional<int> timeout);
    void kill(const std::string& ref, const std::string& signal);
    void pause(const std::string& ref);
    void unpause(const std::string& ref);
    void remove(const std::string& ref, bool force, bool volumes);
    int wait(const std::string& ref);
    int exec(const std::string& ref, const ExecRequest& request);
    void rename(const std::string& ref, const std::string& new_name);
    // docker top: ps output of the container's processes (Titles/Processes).
    Json top(const std::string& ref, const std::vector<std::string>& ps_args);
    // Writes the log to stdout/stderr fds; follow waits for more until the container stops.
    void logs(const std::string& ref, const LogOptions& options, int out_fd, int err_fd);
    // docker attach (no daemon: the container's output from now on, until it stops); exit status.
    int attach(const std::string& ref, int out_fd, int err_fd);
    // docker cp: one side is "CONTAINER:PATH".
    void copy(const std::string& src, const std::string& dst);

    // ---- views
    ContainerState state(const ContainerRecord& record);
    // The same with the runtime's answer in hand (one `ns-run list` for a whole listing).
    ContainerState state(const ContainerRecord& record, const RuntimeState& rs);
    std::map<std::string, RuntimeState> runtime_states();
    RuntimeState runtime_state(const std::string& id);
    Json inspect(const ContainerRecord& record);                     // GET /containers/{id}/json
    Json inspect(const ContainerRecord& record, const ContainerState& state);
    Json list_entry(const ContainerRecord& record, const ContainerState& state); // GET /containers/json entry
    // The same with the IDs of the networks in hand (network_ids of the whole listing).
    Json list_entry(const ContainerRecord& record, const ContainerState& state,
                    const std::map<std::string, std::string>& network_ids);
    // Network name -> ID for the networks these containers are attached to (each file read once).
    std::map<std::string, std::string> network_ids(const std::vector<const ContainerRecord*>& records);
    // `ctk`: the record's Ctk section when the caller has it typed already (a listing), else read here
    NetworkSettings network_settings(const ContainerRecord& record, const std::map<std::string, std::string>& network_ids,
                                     const CtkSection* ctk = nullptr);
    Json mounts(const ContainerRecord& record, const CtkSection* ctk = nullptr); // docker inspect's Mounts
    // The port mappings: {"80/tcp": [{"HostIp": …, "HostPort": …}]}.
    Json ports(const ContainerRecord& record);
    // Which container uses an image ("" = none), for rmi.
    std::string image_user(const std::string& image_id);

    // The plans, for --explain and for ctld.
    // runtime_gone: the runtime has forgotten the container already (a
    // foreground `ns-run run` deletes it when it ends), so no `ns-run delete`.
    Plan plan_remove(const ContainerRecord& record, bool volumes, const std::string& title = "",
                     bool runtime_gone = false);
    Plan plan_stop(const ContainerRecord& record, const RuntimeState& rs, int timeout, const std::string& title = "");

private:
    ContainerRecord create_checked(const CreateRequest& request);
    ContainerRecord prepare_record(const CreateRequest& request, const std::optional<LocalImage>& image);
    Plan plan_create(const ContainerRecord& record, const CreateRequest& request, const std::optional<LocalImage>& image);
    Plan plan_start(const ContainerRecord& record, const RuntimeState& rs, const StartOptions& options);
    void rollback(const ContainerRecord& record);
    void message(const std::string& m) const;

    store::Paths paths_;
    ContainerStore containers_;
    ImageStore images_;
    Plan* explain_ = nullptr;
    ExecOptions exec_options_;
    std::function<void(const std::string&)> message_;
};

} // namespace ctk::engine
