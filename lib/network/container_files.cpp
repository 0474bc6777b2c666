#include "network/container_files.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "core/fs.hpp"
#include "core/strings.hpp"

namespace ctk::network {

namespace {

// The words of a line after its keyword ("search a b" -> {"a", "b"}); tabs count as spaces.
std::vector<std::string> words_of(std::string_view line) {
    std::string l(line);
    std::replace(l.begin(), l.end(), '\t', ' ');
    std::vector<std::string> out;
    for (auto& w : split(l, ' '))
        if (!w.empty()) out.push_back(w);
    return out;
}

bool ipv4_address(const std::string& a, bool* loopback) {
    in_addr v4{};
    if (::inet_pton(AF_INET, a.c_str(), &v4) != 1) return false;
    *loopback = (ntohl(v4.s_addr) >> 24) == 127;
    return true;
}

std::vector<std::string> nameservers_in(std::string_view text, bool keep_loopback) {
    std::vector<std::string> out;
    for (const auto& a : ResolvConf::parse(text).nameservers) {
        bool loopback = false;
        if (!ipv4_address(a, &loopback) || (loopback && !keep_loopback)) continue;
        out.push_back(a);
    }
    return out;
}

} // namespace

ResolvConf ResolvConf::parse(std::string_view text) {
    ResolvConf r;
    for (const auto& line : split(text, '\n')) {
        std::string_view t = trim(line);
        if (t.empty() || t[0] == '#' || t[0] == ';') continue;
        auto w = words_of(t);
        if (w.size() < 2) continue;
        std::vector<std::string> rest(w.begin() + 1, w.end());
        if (w[0] == "nameserver") r.nameservers.push_back(w[1]);
        // moby resolvconf GetSearchDomains, GetOptions: the last line of each wins
        else if (w[0] == "search") r.search = rest;
        else if (w[0] == "options") r.options = rest;
    }
    return r;
}

std::string ResolvConf::text() const {
    if (!verbatim.empty()) return verbatim;
    std::string s;
    for (const auto& n : nameservers) s += "nameserver " + n + "\n";
    if (!search.empty()) s += "search " + join(search, " ") + "\n";
    if (!options.empty()) s += "options " + join(options, " ") + "\n";
    return s;
}

std::vector<std::string> usable_nameservers(std::string_view text, std::string_view upstream_text) {
    auto usable = nameservers_in(text, false);
    if (usable.empty() && !nameservers_in(text, true).empty()) return nameservers_in(upstream_text, false);
    return usable;
}

std::vector<std::string> docker_default_nameservers() { return {"8.8.8.8", "8.8.4.4"}; }

std::vector<std::string> upstream_nameservers(const std::optional<std::vector<std::string>>& configured,
                                              std::string_view host_text, std::string_view upstream_text) {
    if (configured) return *configured;
    auto usable = usable_nameservers(host_text, upstream_text);
    return usable.empty() ? docker_default_nameservers() : usable;
}

std::vector<std::string> upstream_nameservers(const std::optional<std::vector<std::string>>& configured) {
    if (configured) return *configured;
    return upstream_nameservers(std::nullopt, read_file_if_exists(host_resolv_conf_path, 1 << 20).value_or(""),
                                read_file_if_exists(resolved_upstream_path, 1 << 20).value_or(""));
}

ResolvConf container_resolv_conf(const ResolvSettings& s) {
    ResolvConf host = ResolvConf::parse(s.host_text);
    const DnsOverrides& o = s.overrides;
    ResolvConf r;
    if (s.host_network) {
        // the host's own resolver is reachable from its namespace, loopback or not
        if (o.empty()) {
            r = host;
            r.verbatim = s.host_text;
            return r;
        }
        r.nameservers = host.nameservers;
    } else if (!s.responder.empty()) {
        r.nameservers = {s.responder};
    } else {
        r.nameservers = s.upstreams;
    }
    if (!o.servers.empty()) r.nameservers = o.servers;
    r.search = o.search.empty() ? host.search : o.search;
    r.options = o.options.empty() ? host.options : o.options;
    // moby: the embedded resolver answers single-label names itself, so they are not searched first
    if (!s.responder.empty() && o.servers.empty() &&
        std::none_of(r.options.begin(), r.options.end(), [](const std::string& x) { return x.rfind("ndots:", 0) == 0; }))
        r.options.push_back("ndots:0");
    return r;
}

std::string container_hosts(const HostsSettings& s) {
    std::string out = s.base ? *s.base
                             : "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
                               "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
    if (!out.empty() && out.back() != '\n') out += '\n';
    for (const auto& e : s.extra) out += e.address + "\t" + join(e.names, " ") + "\n";
    if (!s.address.empty() && !s.names.empty()) out += s.address + "\t" + join(s.names, " ") + "\n";
    return out;
}

std::optional<HostsEntry> extra_host_entry(std::string_view spec) {
    auto kv = split_once(spec, ':');
    if (!kv || kv->first.empty() || kv->second.empty()) return std::nullopt;
    std::string ip = kv->second;
    // moby opts ValidateExtraHost: "[::1]" is ::1
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    return HostsEntry{ip, {kv->first}};
}

} // namespace ctk::network
