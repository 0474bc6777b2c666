#include "network/address.hpp"

#include <arpa/inet.h>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace ctk::network {

uint32_t parse_address(const std::string& text) {
    in_addr a{};
    if (::inet_pton(AF_INET, text.c_str(), &a) != 1)
        throw_invalid(quote(text) + " is not an IPv4 address");
    return ntohl(a.s_addr);
}

std::string format_address(uint32_t addr) {
    in_addr a{htonl(addr)};
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

Subnet Subnet::parse(const std::string& text) {
    auto parts = split_once(text, '/');
    if (!parts) throw_invalid("invalid CIDR " + quote(text) + ": expected ADDRESS/PREFIX");
    auto len = parse_uint(parts->second);
    uint32_t addr = 0;
    try {
        addr = parse_address(parts->first);
    } catch (const Error&) {
        throw_invalid("invalid CIDR " + quote(text) + ": " + quote(parts->first) + " is not an IPv4 address");
    }
    if (!len || *len > 32) throw_invalid("invalid CIDR " + quote(text) + ": prefix length must be 0-32");
    if (*len < 8 || *len > 30)
        throw_invalid("invalid CIDR " + quote(text) + ": prefix length must be 8-30 for a bridge network");
    Subnet s;
    s.length = static_cast<int>(*len);
    s.network = addr & s.mask();
    if (s.network != addr)
        throw_invalid("invalid CIDR " + quote(text) + ": host bits set (did you mean " + s.str() + "?)");
    return s;
}

void Subnet::check_assignable() const {
    static const struct {
        const char* cidr;
        const char* name;
    } reserved[] = {{"0.0.0.0/8", "\"this network\" (0.0.0.0/8)"},
                    {"127.0.0.0/8", "loopback (127.0.0.0/8)"},
                    {"169.254.0.0/16", "link-local (169.254.0.0/16)"},
                    {"224.0.0.0/4", "multicast (224.0.0.0/4)"},
                    {"240.0.0.0/4", "reserved and broadcast (240.0.0.0/4)"}};
    for (const auto& r : reserved) {
        auto [addr, len] = *split_once(r.cidr, '/');
        Subnet s;
        s.length = static_cast<int>(*parse_uint(len));
        s.network = parse_address(addr);
        if (overlaps(s))
            throw_invalid("invalid subnet " + str() + ": it overlaps the " + r.name +
                          " range, whose addresses cannot be given to hosts");
    }
}

std::string Subnet::str() const { return format_address(network) + "/" + std::to_string(length); }

bool Subnet::overlaps(const Subnet& o) const {
    int shorter = length < o.length ? length : o.length;
    uint32_t m = shorter == 0 ? 0 : 0xffffffffu << (32 - shorter);
    return (network & m) == (o.network & m);
}

static uint16_t parse_port(const std::string& text, const std::string& spec) {
    auto v = parse_uint(text);
    if (!v || *v == 0 || *v > 65535)
        throw_invalid("invalid published port " + quote(spec) + ": " + quote(text) + " is not a port number");
    return static_cast<uint16_t>(*v);
}

PortMapping PortMapping::parse(const std::string& text) {
    PortMapping m;
    std::string spec = text;
    if (auto slash = split_once(spec, '/')) {
        m.protocol = to_lower(slash->second);
        if (m.protocol != "tcp" && m.protocol != "udp")
            throw_invalid("invalid published port " + quote(text) + ": protocol must be tcp or udp");
        spec = slash->first;
    }
    auto parts = split(spec, ':');
    if (parts.size() == 3) {
        m.host_ip = parts[0];
        if (m.host_ip == "0.0.0.0") m.host_ip.clear();
        if (!m.host_ip.empty()) {
            try {
                parse_address(m.host_ip);
            } catch (const Error&) {
                throw_invalid("invalid published port " + quote(text) + ": " + quote(parts[0]) +
                              " is not an IPv4 address");
            }
        }
        parts.erase(parts.begin());
    }
    if (parts.size() != 2)
        throw_invalid("invalid published port " + quote(text) + ": expected [HOSTIP:]HOSTPORT:PORT[/PROTO]");
    m.host_port = parse_port(parts[0], text);
    m.container_port = parse_port(parts[1], text);
    return m;
}

std::string PortMapping::str() const {
    std::string s = host_ip.empty() ? "" : host_ip + ":";
    return s + std::to_string(host_port) + ":" + std::to_string(container_port) + "/" + protocol;
}

} // namespace ctk::network
