// IPv4 subnets and published ports: the values a network and an endpoint are
// made of, parsed strictly from what users type.
#pragma once

#include <cstdint>
#include <string>

namespace ctk::network {

// Addresses here are in host byte order, so that arithmetic reads naturally.
uint32_t parse_address(const std::string& text);   // throws ErrorKind::invalid
std::string format_address(uint32_t addr);

struct Subnet {
    uint32_t network = 0; // host order, host bits zero
    int length = 0;

    // "10.200.1.0/24". Host bits must be zero ("10.200.1.7/24" is refused with
    // the subnet it probably meant); the prefix must leave room for hosts.
    static Subnet parse(const std::string& text);
    // Throws ErrorKind::invalid when the subnet overlaps a range that is not for
    // hosts on a link (RFC 6890): 0.0.0.0/8 "this network", 127.0.0.0/8 loopback,
    // 169.254.0.0/16 link-local, 224.0.0.0/4 multicast, 240.0.0.0/4 reserved
    // (with 255.255.255.255 broadcast). A bridge given 127.0.0.1/8 takes over
    // the host's loopback routes.
    void check_assignable() const;
    std::string str() const;
    uint32_t mask() const { return length == 0 ? 0 : 0xffffffffu << (32 - length); }
    uint32_t broadcast() const { return network | ~mask(); }
    bool contains(uint32_t addr) const { return (addr & mask()) == network; }
    bool overlaps(const Subnet& other) const;
    // The first and last usable host address (network and broadcast excluded).
    uint32_t first_host() const { return network + 1; }
    uint32_t last_host() const { return broadcast() - 1; }
    uint64_t size() const { return uint64_t{1} << (32 - length); }
};

struct PortMapping {
    std::string host_ip;     // "" = every local address
    uint16_t host_port = 0;
    uint16_t container_port = 0;
    std::string protocol = "tcp"; // tcp | udp

    // Docker's -p syntax: [HOSTIP:]HOSTPORT:PORT[/tcp|udp]
    static PortMapping parse(const std::string& text);
    std::string str() const;
    bool same_host_side(const PortMapping& o) const {
        return host_port == o.host_port && protocol == o.protocol &&
               (host_ip.empty() || o.host_ip.empty() || host_ip == o.host_ip);
    }
};

} // namespace ctk::network
