#include "network/cni.hpp"

#include <arpa/inet.h>

#include "core/error.hpp"
#include "core/strings.hpp"
#include "linux/netlink.hpp"
#include "network/bridge.hpp"

namespace ctk::network {

namespace {

const char* supported_versions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};

// CNI spec "Error": well-known codes below 100, plugin-specific above.
enum CniCode {
    incompatible_version = 1,
    unknown_container = 3,
    invalid_environment = 4,
    decode_failure = 6,
    invalid_config = 7,
    address_conflict = 100,
    system_failure = 101,
};

struct CniError : Error {
    CniError(int c, std::string msg) : Error(std::move(msg), ErrorKind::invalid), code(c) {}
    int code;
};

struct CniConfig {
    std::string version = "1.0.0";
    std::string name;
    std::string bridge = "cni0";
    bool default_gateway = false;
    bool ip_masq = false;
    unsigned mtu = 1500;
    std::string subnet;
    std::optional<std::string> gateway;
    Json dns = Json::object();
    std::vector<PortMapping> ports;
};

std::string get_env(const std::map<std::string, std::string>& env, const char* key) {
    auto it = env.find(key);
    return it == env.end() ? "" : it->second;
}

std::string need_env(const std::map<std::string, std::string>& env, const char* key) {
    std::string v = get_env(env, key);
    if (v.empty()) throw CniError(invalid_environment, std::string("environment variable ") + key + " is not set");
    return v;
}

CniConfig parse_config(const std::string& text) {
    Json j;
    try {
        j = parse_json_text(text, "network configuration");
    } catch (const std::exception& e) {
        throw CniError(decode_failure, std::string("network configuration is not JSON: ") + e.what());
    }
    if (!j.is_object()) throw CniError(decode_failure, "network configuration is not a JSON object");
    CniConfig c;
    try {
        ObjectReader r(j, "network configuration");
        r.optional("cniVersion", c.version);
        r.required("name", c.name);
        r.optional("bridge", c.bridge);
        r.optional("isDefaultGateway", c.default_gateway);
        r.optional("ipMasq", c.ip_masq);
        r.optional("mtu", c.mtu);
        r.optional("dns", c.dns);
        r.nested("ipam", "network configuration: ipam", [&](ObjectReader& ir) {
            ir.optional("subnet", c.subnet);
            ir.optional("gateway", c.gateway);
            Json ranges = Json::array();
            ir.optional("ranges", ranges);
            if (c.subnet.empty() && ranges.is_array() && !ranges.empty() && ranges[0].is_array() &&
                !ranges[0].empty()) {
                ObjectReader rr(ranges[0][0], "network configuration: ipam.ranges[0][0]");
                rr.required("subnet", c.subnet);
                rr.optional("gateway", c.gateway);
            }
            Json routes = Json::array();
            ir.optional("routes", routes);
            for (const auto& route : routes)
                if (route.is_object() && route.value("dst", "") == "0.0.0.0/0") c.default_gateway = true;
        });
        Json runtime = Json::object();
        r.optional("runtimeConfig", runtime);
        if (runtime.contains("portMappings") && runtime["portMappings"].is_array()) {
            for (const auto& pm : runtime["portMappings"]) {
                PortMapping m;
                ObjectReader pr(pm, "network configuration: runtimeConfig.portMappings");
                int host = 0, container = 0;
                pr.required("hostPort", host);
                pr.required("containerPort", container);
                pr.optional("protocol", m.protocol);
                pr.optional("hostIP", m.host_ip);
                m = PortMapping::parse((m.host_ip.empty() ? "" : m.host_ip + ":") + std::to_string(host) + ":" +
                                       std::to_string(container) + "/" + to_lower(m.protocol));
                c.ports.push_back(m);
            }
        }
    } catch (const CniError&) {
        throw;
    } catch (const Error& e) {
        throw CniError(invalid_config, e.what());
    }
    bool known = false;
    for (const char* v : supported_versions) known = known || c.version == v;
    if (!known) throw CniError(incompatible_version, "cniVersion " + quote(c.version) + " is not supported");
    if (c.subnet.empty()) throw CniError(invalid_config, "network configuration: ipam.subnet (or ipam.ranges) is required");
    try {
        check_network_name(c.name);
        check_ifname(c.bridge);
        Subnet::parse(c.subnet).check_assignable();
    } catch (const Error& e) {
        throw CniError(invalid_config, e.what());
    }
    return c;
}

// The ctk network behind a CNI configuration: made on first ADD, and checked
// to be the same network afterwards.
Network cni_network(const NetworkStore& store, const CniConfig& c) {
    auto lock = store.lock();
    if (store.exists(c.name)) {
        Network n = store.load(c.name);
        if (n.subnet.str() != Subnet::parse(c.subnet).str() || n.bridge != c.bridge)
            throw CniError(invalid_config, "network " + quote(c.name) + " exists with subnet " + n.subnet.str() +
                                               " on bridge " + quote(n.bridge) + ", not " + c.subnet + " on " +
                                               quote(c.bridge));
        return n;
    }
    Network n = store.make(c.name, c.subnet, c.gateway, c.bridge);
    n.source = "cni";
    n.masquerade = c.ip_masq;
    n.mtu = c.mtu;
    store.save(n);
    return n;
}

Json version_result() {
    Json v = Json::array();
    for (const char* s : supported_versions) v.push_back(s);
    return Json{{"cniVersion", "1.0.0"}, {"supportedVersions", v}};
}

std::string cni_arg(const std::string& args, const std::string& key) {
    for (const auto& kv : split(args, ';')) {
        auto p = split_once(kv, '=');
        if (p && p->first == key) return p->second;
    }
    return "";
}

} // namespace

CniOutcome run_cni(const std::map<std::string, std::string>& env, const std::string& stdin_config) {
    std::string version = "1.0.0";
    try {
        std::string command = need_env(env, "CNI_COMMAND");
        if (command == "VERSION") return {0, version_result()};
        // Errors carry the configuration's version when it has one (CNI spec "Error").
        try {
            Json j = parse_json_text(stdin_config, "network configuration");
            if (j.is_object() && j.value("cniVersion", Json()).is_string()) version = j["cniVersion"];
        } catch (const std::exception&) {
        }
        std::string container = need_env(env, "CNI_CONTAINERID");
        CniConfig c = parse_config(stdin_config);
        version = c.version;
        NetworkStore store(store::Paths::from_env());
        std::string ifname = command == "DEL" ? get_env(env, "CNI_IFNAME") : need_env(env, "CNI_IFNAME");

        if (command == "ADD") {
            std::string netns = need_env(env, "CNI_NETNS");
            cni_network(store, c);
            AttachRequest req;
            req.network = c.name;
            req.netns = netns;
            req.ifname = ifname;
            req.container_id = container;
            req.default_route = c.default_gateway;
            req.ports = c.ports;
            std::string ip = cni_arg(get_env(env, "CNI_ARGS"), "IP");
            if (!ip.empty()) req.ip = ip;
            NetworkConfig config;
            config.dns.clear();
            AttachResult r = attach(store, config, req);
            Json result = r.cni;
            result["cniVersion"] = c.version;
            result["dns"] = c.dns;
            if (c.version != "1.0.0")
                for (auto& ipj : result["ips"]) ipj["version"] = "4";
            return {0, result};
        }
        if (command == "DEL") {
            if (!store.exists(c.name)) return {0, Json()};
            Network n = store.load(c.name);
            if (!n.find_endpoint_by_container(container)) return {0, Json()};
            DetachRequest req;
            req.network = c.name;
            req.container_id = container;
            detach(store, req);
            return {0, Json()};
        }
        if (command == "CHECK") {
            if (!store.exists(c.name)) throw CniError(unknown_container, "network " + quote(c.name) + " does not exist");
            Network n = store.load(c.name);
            Endpoint* e = n.find_endpoint_by_container(container);
            if (!e) throw CniError(unknown_container, "container " + quote(container) + " is not attached to network " + quote(c.name));
            auto ns = linux::Netns::open(need_env(env, "CNI_NETNS"));
            auto inside = linux::RouteSocket::in_netns(ns);
            auto link = inside.link(e->ifname);
            if (!link) throw CniError(unknown_container, "interface " + quote(e->ifname) + " is missing in " + ns.path());
            bool has = false;
            for (const auto& a : inside.addresses())
                if (a.index == link->index && a.prefix.addr == htonl(e->address)) has = true;
            if (!has)
                throw CniError(unknown_container, "interface " + quote(e->ifname) + " lacks address " + format_address(e->address));
            linux::RouteSocket rt;
            auto host = rt.link(e->host_ifname);
            auto bridge = rt.link(n.bridge);
            if (!host || !bridge || host->master != bridge->index)
                throw CniError(unknown_container, "veth " + quote(e->host_ifname) + " is not on bridge " + quote(n.bridge));
            return {0, Json()};
        }
        throw CniError(invalid_environment, "CNI_COMMAND " + quote(command) + " is not supported");
    } catch (const CniError& e) {
        return {1, Json{{"cniVersion", version}, {"code", e.code}, {"msg", e.what()}}};
    } catch (const Error& e) {
        int code = e.kind() == ErrorKind::conflict ? address_conflict
                   : e.kind() == ErrorKind::invalid ? invalid_config
                   : e.kind() == ErrorKind::usage   ? invalid_environment
                                                    : system_failure;
        return {1, Json{{"cniVersion", version}, {"code", code}, {"msg", e.what()}}};
    }
}

} // namespace ctk::network
