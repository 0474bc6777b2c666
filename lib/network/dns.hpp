// Names on user networks, as Docker's embedded DNS gives them: a small DNS
// responder per network, listening on the gateway address (UDP port 53),
// answering A queries for the names and aliases of the network's endpoints
// from the network file, and relaying every other query to the configured
// upstream nameservers (none: it answers SERVFAIL and sends nothing anywhere).
//
// Every endpoint gets its own resolv.conf and hosts file under $CTK_RUN, for
// the caller to mount as the container's /etc/resolv.conf and /etc/hosts
// (network/container_files.hpp: the rules, shared with ctl and ctld).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "network/container_files.hpp"
#include "network/network.hpp"

namespace ctk::network {

// What a container on `n` gets: the gateway (the responder) on user
// networks, else the upstreams (none on an internal network); search and
// options from the host.
ResolvConf resolv_conf_for(const Network& n, const NetworkConfig& config);
std::string hosts_file_for(const Network& n, const Endpoint& e);

// --- the DNS message format (RFC 1035), as much as the responder needs ---------------

struct DnsQuestion {
    uint16_t id = 0;
    uint16_t flags = 0;
    std::string name; // lower case, without the trailing dot
    uint16_t type = 0;
    uint16_t klass = 0;
    size_t question_end = 0; // offset after the question section
};

inline constexpr uint16_t dns_type_a = 1;
inline constexpr uint16_t dns_class_in = 1;
inline constexpr uint8_t dns_rcode_servfail = 2;
inline constexpr uint8_t dns_rcode_nxdomain = 3;
inline constexpr uint8_t dns_rcode_notimp = 4;

// nullopt for anything that is not a single-question query.
std::optional<DnsQuestion> parse_dns_query(const std::string& packet);
// A response with the question echoed and one A record per address.
std::string dns_answer(const std::string& query, const DnsQuestion& q, const std::vector<uint32_t>& addresses,
                       uint8_t rcode = 0);

// The addresses `name` has on `n` (container name, aliases, container id and
// its 12-character prefix), case-insensitively.
std::vector<uint32_t> resolve_name(const Network& n, const std::string& name);

// --- the responder process --------------------------------------------------------------

struct ResponderOptions {
    std::string network_file;
    std::vector<std::string> upstreams;
    int socket_fd = 3; // UDP socket bound to gateway:53, inherited
};

// Runs until SIGTERM, or until its network file is gone or names another
// network (checked every second).
int run_dns_responder(const ResponderOptions& options);

// Starts the responder for `n` unless it runs: binds gateway:53 here (so
// queries are answered from the moment attach returns) and hands the socket
// to `exe _dns-responder ...`. The pid file is $CTK_RUN/networks/<name>/dns.pid.
void start_dns_responder(const NetworkStore& store, const Network& n, const NetworkConfig& config);
// Stops it (SIGTERM to the pid in the pid file, after checking that the pid
// is that responder), removes the pid file.
void stop_dns_responder(const NetworkStore& store, const Network& n);
// Responders that hold a port they should not: this network's whose pid file
// was lost, and any whose network file is gone (a network removed by a tool
// that crashed, or by hand). Stops them and waits for them; returns how many.
int stop_stale_responders(const NetworkStore& store, const Network& n);
// The running responder's pid, or 0.
int dns_responder_pid(const NetworkStore& store, const Network& n);

} // namespace ctk::network
