// A container's description as Docker's API carries it (POST /containers/create:
// Config + HostConfig + NetworkingConfig), and the docker-run flags that make
// one. ctl turns its flags into a CreateRequest; ctld will take the request
// body as is. Both hand it to the Engine.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace ctk::engine {

struct CreateRequest {
    std::string name;       // "" = generated
    Json config = Json::object();      // Docker "Config": Image, Cmd, Entrypoint, Env, User, WorkingDir, Tty …
    Json host_config = Json::object(); // Docker "HostConfig": Binds, Mounts, Tmpfs, NetworkMode, PortBindings …
    Json networking = Json::object();  // Docker "NetworkingConfig": EndpointsConfig
};

// The flags of `docker run` / `docker create` that ctl accepts.
struct RunFlags {
    bool detach = false, rm = false, interactive = false, tty = false;
    bool read_only = false, init = false, privileged = false;
    std::string name, workdir, user, entrypoint, hostname, network = "default", memory, memory_swap, cpus,
        restart = "no", stop_signal, platform, pull = "missing", cgroup_parent;
    bool entrypoint_set = false;
    int64_t pids_limit = 0;
    int stop_timeout = -1;
    std::vector<std::string> env, env_files, volumes, mounts, tmpfs, publish, expose, cap_add, cap_drop,
        security_opt, labels, label_files, add_hosts, dns, dns_search, dns_options, network_aliases, networks,
        ulimits, sysctls, devices, group_add;
    std::string image;
    std::vector<std::string> command;
};

// Builds the API request from the flags (Docker CLI's parse step): -e and
// --env-file merged, -p into PortBindings and ExposedPorts, -m/--cpus into
// Memory/NanoCpus, -v/--mount/--tmpfs kept as given. Errors are usage errors
// with Docker's wording.
CreateRequest request_from_flags(const RunFlags& flags);
// --add-host / HostConfig.ExtraHosts "NAME:IP", checked as Docker's
// ValidateExtraHost does (ErrorKind::usage): a name without whitespace or
// control bytes (it becomes one /etc/hosts line) and an IPv4 or IPv6 address.
void check_extra_host(const std::string& spec);

// "[ip:][hostPort:]containerPort[/proto]" and ranges, as docker -p takes them.
struct PortMapping {
    std::string host_ip;
    std::string host_port; // "" = any free port
    std::string container_port;
    std::string proto = "tcp";
};
std::vector<PortMapping> parse_publish(const std::string& spec);

// KEY=VAL lines of an --env-file (comments and blank lines skipped; a bare KEY
// takes the value from ctl's environment when set).
std::vector<std::string> read_env_file(const std::string& path);

} // namespace ctk::engine
