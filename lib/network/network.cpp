#include "network/network.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "network/container_files.hpp"
#include "store/config.hpp"

namespace ctk::network {

std::string now_rfc3339() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    ::gmtime_r(&ts.tv_sec, &t);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ldZ", ts.tv_nsec);
    return std::string(buf) + frac;
}

Endpoint* Network::find_endpoint_by_key(const std::string& key) {
    for (auto& e : endpoints)
        if (e.netns_key == key) return &e;
    return nullptr;
}

Endpoint* Network::find_endpoint_by_container(const std::string& container_id) {
    if (container_id.empty()) return nullptr;
    for (auto& e : endpoints)
        if (e.container_id == container_id) return &e;
    return nullptr;
}

// --- JSON -------------------------------------------------------------------------

static Json port_json(const PortMapping& p) {
    Json j = {{"host_port", p.host_port}, {"container_port", p.container_port}, {"protocol", p.protocol}};
    if (!p.host_ip.empty()) j["host_ip"] = p.host_ip;
    return j;
}

static Json endpoint_json(const Endpoint& e) {
    Json j = e.extra;
    j["id"] = e.id;
    put_if(j, "container_id", e.container_id);
    put_if(j, "name", e.name);
    put_if(j, "aliases", e.aliases);
    j["netns"] = e.netns;
    j["netns_key"] = e.netns_key;
    j["ifname"] = e.ifname;
    j["host_ifname"] = e.host_ifname;
    put_if(j, "mac", e.mac);
    j["address"] = format_address(e.address);
    j["default_route"] = e.default_route;
    j["lo_up"] = e.lo_up;
    Json ports = Json::array();
    for (const auto& p : e.ports) ports.push_back(port_json(p));
    j["ports"] = ports;
    put_if(j, "resolv_conf", e.resolv_conf);
    put_if(j, "hosts", e.hosts);
    return j;
}

Json to_json(const Network& n) {
    Json j = n.extra;
    j["name"] = n.name;
    j["id"] = n.id;
    j["driver"] = "bridge";
    j["bridge"] = n.bridge;
    j["subnet"] = n.subnet.str();
    j["gateway"] = format_address(n.gateway);
    j["internal"] = n.internal;
    j["masquerade"] = n.masquerade;
    j["mtu"] = n.mtu;
    j["labels"] = n.labels;
    j["created"] = n.created;
    j["source"] = n.source;
    Json eps = Json::array();
    for (const auto& e : n.endpoints) eps.push_back(endpoint_json(e));
    j["endpoints"] = eps;
    return j;
}

static Endpoint endpoint_from_json(const Json& j, const std::string& what) {
    Endpoint e;
    ObjectReader r(j, what);
    r.required("id", e.id);
    r.optional("container_id", e.container_id);
    r.optional("name", e.name);
    r.optional("aliases", e.aliases);
    r.required("netns", e.netns);
    r.required("netns_key", e.netns_key);
    r.required("ifname", e.ifname);
    r.required("host_ifname", e.host_ifname);
    r.optional("mac", e.mac);
    std::string address;
    r.required("address", address);
    e.address = parse_address(address);
    r.optional("default_route", e.default_route);
    r.optional("lo_up", e.lo_up);
    Json ports = Json::array();
    r.optional("ports", ports);
    for (const auto& p : ports) {
        PortMapping m;
        ObjectReader pr(p, what + ": port");
        pr.optional("host_ip", m.host_ip);
        pr.required("host_port", m.host_port);
        pr.required("container_port", m.container_port);
        pr.required("protocol", m.protocol);
        e.ports.push_back(m);
    }
    r.optional("resolv_conf", e.resolv_conf);
    r.optional("hosts", e.hosts);
    e.extra = r.rest();
    return e;
}

Network network_from_json(const Json& j, const std::string& what) {
    Network n;
    ObjectReader r(j, what);
    r.required("name", n.name);
    r.required("id", n.id);
    r.required("bridge", n.bridge);
    std::string subnet, gateway, driver;
    r.optional("driver", driver);
    r.required("subnet", subnet);
    n.subnet = Subnet::parse(subnet);
    r.required("gateway", gateway);
    n.gateway = parse_address(gateway);
    r.optional("internal", n.internal);
    r.optional("masquerade", n.masquerade);
    r.optional("mtu", n.mtu);
    r.optional("labels", n.labels);
    r.optional("created", n.created);
    r.optional("source", n.source);
    Json eps = Json::array();
    r.optional("endpoints", eps);
    for (const auto& e : eps) n.endpoints.push_back(endpoint_from_json(e, what + ": endpoint"));
    n.extra = r.rest();
    return n;
}

// --- names --------------------------------------------------------------------------

void check_network_name(const std::string& name) {
    bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') ok = false;
    if (!ok)
        throw_invalid("invalid network name " + quote(name) +
                      ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 64 characters");
}

void check_ifname(const std::string& name) {
    bool ok = !name.empty() && name.size() < 16 && name != "." && name != "..";
    for (char c : name)
        if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || c == '\0') ok = false;
    if (!ok) throw_invalid("invalid interface name " + quote(name) + ": 1-15 bytes, no '/', ':' or spaces");
}

// --- configuration ----------------------------------------------------------------------

NetworkConfig NetworkConfig::load() {
    NetworkConfig c;
    Json section = store::config_section(store::load_config(), "network");
    std::string what = store::config_path() + ": network";
    ObjectReader r(section, what);
    std::string subnet = ctk::network::default_subnet;
    r.optional("default_subnet", subnet);
    try {
        c.default_subnet = Subnet::parse(subnet);
        c.default_subnet.check_assignable();
    } catch (const Error& e) {
        throw e.wrap(what + ".default_subnet");
    }
    r.optional("default_bridge", c.default_bridge);
    check_ifname(c.default_bridge);
    auto dns = section.find("dns");
    if (dns != section.end() && !dns->is_null()) {
        r.optional("dns", c.dns);
        for (const auto& s : c.dns) parse_address(s);
    } else {
        c.dns = upstream_nameservers(std::nullopt);
    }
    return c;
}

// --- the store ------------------------------------------------------------------------

NetworkStore::NetworkStore(store::Paths paths) : paths_(std::move(paths)) {}

FileLock NetworkStore::lock() const {
    make_dirs(paths_.networks(), 0700);
    return FileLock(paths_.networks() + "/.lock");
}

bool NetworkStore::exists(const std::string& name) const {
    return ::access(paths_.network(name).c_str(), F_OK) == 0;
}

Network NetworkStore::load(const std::string& name) const {
    check_network_name(name);
    auto text = read_file_if_exists(paths_.network(name));
    if (!text) throw_not_found("network " + quote(name) + ": no such network");
    return network_from_json(parse_json(*text, paths_.network(name)), "network " + quote(name));
}

std::vector<Network> NetworkStore::list() const {
    std::vector<Network> out;
    DIR* d = ::opendir(paths_.networks().c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        throw_errno("open directory", paths_.networks());
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string f = e->d_name;
        if (f.size() > 5 && f[0] != '.' && f.compare(f.size() - 5, 5, ".json") == 0)
            names.push_back(f.substr(0, f.size() - 5));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        try {
            out.push_back(load(n));
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::not_found) throw;
        }
    }
    return out;
}

void NetworkStore::save(const Network& n, bool durable) const {
    make_dirs(paths_.networks(), 0700);
    std::string path = paths_.network(n.name);
    if (durable) return write_json_file(path, to_json(n));
    replace_file(path, to_json(n).dump(2) + "\n");
}

void replace_file(const std::string& path, const std::string& data, mode_t mode) {
    std::string tmp = path + ".tmp-" + random_hex(6);
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd) throw_errno("create", tmp);
    ScopeGuard drop([&] { ::unlink(tmp.c_str()); });
    write_all(fd.get(), data, tmp);
    if (::fchmod(fd.get(), mode) < 0) throw_errno("chmod", tmp);
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename to", path);
    drop.dismiss();
}

void NetworkStore::remove(const std::string& name) const {
    if (::unlink(paths_.network(name).c_str()) < 0 && errno != ENOENT)
        throw_errno("remove", paths_.network(name));
}

std::string NetworkStore::run_dir(const std::string& network) const {
    return paths_.run + "/networks/" + network;
}

Network NetworkStore::make(const std::string& name, const std::optional<std::string>& subnet,
                           const std::optional<std::string>& gateway, const std::string& bridge) const {
    check_network_name(name);
    if (exists(name)) throw_conflict("network " + quote(name) + ": a network with this name already exists");
    Network n;
    n.name = name;
    n.id = random_hex(32);
    n.bridge = bridge.empty() ? "ctk-" + n.id.substr(0, 11) : bridge;
    check_ifname(n.bridge);
    n.created = now_rfc3339();
    n.source = "ctk";
    auto others = list();
    if (subnet) {
        n.subnet = Subnet::parse(*subnet);
        n.subnet.check_assignable();
    } else {
        // Docker's pool: the first free /24... here the first free 10.x/24
        // above the default network would surprise tests; pick from 172.18-31.
        bool found = false;
        for (uint32_t second = 18; second <= 31 && !found; ++second) {
            Subnet s{(172u << 24) | (second << 16), 16};
            bool used = false;
            for (const auto& o : others) used = used || o.subnet.overlaps(s);
            if (!used) n.subnet = s, found = true;
        }
        if (!found) throw_conflict("network " + quote(name) + ": no free subnet left in 172.18.0.0-172.31.255.255; pass --subnet");
    }
    for (const auto& o : others) {
        if (o.subnet.overlaps(n.subnet))
            throw_conflict("network " + quote(name) + ": subnet " + n.subnet.str() + " overlaps " +
                           o.subnet.str() + " of network " + quote(o.name));
        if (o.bridge == n.bridge)
            throw_conflict("network " + quote(name) + ": bridge " + quote(n.bridge) + " is used by network " +
                           quote(o.name));
    }
    if (gateway) {
        n.gateway = parse_address(*gateway);
        if (!n.subnet.contains(n.gateway) || n.gateway == n.subnet.network || n.gateway == n.subnet.broadcast())
            throw_invalid("network " + quote(name) + ": gateway " + *gateway + " is not a host address of " +
                          n.subnet.str());
    } else {
        n.gateway = n.subnet.first_host();
    }
    return n;
}

Network NetworkStore::load_or_make_default(const NetworkConfig& config) const {
    if (exists(default_network_name)) return load(default_network_name);
    Network n = make(default_network_name, config.default_subnet.str(), std::nullopt, config.default_bridge);
    return n;
}

// --- IPAM ----------------------------------------------------------------------------------

uint32_t allocate_address(const Network& n, std::optional<uint32_t> requested) {
    std::set<uint32_t> used;
    for (const auto& e : n.endpoints) used.insert(e.address);
    if (requested) {
        uint32_t a = *requested;
        if (!n.subnet.contains(a) || a == n.subnet.network || a == n.subnet.broadcast())
            throw_invalid("network " + quote(n.name) + ": address " + format_address(a) + " is not in subnet " +
                          n.subnet.str());
        if (a == n.gateway)
            throw_conflict("network " + quote(n.name) + ": address " + format_address(a) + " is the gateway");
        if (used.count(a))
            throw_conflict("network " + quote(n.name) + ": address " + format_address(a) + " is already in use");
        return a;
    }
    for (uint32_t a = n.subnet.first_host(); a <= n.subnet.last_host(); ++a)
        if (a != n.gateway && !used.count(a)) return a;
    throw_conflict("network " + quote(n.name) + ": no free address left in subnet " + n.subnet.str() + " (" +
                   std::to_string(n.endpoints.size()) + " endpoints)");
}

} // namespace ctk::network
