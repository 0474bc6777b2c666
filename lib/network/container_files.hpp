// The /etc/resolv.conf and /etc/hosts a container gets, by Docker's rules
// (moby libnetwork: resolvconf, etchosts, sandbox_dns_unix.go). net-bridge
// writes them for each endpoint it attaches; ctl and ctld write them for
// containers net-bridge does not attach (none, container:, host) and for the
// ones with --dns, --add-host and a hostname. Both call these functions, so
// a container's files follow one set of rules whoever writes them.
//
// resolv.conf:
//   --network host            the host's file as it is (unless --dns* is given)
//   user network (responder)  nameserver <the network's DNS responder>, whose
//                             upstreams are the servers below; options ndots:0
//   default network, none     the upstream servers: ctk's configuration
//                             ("network": {"dns": [...]}) exactly when set,
//                             else the host's without loopback ones (a
//                             systemd-resolved stub: its upstream list), else
//                             Docker's 8.8.8.8 and 8.8.4.4
//   internal network          no nameserver (nothing outside is reachable)
//   --dns, --dns-search, --dns-option replace the servers, search and options.
//   search and options are otherwise the host's.
// hosts: the localhost lines, --add-host entries, then the container's own
// address with its names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ctk::network {

inline constexpr const char* host_resolv_conf_path = "/etc/resolv.conf";
// systemd-resolved's list of the upstream servers behind its 127.0.0.53 stub
inline constexpr const char* resolved_upstream_path = "/run/systemd/resolve/resolv.conf";

struct ResolvConf {
    std::vector<std::string> nameservers;
    std::vector<std::string> search;
    std::vector<std::string> options;
    std::string verbatim; // when set, the file's text as it is (--network host)

    static ResolvConf parse(std::string_view text);
    std::string text() const;
};

// The nameservers of a resolv.conf text that another namespace can use: not
// 127.0.0.0/8, not IPv6 (containers here are IPv4). When the text has only
// loopback ones (systemd-resolved's stub), those of `upstream_text`, as Docker does.
std::vector<std::string> usable_nameservers(std::string_view text, std::string_view upstream_text);
// Docker's fallback when the host leaves no usable server (moby resolvconf defaultIPv4Dns).
std::vector<std::string> docker_default_nameservers();
// The servers a container (or a DNS responder) sends queries to: `configured`
// exactly when set (an empty list: none), else usable_nameservers(), else
// docker_default_nameservers().
std::vector<std::string> upstream_nameservers(const std::optional<std::vector<std::string>>& configured,
                                              std::string_view host_text, std::string_view upstream_text);
// The same, reading the host's files.
std::vector<std::string> upstream_nameservers(const std::optional<std::vector<std::string>>& configured);

// --dns, --dns-search, --dns-option (HostConfig Dns, DnsSearch, DnsOptions)
struct DnsOverrides {
    std::vector<std::string> servers, search, options;
    bool empty() const { return servers.empty() && search.empty() && options.empty(); }
};

struct ResolvSettings {
    std::string host_text;              // the host's /etc/resolv.conf
    bool host_network = false;          // --network host
    std::string responder;              // the user network's DNS responder, "" where there is none
    std::vector<std::string> upstreams; // upstream_nameservers(); leave empty on an internal network
    DnsOverrides overrides;
};

ResolvConf container_resolv_conf(const ResolvSettings& s);

// "NAME:IP" of --add-host as a hosts entry; a link's alias the same way.
struct HostsEntry {
    std::string address;
    std::vector<std::string> names;
};

struct HostsSettings {
    std::optional<std::string> base;  // --network host: the host's /etc/hosts instead of the localhost lines
    std::vector<HostsEntry> extra;     // --add-host, links
    std::string address;               // the container's own address ("" : no line of its own)
    std::vector<std::string> names;    // its names on that line: hostname (and short name), ...
};

std::string container_hosts(const HostsSettings& s);
// --add-host "NAME:IP" ("NAME:[v6]" too), unchecked (ctl checks it where it is given).
std::optional<HostsEntry> extra_host_entry(std::string_view spec);

} // namespace ctk::network
