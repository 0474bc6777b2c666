// The ctl verbs as one interface with two faces: engine::Commands does them
// on the local store by running the tools, api's Remote (lib/api/remote.cpp)
// asks a daemon through the Engine API. tools/ctl/main.cpp parses the command
// line once into the requests below and calls one Backend, whichever face it
// is; both print what docker prints, with the same renderers (format.hpp).
// A verb a face cannot do throws ErrorKind::usage naming the reason.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "engine/commit.hpp"
#include "engine/container_spec.hpp"
#include "engine/engine.hpp"

namespace ctk::engine {

// ps, images, network ls, volume ls
struct ListOptions {
    bool all = false, quiet = false, no_trunc = false, digests = false, latest = false, size = false;
    int last = -1;
    std::string format;
    std::vector<std::string> filters;
};

// docker network create's flags, as given (the local face turns them into
// net-bridge's options, the remote face into the API's body).
struct NetworkCreateRequest {
    std::string name, driver, subnet, gateway;
    bool internal = false, attachable = false;
    std::vector<std::string> labels, options; // k=v
};

// docker volume create's flags, as given.
struct VolumeCreateRequest {
    std::string name, driver;
    std::vector<std::string> labels, options; // k=v
};

// docker history
struct HistoryRequest {
    std::string image, format;
    bool no_trunc = false, quiet = false, human = true;
};

// docker build: build-args and labels already resolved (KEY alone takes the
// environment's value); dockerfile "-" is read from stdin by the face that builds.
struct BuildRequest {
    std::string context, dockerfile, target;
    std::vector<std::string> tags;
    std::map<std::string, std::string> build_args, labels;
    bool no_cache = false, quiet = false;
};

class Backend {
public:
    virtual ~Backend() = default;

    // images
    virtual void pull(const std::string& ref, bool quiet) = 0;
    virtual void push(const std::string& ref, bool quiet) = 0;
    virtual void images(const ListOptions& o, const std::string& repo) = 0;
    virtual void history(const HistoryRequest& h) = 0;
    virtual void rmi(const std::vector<std::string>& refs, bool force) = 0;
    virtual void tag(const std::string& src, const std::string& dst) = 0;
    virtual void import(const std::string& source, const std::string& ref, const std::vector<std::string>& changes,
                        const std::string& message, const std::string& platform) = 0;
    virtual void save(const std::vector<std::string>& refs, const std::string& output) = 0;
    virtual void load(const std::string& input, bool quiet) = 0;
    virtual void commit(const CommitOptions& o) = 0;
    virtual int build(const BuildRequest& b) = 0;
    virtual int login(const std::vector<std::string>& args) = 0;
    virtual int logout(const std::vector<std::string>& args) = 0;

    // containers
    virtual int run(const RunFlags& flags) = 0;
    virtual void create(const RunFlags& flags) = 0;
    virtual int start(const std::vector<std::string>& refs, bool attach, bool interactive) = 0;
    virtual void stop(const std::vector<std::string>& refs, std::optional<int> timeout) = 0;
    virtual void restart(const std::vector<std::string>& refs, std::optional<int> timeout) = 0;
    virtual void kill(const std::vector<std::string>& refs, const std::string& signal) = 0;
    virtual void rm(const std::vector<std::string>& refs, bool force, bool volumes) = 0;
    virtual void ps(const ListOptions& o) = 0;
    virtual void logs(const std::string& ref, const LogOptions& o) = 0;
    // r.env: K=V pairs, the --env-file lines and the environment's values already in
    virtual int exec(const std::string& ref, const ExecRequest& r) = 0;
    virtual int attach(const std::string& ref) = 0;
    virtual void pause(const std::vector<std::string>& refs) = 0;
    virtual void unpause(const std::vector<std::string>& refs) = 0;
    virtual int wait(const std::vector<std::string>& refs) = 0;
    virtual void top(const std::string& ref, const std::vector<std::string>& ps_args) = 0;
    virtual void port(const std::string& ref, const std::string& private_port) = 0;
    virtual void rename(const std::string& ref, const std::string& name) = 0;
    virtual void cp(const std::string& src, const std::string& dst) = 0;
    virtual void diff(const std::string& ref) = 0;
    virtual void export_container(const std::string& ref, const std::string& output) = 0;
    virtual void container_prune(bool force) = 0;
    virtual void system_df(bool verbose, const std::string& format) = 0;
    virtual void system_prune(bool all, bool volumes) = 0;
    virtual void image_prune(bool all) = 0;
    // inspect of any object: containers, then images, networks, volumes (or only `type`)
    virtual void inspect(const std::vector<std::string>& refs, const std::string& format, const std::string& type) = 0;

    // networks and volumes
    virtual void network_create(const NetworkCreateRequest& n) = 0;
    virtual void network_ls(const ListOptions& o) = 0;
    virtual void network_inspect(const std::vector<std::string>& names, const std::string& format) = 0;
    virtual void network_rm(const std::vector<std::string>& names) = 0;
    virtual void network_connect(const std::string& network, const std::string& container,
                                 const std::vector<std::string>& aliases, const std::string& ip) = 0;
    virtual void network_disconnect(const std::string& network, const std::string& container, bool force) = 0;
    virtual void network_prune(bool force) = 0;
    virtual void volume_create(const VolumeCreateRequest& v) = 0;
    virtual void volume_ls(const ListOptions& o) = 0;
    virtual void volume_inspect(const std::vector<std::string>& names, const std::string& format) = 0;
    virtual void volume_rm(const std::vector<std::string>& names, bool force) = 0;
    virtual void volume_prune(bool force, bool all) = 0;
};

// Docker's words for refusals that both faces give (ctld answers with them,
// the local face turns the tools' not_found into them).
inline std::string no_such_network(const std::string& name) { return "network " + name + " not found"; }
inline std::string no_such_volume(const std::string& name) { return "get " + name + ": no such volume"; }
// `what`: "networks are bridges", "volumes are local"
inline std::string no_driver_plugin(const std::string& driver, const std::string& what) {
    return "plugin \"" + driver + "\" not found (ctk " + what + ")";
}

// Docker's exit status for a failed verb: 125 for a usage error and for the
// verbs that run a container (run, create, start, exec, attach), whose own
// statuses are the container's; 1 for the others.
inline int failed_status(const Error& e, bool runlike) { return e.kind() == ErrorKind::usage || runlike ? 125 : 1; }

} // namespace ctk::engine
