#include "registry/settings.hpp"

#include <arpa/inet.h>

#include "core/strings.hpp"
#include "store/config.hpp"

namespace ctk::registry {

static std::string strip_port(std::string_view host_port) {
    if (!host_port.empty() && host_port.front() == '[') {
        size_t end = host_port.find(']');
        return std::string(host_port.substr(1, end == std::string_view::npos ? end : end - 1));
    }
    size_t colon = host_port.find(':');
    // More than one colon: a bare IPv6 address.
    if (colon != std::string_view::npos && host_port.find(':', colon + 1) != std::string_view::npos)
        return std::string(host_port);
    return std::string(host_port.substr(0, colon));
}

bool is_loopback_host(std::string_view host_port) {
    std::string host = to_lower(strip_port(host_port));
    if (host == "localhost" || host.ends_with(".localhost")) return true;
    in_addr a4{};
    if (::inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    in6_addr a6{};
    if (::inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

std::string Endpoint::repository(std::string_view path) const {
    return path_prefix.empty() ? std::string(path) : path_prefix + "/" + std::string(path);
}

std::string Endpoint::display() const {
    std::string host = base_url.substr(base_url.find("://") + 3);
    if (!path_prefix.empty()) host += "/" + path_prefix;
    return mirror ? host + " (mirror of " + domain + ")" : host;
}

static HostSettings host_from_json(const Json& j, const std::string& what) {
    if (!j.is_object()) throw_invalid(what + ": expected an object");
    HostSettings h;
    for (const auto& [key, value] : j.items()) {
        std::string field = what + ": " + quote(key);
        if (key == "plain_http" || key == "insecure") {
            if (!value.is_boolean()) throw_invalid(field + ": expected true or false");
            if (key == "plain_http") h.plain_http = value.get<bool>();
            else h.insecure = value.get<bool>();
        } else if (key == "ca") {
            if (!value.is_string()) throw_invalid(field + ": expected a file name");
            h.ca_file = value.get<std::string>();
        } else if (key == "mirrors") {
            if (!value.is_array()) throw_invalid(field + ": expected an array of hosts");
            for (const auto& m : value) {
                if (!m.is_string() || m.get<std::string>().empty())
                    throw_invalid(field + ": expected an array of hosts");
                h.mirrors.push_back(m.get<std::string>());
            }
        } else {
            throw_invalid(what + ": unknown setting " + quote(key));
        }
    }
    return h;
}

static unsigned positive(const Json& v, const std::string& what) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 || v.get<uint64_t>() > 64)
        throw_invalid(what + ": expected a number from 1 to 64");
    return v.get<unsigned>();
}

Settings Settings::from_json(const Json& section) {
    Settings s;
    std::string what = store::config_path() + ": registry";
    for (const auto& [key, value] : section.items()) {
        std::string field = what + "." + key;
        if (key == "default_registry") {
            if (!value.is_string() || value.get<std::string>().empty())
                throw_invalid(field + ": expected a registry host");
            s.default_registry = value.get<std::string>();
            if (s.default_registry == "index.docker.io") s.default_registry = oci::docker_hub_domain;
        } else if (key == "max_concurrent_downloads") {
            s.max_concurrent_downloads = positive(value, field);
        } else if (key == "retries") {
            s.retries = positive(value, field);
        } else if (key == "registries") {
            if (!value.is_object()) throw_invalid(field + ": expected an object keyed by host");
            for (const auto& [host, h] : value.items())
                s.hosts[host] = host_from_json(h, field + "." + host);
        } else {
            throw_invalid(what + ": unknown setting " + quote(key));
        }
    }
    return s;
}

Settings Settings::load() {
    return from_json(store::config_section(store::load_config(), "registry"));
}

HostSettings Settings::host(std::string_view domain) const {
    auto it = hosts.find(std::string(domain));
    if (it != hosts.end()) return it->second;
    if (domain == oci::docker_hub_domain) {
        it = hosts.find(std::string(oci::docker_hub_registry));
        if (it != hosts.end()) return it->second;
    }
    return {};
}

static Endpoint make_endpoint(std::string domain, const std::string& host, const HostSettings& h,
                              std::string scheme) {
    Endpoint e;
    e.domain = std::move(domain);
    e.loopback = is_loopback_host(host);
    if (scheme.empty()) scheme = h.plain_http.value_or(e.loopback) ? "http" : "https";
    e.base_url = scheme + "://" + host;
    e.insecure = h.insecure;
    e.ca_file = h.ca_file;
    return e;
}

Endpoint Settings::endpoint(std::string_view domain) const {
    std::string host = domain == oci::docker_hub_domain ? std::string(oci::docker_hub_registry)
                                                         : std::string(domain);
    return make_endpoint(std::string(domain), host, this->host(domain), "");
}

std::vector<Endpoint> Settings::pull_endpoints(std::string_view domain) const {
    std::vector<Endpoint> out;
    for (const auto& m : host(domain).mirrors) {
        std::string_view rest = m;
        std::string scheme;
        for (const char* s : {"http", "https"}) {
            std::string p = std::string(s) + "://";
            if (rest.starts_with(p)) {
                scheme = s;
                rest.remove_prefix(p.size());
            }
        }
        while (rest.ends_with('/')) rest.remove_suffix(1);
        size_t slash = rest.find('/');
        std::string host(rest.substr(0, slash));
        // A mirror's own entry (if any) decides how to talk to it.
        Endpoint e = make_endpoint(std::string(domain), host, this->host(host), scheme);
        if (slash != std::string_view::npos) e.path_prefix = std::string(rest.substr(slash + 1));
        e.mirror = true;
        out.push_back(std::move(e));
    }
    out.push_back(endpoint(domain));
    return out;
}

oci::Reference Settings::normalize(std::string_view ref) const {
    if (default_registry != oci::docker_hub_domain) {
        size_t slash = ref.find('/');
        std::string_view first = slash == std::string_view::npos ? std::string_view() : ref.substr(0, slash);
        bool has_domain = first == "localhost" || first.find_first_of(".:") != std::string_view::npos;
        if (!has_domain && !oci::is_hex_identifier(ref))
            return oci::Reference::parse_normalized(default_registry + "/" + std::string(ref));
    }
    return oci::Reference::parse_normalized(ref);
}

} // namespace ctk::registry
