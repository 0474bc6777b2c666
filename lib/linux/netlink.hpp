// rtnetlink over libmnl: links (bridges, veth pairs), IPv4 addresses and
// routes, in this network namespace or in another one. This is what `ip link`,
// `ip addr` and `ip route` do, without their processes.
//
// A netlink socket belongs to the network namespace it was created in, so
// RouteSocket::in_netns() enters the target namespace only for the socket(2)
// call and returns: every later request works there without setns.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/fd.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace ctk::linux {

// An open network namespace: /var/run/netns/NAME, /proc/PID/ns/net, ...
class Netns {
public:
    static Netns open(const std::string& path);
    static Netns of_pid(int pid);
    static Netns current();

    int fd() const noexcept { return fd_.get(); }
    const std::string& path() const noexcept { return path_; }
    // The namespace's identity: "<dev>:<inode>" of its nsfs file.
    std::string inode_key() const;

private:
    UniqueFd fd_;
    std::string path_;
};

// The thread enters `ns` and goes back to where it was when the guard ends.
class NetnsGuard {
public:
    explicit NetnsGuard(const Netns& ns);
    ~NetnsGuard();
    NetnsGuard(const NetnsGuard&) = delete;
    NetnsGuard& operator=(const NetnsGuard&) = delete;

private:
    Netns saved_;
};

struct Ipv4Prefix {
    in_addr_t addr = 0; // network byte order
    int length = 0;
};

struct LinkInfo {
    int index = 0;
    std::string name;
    std::string kind; // "bridge", "veth", "" when the kernel does not say
    unsigned mtu = 0;
    unsigned gso_ipv4_max_size = 0; // 0: the kernel does not say (before 6.3)
    unsigned flags = 0; // IFF_*
    int master = 0;
    std::string mac; // "aa:bb:cc:dd:ee:ff"
};

struct AddressInfo {
    int index = 0;
    Ipv4Prefix prefix;
};

struct RouteInfo {
    Ipv4Prefix dst;
    in_addr_t gateway = 0;
    int oif = 0;
};

class RouteSocket {
public:
    // A socket in the caller's namespace.
    RouteSocket();
    // A socket in `ns`.
    static RouteSocket in_netns(const Netns& ns);
    RouteSocket(RouteSocket&& other) noexcept;
    RouteSocket& operator=(RouteSocket&&) = delete;
    RouteSocket(const RouteSocket&) = delete;
    ~RouteSocket();

    std::optional<LinkInfo> link(const std::string& name);
    std::optional<LinkInfo> link(int index);
    std::vector<LinkInfo> links();
    std::vector<AddressInfo> addresses();
    std::vector<RouteInfo> routes();

    // ip link add NAME type bridge [mtu MTU] [address MAC]; returns the index.
    // With a MAC the kernel keeps it (addr_assign_type "set"); without, the
    // bridge takes the lowest MAC of its ports, which changes as ports come
    // and go (and is all zeros with none).
    int add_bridge(const std::string& name, unsigned mtu, const std::optional<std::string>& mac = std::nullopt);
    // ip link add HOST [mtu] [master MASTER] up type veth peer name PEER netns PEER_NS
    // [address MAC]: one request, the host end up (the peer is set up by the
    // caller: veth_open() fails with ENOTCONN before the pair is linked).
    int add_veth(const std::string& host_name, const std::string& peer_name, const Netns& peer_ns,
                 unsigned mtu, const std::optional<std::string>& peer_mac, int master);
    // IPv4 BIG TCP: segments of up to 192 KiB handed to the link (see
    // netlink.cpp). Best effort: false when the kernel (before 6.3) or the
    // device (a bridge without ports yet) refuses.
    bool try_big_tcp(int index);
    void delete_link(int index);
    // Returns false when no such link exists.
    bool delete_link(const std::string& name);
    void set_up(int index);
    void set_down(int index);
    void set_master(int index, int master);
    // Bridge port flag: frames may leave by the port they came in (a container
    // reaching its own published port through the host).
    void set_hairpin(int index, bool on);
    void add_address(int index, const Ipv4Prefix& prefix);
    // Returns false when the route already exists (EEXIST).
    bool add_route(const Ipv4Prefix& dst, in_addr_t gateway, int oif);

private:
    friend bool delete_link_unlisted(const std::string& name);
    explicit RouteSocket(mnl_socket* sock);
    std::optional<LinkInfo> get_link(const std::string& name, int index);
    void request(nlmsghdr* nlh, const std::string& what);
    template <typename F> void dump(nlmsghdr* nlh, const std::string& what, F&& each);
    // A dump of `request` for IPv4 (`family` is the family field of its
    // fixed header); `each(m, header)` gets every IPv4 answer of type `answer`.
    template <typename Header, typename F>
    void dump_ipv4(uint16_t request, uint16_t answer, unsigned char Header::*family, const std::string& what,
                   F&& each);

    mnl_socket* sock_ = nullptr;
    unsigned port_ = 0;
    unsigned seq_ = 0;
};

// Deletes a link in the caller's namespace and returns as soon as the kernel
// has unlisted it (the RTM_DELLINK notification: it has no address, route or
// traffic any more, and a veth's peer is gone too). The deleting request itself
// runs in a short-lived child process, because the kernel answers it only after
// an rcu_barrier() that frees the device (10-20 ms here) and nobody needs to
// wait for that. Returns false when no such link exists.
bool delete_link_unlisted(const std::string& name);

// "10.1.2.3" <-> network byte order; parse throws ErrorKind::invalid.
in_addr_t parse_ipv4(const std::string& text);
std::string format_ipv4(in_addr_t addr);
std::string format_mac(const unsigned char* bytes);
// "aa:bb:cc:dd:ee:ff" (or with '-'); throws ErrorKind::invalid.
std::vector<unsigned char> parse_mac(const std::string& text);

// An ARP announcement (gratuitous ARP, RFC 5227) of `addr` (network order)
// with `mac` from link `index` of namespace `ns`: peers that cached another
// MAC for the address take this one.
void send_gratuitous_arp(const Netns& ns, int index, const std::string& mac, in_addr_t addr);

// /proc/sys/net/... written directly; `key` as "ipv4/ip_forward".
void write_sysctl(const std::string& key, const std::string& value);
std::string read_sysctl(const std::string& key);

} // namespace ctk::linux
