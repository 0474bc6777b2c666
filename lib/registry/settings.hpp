// Where reg-fetch connects and how: the "registry" section of the ctk
// configuration file (store/config.hpp), with defaults that keep Docker Hub
// working for real users and loopback registries working without TLS.
//
//   "registry": {
//     "default_registry": "docker.io",       short names ("busybox") resolve here
//     "max_concurrent_downloads": 3,         layers fetched at once
//     "retries": 4,                          attempts for a transient failure
//     "registries": {
//       "127.0.0.1:5000": { "plain_http": true },
//       "myreg.example:443": { "insecure": true, "ca": "/etc/ctk/myreg.crt" },
//       "docker.io": { "mirrors": ["mirror.example/dockerhub"] }
//     }
//   }
//
// Docker Hub: the domain docker.io is served by registry-1.docker.io, and
// one-component names get "library/" (oci/reference.hpp). Loopback hosts
// (127.0.0.0/8, ::1, localhost) speak plain HTTP unless "plain_http": false.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "oci/reference.hpp"

namespace ctk::registry {

struct HostSettings {
    std::optional<bool> plain_http; // unset: plain HTTP for loopback hosts only
    bool insecure = false;          // HTTPS without certificate verification
    std::string ca_file;            // extra CA bundle for this host
    std::vector<std::string> mirrors; // "host[:port][/prefix]", tried in order before the host
};

// One place to send registry API requests to.
struct Endpoint {
    std::string domain;       // as in the reference: "docker.io", "127.0.0.1:5000"
    std::string base_url;     // "https://registry-1.docker.io", "http://127.0.0.1:5000"
    std::string path_prefix;  // a mirror's namespace, prepended to repositories ("" or "a/b")
    bool insecure = false;
    std::string ca_file;
    bool loopback = false;
    bool mirror = false;

    // The repository path on this endpoint.
    std::string repository(std::string_view path) const;
    // "127.0.0.1:5000" or "mirror.example (mirror of docker.io)" for messages.
    std::string display() const;
};

struct Settings {
    std::string default_registry = std::string(oci::docker_hub_domain);
    unsigned max_concurrent_downloads = 3;
    unsigned retries = 4;
    std::map<std::string, HostSettings> hosts;

    // Reads a "registry" section; unknown keys are errors naming the file.
    static Settings from_json(const Json& section);
    // From ctk::store::load_config().
    static Settings load();

    HostSettings host(std::string_view domain) const;
    // The registry itself.
    Endpoint endpoint(std::string_view domain) const;
    // For pulls: the mirrors of `domain`, then the registry.
    std::vector<Endpoint> pull_endpoints(std::string_view domain) const;

    // Docker's normalisation (oci::Reference::parse_normalized), except that a
    // name without a domain goes to default_registry when that is not docker.io
    // (and then gets no "library/").
    oci::Reference normalize(std::string_view ref) const;
};

// 127.0.0.0/8, ::1, localhost (with or without a port).
bool is_loopback_host(std::string_view host_port);

} // namespace ctk::registry
