#include "linux/netlink.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <libmnl/libmnl.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"

// libmnl 1.0.4 has no MNL_SOCKET_DUMP_SIZE; a dump reply fits in 32 KiB.
static constexpr size_t dump_buffer_size = 32768;

namespace ctk::linux {

Netns Netns::open(const std::string& path) {
    Netns ns;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("open network namespace", path);
    ns.fd_.reset(fd);
    ns.path_ = path;
    int type = ::ioctl(fd, NS_GET_NSTYPE);
    if (type != CLONE_NEWNET)
        throw_invalid(quote(path) + " is not a network namespace" +
                      (type < 0 ? " (" + errno_text(errno) + ")" : ""));
    return ns;
}

Netns Netns::of_pid(int pid) { return open("/proc/" + std::to_string(pid) + "/ns/net"); }

Netns Netns::current() { return open("/proc/thread-self/ns/net"); }

std::string Netns::inode_key() const {
    struct stat st {};
    if (::fstat(fd_.get(), &st) < 0) throw_errno("stat network namespace", path_);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

NetnsGuard::NetnsGuard(const Netns& ns) : saved_(Netns::current()) {
    if (::setns(ns.fd(), CLONE_NEWNET) < 0) throw_errno("enter network namespace", ns.path());
}

NetnsGuard::~NetnsGuard() {
    // Going back to the namespace we came from cannot fail for root; if it
    // did, carrying on in the wrong namespace would be worse than stopping.
    if (::setns(saved_.fd(), CLONE_NEWNET) < 0) std::abort();
}

// --- addresses ----------------------------------------------------------------

in_addr_t parse_ipv4(const std::string& text) {
    in_addr a{};
    if (::inet_pton(AF_INET, text.c_str(), &a) != 1)
        throw_invalid(quote(text) + " is not an IPv4 address");
    return a.s_addr;
}

std::string format_ipv4(in_addr_t addr) {
    char buf[INET_ADDRSTRLEN];
    in_addr a{addr};
    ::inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

std::string format_mac(const unsigned char* b) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    return buf;
}

std::vector<unsigned char> parse_mac(const std::string& text) {
    std::vector<unsigned char> out;
    std::string s = text;
    for (char& c : s)
        if (c == '-') c = ':';
    auto parts = split(s, ':');
    if (parts.size() != 6) throw_invalid(quote(text) + " is not a MAC address");
    for (const auto& p : parts) {
        if (p.size() != 2 || !std::isxdigit(static_cast<unsigned char>(p[0])) ||
            !std::isxdigit(static_cast<unsigned char>(p[1])))
            throw_invalid(quote(text) + " is not a MAC address");
        out.push_back(static_cast<unsigned char>(std::stoul(p, nullptr, 16)));
    }
    if (out[0] & 1) throw_invalid(quote(text) + " is a multicast MAC address");
    return out;
}

void write_sysctl(const std::string& key, const std::string& value) {
    std::string path = "/proc/sys/net/" + key;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw_errno("open sysctl", path);
    write_all(fd.get(), value, path);
}

std::string read_sysctl(const std::string& key) {
    return std::string(trim(read_file("/proc/sys/net/" + key, 4096)));
}

// --- the socket ---------------------------------------------------------------

RouteSocket::RouteSocket(mnl_socket* sock) : sock_(sock) {}

RouteSocket::RouteSocket() {
    sock_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!sock_) throw_errno("open rtnetlink socket");
    if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
        int err = errno;
        mnl_socket_close(sock_);
        throw_errno("bind rtnetlink socket", err);
    }
    // Errors come back in the ACK; extended ACKs carry the kernel's message.
    int one = 1;
    mnl_socket_setsockopt(sock_, NETLINK_EXT_ACK, &one, sizeof one);
    mnl_socket_setsockopt(sock_, NETLINK_CAP_ACK, &one, sizeof one);
    port_ = mnl_socket_get_portid(sock_);
    seq_ = 1;
}

RouteSocket RouteSocket::in_netns(const Netns& ns) {
    NetnsGuard enter(ns);
    return RouteSocket();
}

RouteSocket::RouteSocket(RouteSocket&& other) noexcept
    : sock_(std::exchange(other.sock_, nullptr)), port_(other.port_), seq_(other.seq_) {}

RouteSocket::~RouteSocket() {
    if (sock_) mnl_socket_close(sock_);
}

namespace {

// The kernel's extended-ACK message, when it sent one.
std::string ext_ack_message(const nlmsghdr* nlh) {
    const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
    size_t off = sizeof(nlmsgerr);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - sizeof(nlmsghdr);
    const auto* attr = reinterpret_cast<const nlattr*>(static_cast<const char*>(mnl_nlmsg_get_payload(nlh)) + off);
    const char* end = reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len;
    while (reinterpret_cast<const char*>(attr) + sizeof(nlattr) <= end && attr->nla_len >= sizeof(nlattr)) {
        if ((attr->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
            const char* s = static_cast<const char*>(mnl_attr_get_payload(attr));
            return std::string(s, strnlen(s, mnl_attr_get_payload_len(attr)));
        }
        attr = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(attr) + NLA_ALIGN(attr->nla_len));
    }
    return {};
}

} // namespace

void RouteSocket::request(nlmsghdr* nlh, const std::string& what) {
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = ++seq_;
    if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) throw_errno(what);
    char buf[8192];
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(what);
        }
        auto* msg = reinterpret_cast<nlmsghdr*>(buf);
        int len = static_cast<int>(n);
        for (; mnl_nlmsg_ok(msg, len); msg = mnl_nlmsg_next(msg, &len)) {
            if (msg->nlmsg_seq != seq_) continue;
            if (msg->nlmsg_type != NLMSG_ERROR) continue;
            const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg));
            if (err->error == 0) return;
            int e = -err->error;
            std::string detail = ext_ack_message(msg);
            if (detail.empty()) throw_errno(what, e);
            throw Error(what + ": " + errno_text(e) + ": " + detail,
                        e == EEXIST || e == EBUSY ? ErrorKind::conflict
                        : e == ENOENT             ? ErrorKind::not_found
                                                  : ErrorKind::failed,
                        e);
        }
    }
}

template <typename F> void RouteSocket::dump(nlmsghdr* nlh, const std::string& what, F&& each) {
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) throw_errno(what);
    std::vector<char> buf(dump_buffer_size);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(what);
        }
        auto* msg = reinterpret_cast<nlmsghdr*>(buf.data());
        int len = static_cast<int>(n);
        for (; mnl_nlmsg_ok(msg, len); msg = mnl_nlmsg_next(msg, &len)) {
            if (msg->nlmsg_seq != seq_) continue;
            if (msg->nlmsg_type == NLMSG_DONE) return;
            if (msg->nlmsg_type == NLMSG_ERROR) {
                const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg));
                if (err->error == 0) return;
                throw_errno(what, -err->error);
            }
            each(msg);
        }
    }
}

namespace {
// A request in `buf`: the netlink header, then the (zeroed) fixed header it returns.
template <typename Header> Header* start_message(char* buf, uint16_t type, uint16_t flags, nlmsghdr*& nlh) {
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    return static_cast<Header*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Header)));
}
} // namespace

template <typename Header, typename F>
void RouteSocket::dump_ipv4(uint16_t request, uint16_t answer, unsigned char Header::*family, const std::string& what,
                            F&& each) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh;
    start_message<Header>(buf, request, 0, nlh)->*family = AF_INET;
    dump(nlh, what, [&](const nlmsghdr* m) {
        if (m->nlmsg_type != answer) return;
        const auto& answered = *static_cast<const Header*>(mnl_nlmsg_get_payload(m));
        if (answered.*family == AF_INET) each(m, answered);
    });
}

namespace {

// Calls f(attr) for each attribute after `offset` bytes of payload.
template <typename F> void each_attr(const nlmsghdr* nlh, size_t offset, F f) {
    mnl_attr_parse(
        nlh, static_cast<unsigned>(offset),
        [](const nlattr* attr, void* data) {
            (*static_cast<F*>(data))(attr);
            return MNL_CB_OK;
        },
        &f);
}

template <typename F> void each_nested(const nlattr* nest, F f) {
    mnl_attr_parse_nested(
        nest,
        [](const nlattr* attr, void* data) {
            (*static_cast<F*>(data))(attr);
            return MNL_CB_OK;
        },
        &f);
}

// IPv4 BIG TCP (Linux 6.3): TCP may hand segments of up to this size to a
// bridge or veth, instead of 64 KiB, and they cross the bridge whole; on a
// 1500-byte MTU that is a third of the per-packet work between containers
// (bench/net: 0.66x -> 0.83x of loopback). A device that cannot send them
// (a NIC on the way out) gets them segmented by the kernel as before. The
// attribute numbers are those of linux/if_link.h 6.3.
constexpr uint16_t ifla_gso_ipv4_max_size = 63;
constexpr uint16_t ifla_gro_ipv4_max_size = 64;
constexpr uint32_t big_tcp_ipv4_size = 196608;

struct LinkAttrs {
    const nlattr* tb[IFLA_MAX + 1] = {};
    const nlattr* gso_ipv4_max_size = nullptr; // newer than this IFLA_MAX
};

LinkInfo parse_link(const nlmsghdr* nlh) {
    LinkInfo info;
    const auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    info.index = ifm->ifi_index;
    info.flags = ifm->ifi_flags;
    LinkAttrs a;
    mnl_attr_parse(
        nlh, sizeof(*ifm),
        [](const nlattr* attr, void* data) {
            int type = mnl_attr_get_type(attr);
            if (type <= IFLA_MAX) static_cast<LinkAttrs*>(data)->tb[type] = attr;
            else if (type == ifla_gso_ipv4_max_size) static_cast<LinkAttrs*>(data)->gso_ipv4_max_size = attr;
            return MNL_CB_OK;
        },
        &a);
    if (a.tb[IFLA_IFNAME]) info.name = mnl_attr_get_str(a.tb[IFLA_IFNAME]);
    if (a.tb[IFLA_MTU]) info.mtu = mnl_attr_get_u32(a.tb[IFLA_MTU]);
    if (a.gso_ipv4_max_size) info.gso_ipv4_max_size = mnl_attr_get_u32(a.gso_ipv4_max_size);
    if (a.tb[IFLA_MASTER]) info.master = static_cast<int>(mnl_attr_get_u32(a.tb[IFLA_MASTER]));
    if (a.tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(a.tb[IFLA_ADDRESS]) == 6)
        info.mac = format_mac(static_cast<const unsigned char*>(mnl_attr_get_payload(a.tb[IFLA_ADDRESS])));
    if (a.tb[IFLA_LINKINFO]) {
        each_nested(a.tb[IFLA_LINKINFO], [&](const nlattr* nested) {
            if (mnl_attr_get_type(nested) == IFLA_INFO_KIND) info.kind = mnl_attr_get_str(nested);
        });
    }
    return info;
}

nlmsghdr* link_message(char* buf, uint16_t type, uint16_t flags, int index) {
    nlmsghdr* nlh;
    auto* ifm = start_message<ifinfomsg>(buf, type, flags, nlh);
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = index;
    return nlh;
}

} // namespace

std::optional<LinkInfo> RouteSocket::get_link(const std::string& name, int index) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_GETLINK, NLM_F_REQUEST, index);
    if (!name.empty()) mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    nlh->nlmsg_seq = ++seq_;
    std::string what = name.empty() ? std::to_string(index) : name;
    if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) throw_errno("get link", what);
    std::vector<char> rbuf(dump_buffer_size);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_, rbuf.data(), rbuf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("get link", what);
        }
        auto* msg = reinterpret_cast<nlmsghdr*>(rbuf.data());
        int len = static_cast<int>(n);
        for (; mnl_nlmsg_ok(msg, len); msg = mnl_nlmsg_next(msg, &len)) {
            if (msg->nlmsg_seq != seq_) continue;
            if (msg->nlmsg_type == NLMSG_ERROR) {
                const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg));
                if (err->error == -ENODEV || err->error == -ENOENT) return std::nullopt;
                throw_errno("get link", what, -err->error);
            }
            if (msg->nlmsg_type == RTM_NEWLINK) return parse_link(msg);
        }
    }
}

std::optional<LinkInfo> RouteSocket::link(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) return std::nullopt;
    return get_link(name, 0);
}

std::optional<LinkInfo> RouteSocket::link(int index) {
    if (index <= 0) return std::nullopt;
    return get_link("", index);
}

std::vector<LinkInfo> RouteSocket::links() {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_GETLINK, 0, 0);
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    std::vector<LinkInfo> out;
    dump(nlh, "list links", [&](const nlmsghdr* m) {
        if (m->nlmsg_type == RTM_NEWLINK) out.push_back(parse_link(m));
    });
    return out;
}

std::vector<AddressInfo> RouteSocket::addresses() {
    std::vector<AddressInfo> out;
    auto each = [&](const nlmsghdr* m, const ifaddrmsg& msg) {
        AddressInfo a;
        a.index = static_cast<int>(msg.ifa_index);
        a.prefix.length = msg.ifa_prefixlen;
        each_attr(m, sizeof msg, [&](const nlattr* attr) {
            if (mnl_attr_get_type(attr) == IFA_LOCAL && mnl_attr_get_payload_len(attr) == 4)
                a.prefix.addr = mnl_attr_get_u32(attr);
        });
        out.push_back(a);
    };
    dump_ipv4(RTM_GETADDR, RTM_NEWADDR, &ifaddrmsg::ifa_family, "list addresses", each);
    return out;
}

std::vector<RouteInfo> RouteSocket::routes() {
    std::vector<RouteInfo> out;
    auto each = [&](const nlmsghdr* m, const rtmsg& msg) {
        if (msg.rtm_table != RT_TABLE_MAIN) return;
        RouteInfo r;
        r.dst.length = msg.rtm_dst_len;
        each_attr(m, sizeof msg, [&](const nlattr* attr) {
            switch (mnl_attr_get_type(attr)) {
            case RTA_DST: r.dst.addr = mnl_attr_get_u32(attr); break;
            case RTA_GATEWAY: r.gateway = mnl_attr_get_u32(attr); break;
            case RTA_OIF: r.oif = static_cast<int>(mnl_attr_get_u32(attr)); break;
            default: break;
            }
        });
        out.push_back(r);
    };
    dump_ipv4(RTM_GETROUTE, RTM_NEWROUTE, &rtmsg::rtm_family, "list routes", each);
    return out;
}


int RouteSocket::add_bridge(const std::string& name, unsigned mtu, const std::optional<std::string>& mac) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    if (mac) {
        auto bytes = parse_mac(*mac);
        mnl_attr_put(nlh, IFLA_ADDRESS, bytes.size(), bytes.data());
    }
    nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(nlh, info);
    request(nlh, "create bridge " + quote(name));
    auto l = link(name);
    if (!l) throw_errno("create bridge", name, ENODEV);
    return l->index;
}

int RouteSocket::add_veth(const std::string& host_name, const std::string& peer_name, const Netns& peer_ns,
                          unsigned mtu, const std::optional<std::string>& peer_mac, int master) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name.c_str());
    if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    if (master) mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(master));
    nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    auto* pifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    pifm->ifi_family = AF_UNSPEC; // not IFF_UP: veth_open() fails with ENOTCONN before the pair is linked
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name.c_str());
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_ns.fd()));
    if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    if (peer_mac) {
        auto mac = parse_mac(*peer_mac);
        mnl_attr_put(nlh, IFLA_ADDRESS, mac.size(), mac.data());
    }
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, info);
    request(nlh, "create veth pair " + quote(host_name) + "/" + quote(peer_name));
    auto l = link(host_name);
    if (!l) throw_errno("create veth", host_name, ENODEV);
    return l->index;
}

bool RouteSocket::try_big_tcp(int index) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_NEWLINK, 0, index);
    mnl_attr_put_u32(nlh, ifla_gso_ipv4_max_size, big_tcp_ipv4_size);
    mnl_attr_put_u32(nlh, ifla_gro_ipv4_max_size, big_tcp_ipv4_size);
    try {
        request(nlh, "IPv4 BIG TCP on link " + std::to_string(index));
        return true;
    } catch (const Error&) {
        return false; // a kernel before 6.3, or a device that cannot
    }
}

void RouteSocket::delete_link(int index) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_DELLINK, 0, index);
    request(nlh, "delete link " + std::to_string(index));
}

bool delete_link_unlisted(const std::string& name) {
    // Subscribe before the deletion, so the notification cannot be missed.
    RouteSocket events;
    int group = RTNLGRP_LINK;
    if (mnl_socket_setsockopt(events.sock_, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
        throw_errno("subscribe to link events");
    auto link = events.link(name);
    if (!link) return false;
    UniqueFd rd, wr;
    make_pipe(rd, wr);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        // Nothing of the parent's stays open here: not the store's lock, not
        // the stdout a caller reads to its end.
        ::signal(SIGPIPE, SIG_IGN); // the parent does not wait for the answer
        if (wr.get() != 3) ::dup2(wr.get(), 3);
        ::close_range(4, ~0u, 0);
        int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 0; fd < 3; ++fd) ::dup3(devnull, fd, 0);
        int err = 0;
        try {
            RouteSocket rt;
            rt.delete_link(link->index);
        } catch (const Error& e) {
            err = e.error_number() ? e.error_number() : EIO;
        }
        (void)!::write(3, &err, sizeof err);
        ::_exit(0);
    }
    wr.reset();
    std::vector<char> buf(dump_buffer_size);
    pollfd fds[2] = {{mnl_socket_get_fd(events.sock_), POLLIN, 0}, {rd.get(), POLLIN, 0}};
    for (;;) {
        int r = ::poll(fds, 2, 10000);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw_errno("wait for link deletion", name);
        }
        if (r == 0) throw_errno("wait for link deletion", name, ETIMEDOUT);
        if (fds[1].revents) {
            int err = 0;
            ssize_t n = ::read(rd.get(), &err, sizeof err);
            if (n == sizeof err && err != 0) {
                if (err == ENODEV) return false;
                throw_errno("delete link", name, err);
            }
            if (n == sizeof err) return true; // deleted, and the kernel is done too
            fds[1].fd = -1;                    // the child died: rely on the notification
        }
        if (fds[0].revents) {
            ssize_t n = ::recv(fds[0].fd, buf.data(), buf.size(), MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                if (errno == ENOBUFS) continue; // missed events: the pipe still reports
                throw_errno("receive link events");
            }
            auto* msg = reinterpret_cast<nlmsghdr*>(buf.data());
            int len = static_cast<int>(n);
            for (; mnl_nlmsg_ok(msg, len); msg = mnl_nlmsg_next(msg, &len)) {
                if (msg->nlmsg_type != RTM_DELLINK) continue;
                const auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(msg));
                // AF_BRIDGE notifications tell of the port leaving the bridge; the
                // link itself is gone with the AF_UNSPEC one.
                if (ifm->ifi_family == AF_UNSPEC && ifm->ifi_index == link->index) return true;
            }
        }
    }
}

bool RouteSocket::delete_link(const std::string& name) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_DELLINK, 0, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
    try {
        request(nlh, "delete link " + quote(name));
    } catch (const Error& e) {
        if (e.error_number() == ENODEV || e.error_number() == ENOENT) return false;
        throw;
    }
    return true;
}

void RouteSocket::set_up(int index) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_NEWLINK, 0, index);
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
    request(nlh, "set link " + std::to_string(index) + " up");
}

void RouteSocket::set_down(int index) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_NEWLINK, 0, index);
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    ifm->ifi_flags = 0;
    ifm->ifi_change = IFF_UP;
    request(nlh, "set link " + std::to_string(index) + " down");
}

void RouteSocket::set_master(int index, int master) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_NEWLINK, 0, index);
    mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(master));
    request(nlh, "attach link " + std::to_string(index) + " to bridge " + std::to_string(master));
}

void RouteSocket::set_hairpin(int index, bool on) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = link_message(buf, RTM_SETLINK, 0, index);
    static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh))->ifi_family = AF_BRIDGE;
    nlattr* proto = mnl_attr_nest_start(nlh, IFLA_PROTINFO | NLA_F_NESTED);
    mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
    mnl_attr_nest_end(nlh, proto);
    request(nlh, "set hairpin mode on link " + std::to_string(index));
}

void RouteSocket::add_address(int index, const Ipv4Prefix& prefix) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh;
    auto* ifa = start_message<ifaddrmsg>(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, nlh);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = static_cast<unsigned char>(prefix.length);
    ifa->ifa_index = static_cast<unsigned>(index);
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    mnl_attr_put_u32(nlh, IFA_LOCAL, prefix.addr);
    mnl_attr_put_u32(nlh, IFA_ADDRESS, prefix.addr);
    if (prefix.length < 31) {
        uint32_t host_mask = prefix.length == 0 ? 0xffffffffu : (0xffffffffu >> prefix.length);
        mnl_attr_put_u32(nlh, IFA_BROADCAST, prefix.addr | htonl(host_mask));
    }
    request(nlh, "add address " + format_ipv4(prefix.addr) + "/" + std::to_string(prefix.length));
}

bool RouteSocket::add_route(const Ipv4Prefix& dst, in_addr_t gateway, int oif) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh;
    auto* rtm = start_message<rtmsg>(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, nlh);
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = static_cast<unsigned char>(dst.length);
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    rtm->rtm_type = RTN_UNICAST;
    if (dst.length) mnl_attr_put_u32(nlh, RTA_DST, dst.addr);
    if (gateway) mnl_attr_put_u32(nlh, RTA_GATEWAY, gateway);
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(oif));
    try {
        request(nlh, "add route " + format_ipv4(dst.addr) + "/" + std::to_string(dst.length));
    } catch (const Error& e) {
        if (e.error_number() == EEXIST) return false;
        throw;
    }
    return true;
}

void send_gratuitous_arp(const Netns& ns, int index, const std::string& mac, in_addr_t addr) {
    UniqueFd sock;
    {
        NetnsGuard enter(ns);
        sock = UniqueFd(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP)));
    }
    if (!sock) throw_errno("create packet socket for a gratuitous ARP of link", std::to_string(index));
    auto hw = parse_mac(mac);
    // RFC 5227 section 3 (ARP Announcement): a request with the sender's
    // address as both sender and target, to the broadcast address.
    struct {
        arphdr h;
        unsigned char sha[6];
        unsigned char spa[4];
        unsigned char tha[6];
        unsigned char tpa[4];
    } __attribute__((packed)) frame{};
    frame.h.ar_hrd = htons(ARPHRD_ETHER);
    frame.h.ar_pro = htons(ETH_P_IP);
    frame.h.ar_hln = 6;
    frame.h.ar_pln = 4;
    frame.h.ar_op = htons(ARPOP_REQUEST);
    std::memcpy(frame.sha, hw.data(), 6);
    std::memcpy(frame.spa, &addr, 4);
    std::memcpy(frame.tpa, &addr, 4);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_ARP);
    to.sll_ifindex = index;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    if (::sendto(sock.get(), &frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
        throw_errno("send a gratuitous ARP on link", std::to_string(index));
}

} // namespace ctk::linux
