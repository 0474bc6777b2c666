#include "network/bridge.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "linux/netlink.hpp"
#include "network/firewall.hpp"

namespace ctk::network {

using linux::Ipv4Prefix;
using linux::Netns;
using linux::RouteSocket;

namespace {

Ipv4Prefix prefix(uint32_t addr, int length) { return Ipv4Prefix{htonl(addr), length}; }

void enable_forwarding() {
    if (linux::read_sysctl("ipv4/ip_forward") != "1") linux::write_sysctl("ipv4/ip_forward", "1");
}

// A random locally administered unicast MAC: a bridge with a MAC of its own
// keeps it (Docker's bridge driver does the same), so the gateway's MAC that
// containers have cached stays valid as endpoints come and go.
std::string random_bridge_mac() {
    std::string hex = random_hex(6);
    unsigned first = (std::stoul(hex.substr(0, 2), nullptr, 16) & 0xfe) | 0x02;
    static const char digits[] = "0123456789abcdef";
    std::string mac = {digits[first >> 4], digits[first & 15]};
    for (size_t i = 2; i < 12; i += 2) mac += ":" + hex.substr(i, 2);
    return mac;
}

int make_bridge(RouteSocket& rt, const Network& n) {
    int index = rt.add_bridge(n.bridge, n.mtu, random_bridge_mac());
    ScopeGuard undo([&] {
        try {
            rt.delete_link(index);
        } catch (...) {
        }
    });
    rt.add_address(index, prefix(n.gateway, n.subnet.length));
    // Published ports on 127.0.0.1: packets from the host's loopback are
    // DNATed to a container and leave through the bridge with a 127.0.0.0/8
    // source until postrouting masquerades them; the kernel drops such
    // packets on a device without route_localnet. Only this bridge gets it,
    // and the `guard` chain drops anything sent to 127.0.0.0/8 through it.
    linux::write_sysctl("ipv4/conf/" + n.bridge + "/route_localnet", "1");
    rt.set_up(index);
    if (!n.internal) enable_forwarding();
    delete_network_rules(n);
    add_network_rules(n);
    undo.dismiss();
    return index;
}

std::string pick_ifname(RouteSocket& ns, const std::optional<std::string>& wanted, const std::string& netns) {
    if (wanted) {
        check_ifname(*wanted);
        if (ns.link(*wanted))
            throw_conflict("interface " + quote(*wanted) + " already exists in network namespace " + quote(netns));
        return *wanted;
    }
    for (int i = 0; i < 64; ++i) {
        std::string name = "eth" + std::to_string(i);
        if (!ns.link(name)) return name;
    }
    throw_conflict("network namespace " + quote(netns) + ": no free interface name eth0-eth63");
}

Netns open_target(const std::string& netns, int pid) {
    if (!netns.empty() && pid) throw Error("--netns and --pid are mutually exclusive", ErrorKind::usage);
    if (!netns.empty()) return Netns::open(netns);
    if (pid > 0) return Netns::of_pid(pid);
    throw Error("a network namespace is needed: --netns PATH or --pid PID", ErrorKind::usage);
}

std::string netns_label(const std::string& netns, int pid) {
    return netns.empty() ? "/proc/" + std::to_string(pid) + "/ns/net" : netns;
}

void remove_endpoint_files(const Endpoint& e) {
    for (const auto& f : {e.resolv_conf, e.hosts})
        if (!f.empty()) ::unlink(f.c_str());
    if (!e.resolv_conf.empty()) {
        auto dir = e.resolv_conf.substr(0, e.resolv_conf.rfind('/'));
        ::rmdir(dir.c_str());
    }
}

// Attach set lo up: detach sets it down again, unless another endpoint (on
// any network) of the same namespace is still there.
void restore_lo(const NetworkStore& store, const Network& n, const Endpoint& e, const std::optional<Netns>& ns) {
    for (const auto& other : store.list())
        for (const auto& oe : other.endpoints)
            if (oe.netns_key == e.netns_key && !(other.name == n.name && oe.id == e.id)) return;
    try {
        std::optional<Netns> opened;
        const Netns* target = ns ? &*ns : nullptr;
        if (!target) {
            opened = Netns::open(e.netns);
            if (opened->inode_key() != e.netns_key) return; // the path names another namespace now
            target = &*opened;
        }
        RouteSocket inside = RouteSocket::in_netns(*target);
        if (auto lo = inside.link("lo")) inside.set_down(lo->index);
    } catch (const Error&) {
        // the namespace is gone: nothing to restore
    }
}

// A reused address with a new MAC: peers that cached the old one send to it
// until their entry goes stale (up to a minute of loss). A gratuitous ARP
// from the new owner updates them (Docker's bridge driver sends them too).
// net.ipv4.conf.<if>.arp_notify would have the kernel send it as the link
// comes up, but then the host end's bridge port is not forwarding yet (the
// bridge learns of the carrier from linkwatch, a moment later) and drops it:
// wait for the port to forward (a few ms, bounded), then send.
void announce_address(const Netns& ns, int index, const Endpoint& e) {
    const std::string state = "/sys/class/net/" + e.host_ifname + "/brport/state";
    for (int i = 0; i < 1000; ++i) {
        if (trim(read_file_if_exists(state, 16).value_or("")) == "3") break; // BR_STATE_FORWARDING
        ::usleep(1000);
    }
    linux::send_gratuitous_arp(ns, index, e.mac, htonl(e.address));
}

} // namespace

int ensure_bridge(const Network& n) {
    RouteSocket rt;
    auto link = rt.link(n.bridge);
    if (!link) return make_bridge(rt, n);
    if (link->kind != "bridge")
        throw_conflict("network " + quote(n.name) + ": interface " + quote(n.bridge) + " exists and is not a bridge");
    bool has_gateway = false;
    for (const auto& a : rt.addresses())
        if (a.index == link->index && a.prefix.addr == htonl(n.gateway)) has_gateway = true;
    if (!has_gateway) {
        // A bridge someone else made (a CNI plugin, an earlier run): give it
        // the gateway and this network's rules.
        rt.add_address(link->index, prefix(n.gateway, n.subnet.length));
        linux::write_sysctl("ipv4/conf/" + n.bridge + "/route_localnet", "1");
        if (!n.internal) enable_forwarding();
        delete_network_rules(n);
        add_network_rules(n);
    }
    if (!(link->flags & IFF_UP)) rt.set_up(link->index);
    return link->index;
}

Network create_network(const NetworkStore& store, const CreateRequest& req) {
    auto lock = store.lock();
    Network n = store.make(req.name, req.subnet, req.gateway, req.bridge);
    n.internal = req.internal;
    n.masquerade = req.masquerade;
    n.mtu = req.mtu;
    n.labels = req.labels;
    if (n.mtu < 68 || n.mtu > 65535) throw_invalid("network " + quote(n.name) + ": MTU must be 68-65535");
    RouteSocket rt;
    if (rt.link(n.bridge))
        throw_conflict("network " + quote(n.name) + ": interface " + quote(n.bridge) + " already exists");
    // Rules left by a network that is gone would apply to a new bridge of its name.
    collect_rules();
    make_bridge(rt, n);
    ScopeGuard undo([&] {
        try {
            delete_network_rules(n);
            rt.delete_link(n.bridge);
        } catch (...) {
        }
    });
    store.save(n);
    undo.dismiss();
    return n;
}

static void teardown(const NetworkStore& store, const Network& n) {
    stop_dns_responder(store, n);
    delete_network_rules(n);
    linux::delete_link_unlisted(n.bridge);
    remove_tree(store.run_dir(n.name));
}

void remove_network(const NetworkStore& store, const std::string& name) {
    auto lock = store.lock();
    Network n = store.load(name);
    if (!n.endpoints.empty())
        throw_conflict("network " + quote(name) + " has " + std::to_string(n.endpoints.size()) +
                       " active endpoint(s); detach them first");
    teardown(store, n);
    store.remove(name);
    collect_rules();
}

std::vector<std::string> prune_networks(const NetworkStore& store) {
    auto lock = store.lock();
    std::vector<std::string> removed;
    for (const auto& n : store.list()) {
        if (n.is_default() || !n.endpoints.empty()) continue;
        teardown(store, n);
        store.remove(n.name);
        removed.push_back(n.name);
    }
    collect_rules();
    return removed;
}

Json cni_result(const Network& n, const Endpoint& e, const ResolvConf& dns, const std::string& bridge_mac,
                const std::string& host_mac) {
    Json r;
    r["cniVersion"] = "1.0.0";
    r["interfaces"] = Json::array({
        Json{{"name", n.bridge}, {"mac", bridge_mac}},
        Json{{"name", e.host_ifname}, {"mac", host_mac}},
        Json{{"name", e.ifname}, {"mac", e.mac}, {"sandbox", e.netns}},
    });
    r["ips"] = Json::array({Json{{"address", format_address(e.address) + "/" + std::to_string(n.subnet.length)},
                                 {"gateway", format_address(n.gateway)},
                                 {"interface", 2}}});
    Json routes = Json::array();
    if (e.default_route) routes.push_back(Json{{"dst", "0.0.0.0/0"}, {"gw", format_address(n.gateway)}});
    r["routes"] = routes;
    Json d = Json::object();
    put_if(d, "nameservers", dns.nameservers);
    put_if(d, "search", dns.search);
    put_if(d, "options", dns.options);
    r["dns"] = d;
    return r;
}

AttachResult attach(const NetworkStore& store, const NetworkConfig& config, const AttachRequest& req) {
    Netns ns = open_target(req.netns, req.pid);
    const std::string netns_path = netns_label(req.netns, req.pid);
    const std::string key = ns.inode_key();
    for (const auto& a : req.aliases)
        if (a.empty()) throw_invalid("an alias cannot be empty");

    auto lock = store.lock();
    bool is_new_default = req.network == default_network_name && !store.exists(default_network_name);
    Network n = req.network == default_network_name ? store.load_or_make_default(config) : store.load(req.network);
    const std::string what = "network " + quote(n.name);
    if (n.find_endpoint_by_key(key))
        throw_conflict(what + ": network namespace " + quote(netns_path) + " is already attached");
    if (n.find_endpoint_by_container(req.container_id))
        throw_conflict(what + ": container " + quote(req.container_id) + " is already attached");
    if (!req.name.empty())
        for (const auto& other : n.endpoints)
            if (other.name == req.name)
                throw_conflict(what + ": the name " + quote(req.name) + " is already used by endpoint " +
                               other.short_id());
    if (!req.ports.empty()) {
        auto all = store.list();
        for (const auto& p : req.ports)
            for (const auto& other : all)
                for (const auto& oe : other.endpoints)
                    for (const auto& op : oe.ports)
                        if (p.same_host_side(op))
                            throw_conflict("published port " + p.str() + ": host port already published by " +
                                           (oe.name.empty() ? oe.short_id() : quote(oe.name)) + " on network " +
                                           quote(other.name));
        for (size_t i = 0; i < req.ports.size(); ++i)
            for (size_t j = i + 1; j < req.ports.size(); ++j)
                if (req.ports[i].same_host_side(req.ports[j]))
                    throw_conflict("published port " + req.ports[i].str() + " is given twice");
    }
    std::optional<uint32_t> wanted;
    if (req.ip) wanted = parse_address(*req.ip);
    if (req.mac) linux::parse_mac(*req.mac);

    Endpoint e;
    e.id = random_hex(32);
    e.container_id = req.container_id;
    e.name = req.name;
    e.aliases = req.aliases;
    e.netns = netns_path;
    e.netns_key = key;
    e.host_ifname = "veth" + e.id.substr(0, 8);
    e.address = allocate_address(n, wanted);
    e.ports = req.ports;

    int bridge_index = ensure_bridge(n);
    if (is_new_default) store.save(n);

    RouteSocket rt;
    RouteSocket inside = RouteSocket::in_netns(ns);
    e.ifname = pick_ifname(inside, req.ifname, netns_path);

    bool made_veth = false, made_rules = false;
    ScopeGuard undo([&] {
        try {
            if (made_rules) delete_rules(endpoint_rule_comment(n, e));
        } catch (...) {
        }
        try {
            if (made_veth) rt.delete_link(e.host_ifname);
        } catch (...) {
        }
        remove_endpoint_files(e);
    });

    int host_index = rt.add_veth(e.host_ifname, e.ifname, ns, n.mtu, req.mac, bridge_index);
    made_veth = true;
    rt.set_hairpin(host_index, true);
    auto peer = inside.link(e.ifname);
    if (!peer) throw_errno("find interface in network namespace", e.ifname, ENODEV);
    // big segments from the container, through the bridge, to its peers and
    // the host (the bridge takes them once it has a port)
    inside.try_big_tcp(peer->index);
    rt.try_big_tcp(host_index);
    rt.try_big_tcp(bridge_index);
    e.mac = peer->mac;
    inside.add_address(peer->index, prefix(e.address, n.subnet.length));
    inside.set_up(peer->index);
    announce_address(ns, peer->index, e);
    if (auto lo = inside.link("lo"); lo && !(lo->flags & IFF_UP)) {
        inside.set_up(lo->index);
        e.lo_up = true;
    }
    if (req.default_route)
        e.default_route = inside.add_route(Ipv4Prefix{0, 0}, htonl(n.gateway), peer->index);

    made_rules = !e.ports.empty();
    add_endpoint_rules(n, e);

    ResolvConf dns = resolv_conf_for(n, config);
    if (n.source != "cni") {
        std::string dir = store.run_dir(n.name) + "/" + e.short_id();
        make_dirs(dir, 0755);
        e.resolv_conf = dir + "/resolv.conf";
        e.hosts = dir + "/hosts";
        replace_file(e.resolv_conf, dns.text());
        replace_file(e.hosts, hosts_file_for(n, e));
    }
    n.endpoints.push_back(e);
    if (n.has_names()) start_dns_responder(store, n, config);
    store.save(n, false);
    undo.dismiss();

    auto bridge = rt.link(bridge_index);
    auto host = rt.link(host_index);
    AttachResult result{n, e, cni_result(n, e, dns, bridge ? bridge->mac : "", host ? host->mac : "")};
    return result;
}

Endpoint detach(const NetworkStore& store, const DetachRequest& req) {
    std::optional<Netns> ns;
    std::string netns_path;
    int open_errno = 0;
    if (!req.netns.empty() || req.pid) {
        netns_path = netns_label(req.netns, req.pid);
        try {
            ns = open_target(req.netns, req.pid);
        } catch (const Error& err) {
            if (err.kind() == ErrorKind::usage) throw;
            open_errno = err.error_number() ? err.error_number() : ENOENT;
        }
    } else if (req.container_id.empty()) {
        throw Error("detach needs --netns PATH, --pid PID or --id ID", ErrorKind::usage);
    }

    auto lock = store.lock();
    Network n = store.load(req.network);
    const std::string what = "network " + quote(n.name);
    Endpoint* found = nullptr;
    if (ns) found = n.find_endpoint_by_key(ns->inode_key());
    if (!found && !req.container_id.empty()) found = n.find_endpoint_by_container(req.container_id);
    if (!found && open_errno && !netns_path.empty()) {
        // The namespace is gone (its veth end went with it); the record is
        // found by the path it was attached through.
        for (auto& e : n.endpoints)
            if (e.netns == netns_path) found = &e;
        if (!found) throw_errno(what + ": open network namespace", netns_path, open_errno);
    }
    if (!found) {
        std::string who = !req.container_id.empty() ? "container " + quote(req.container_id)
                                                    : "network namespace " + quote(netns_path);
        throw_not_found(what + ": " + who + " is not attached");
    }
    Endpoint e = *found;
    if (!e.ports.empty()) delete_rules(endpoint_rule_comment(n, e));
    // The namespace's end and its address and routes go with it.
    linux::delete_link_unlisted(e.host_ifname);
    if (e.lo_up) restore_lo(store, n, e, ns);
    remove_endpoint_files(e);
    n.endpoints.erase(std::remove_if(n.endpoints.begin(), n.endpoints.end(),
                                     [&](const Endpoint& x) { return x.id == e.id; }),
                      n.endpoints.end());
    if (n.has_names() && n.endpoints.empty()) stop_dns_responder(store, n);
    store.save(n, false);
    return e;
}

Json inspect_json(const NetworkStore& store, const Network& n) {
    Json j = to_json(n);
    if (n.has_names()) {
        int pid = dns_responder_pid(store, n);
        j["dns_responder"] = pid ? Json{{"pid", pid}, {"address", format_address(n.gateway) + ":53"}} : Json();
    }
    return j;
}

} // namespace ctk::network
