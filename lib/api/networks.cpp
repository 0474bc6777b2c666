// /networks/…: net-bridge's networks as Docker's network objects, plus the
// predefined "host" and "none". A create without a subnet takes the first
// free one of ctld's address pools (config "ctld.address_pools" or
// --default-address-pool), else net-bridge's own choice.
#include <arpa/inet.h>

#include "api/daemon.hpp"
#include "api/util.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"
#include "engine/commands.hpp"
#include "engine/timefmt.hpp"
#include "engine/network_list.hpp"
#include "engine/tools.hpp"
#include "store/config.hpp"

namespace ctk::api {

namespace {

using engine::bridge_networks;

// A network by exact ID, exact name, or unique ID prefix (Docker's order),
// with its endpoints (net-bridge inspect).
std::optional<Json> find_network(const std::string& ref) {
    if (ref == "host" || ref == "none") return engine::predefined_network(ref);
    auto all = bridge_networks();
    std::string name;
    for (const auto& n : all)
        if (name.empty() && json_str(n, "id") == ref) name = json_str(n, "name");
    for (const auto& n : all)
        if (name.empty() && json_str(n, "name") == ref) name = ref;
    if (name.empty())
        for (const auto& n : all)
            if (!ref.empty() && json_str(n, "id").rfind(ref, 0) == 0) {
                if (!name.empty()) throw HttpError(400, "network " + ref + " is ambiguous");
                name = json_str(n, "name");
            }
    if (name.empty()) return std::nullopt;
    ProcessResult p = run_process(engine::tools::net_inspect(name));
    if (!p.ok()) {
        if (p.status == 4) return std::nullopt;
        throw Error(tool_message(p.err, "net-bridge inspect failed"), error_kind_of_exit(p.status));
    }
    return engine::docker_network(parse_json_text(p.out, "net-bridge output"));
}

Json get_network(const std::string& ref) {
    auto n = find_network(ref);
    if (!n) throw HttpError(404, engine::no_such_network(ref));
    return *n;
}

uint32_t parse_v4(const std::string& s) {
    in_addr a{};
    if (::inet_pton(AF_INET, s.c_str(), &a) != 1) throw Error("bad IPv4 address " + quote(s), ErrorKind::invalid);
    return ntohl(a.s_addr);
}

std::string format_v4(uint32_t a) {
    in_addr x{htonl(a)};
    char buf[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &x, buf, sizeof buf);
    return buf;
}

struct Cidr {
    uint32_t base = 0;
    int prefix = 0;
    bool overlaps(const Cidr& o) const {
        int p = std::min(prefix, o.prefix);
        uint32_t mask = p == 0 ? 0 : ~uint32_t(0) << (32 - p);
        return (base & mask) == (o.base & mask);
    }
};

std::optional<Cidr> parse_cidr(const std::string& s) {
    auto slash = s.find('/');
    if (slash == std::string::npos) return std::nullopt;
    try {
        Cidr c;
        c.base = parse_v4(s.substr(0, slash));
        c.prefix = std::stoi(s.substr(slash + 1));
        if (c.prefix < 0 || c.prefix > 32) return std::nullopt;
        return c;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// Candidate subnets from the configured pools, in order.
std::vector<std::string> pool_subnets(const std::vector<std::pair<std::string, int>>& pools) {
    std::vector<std::string> out;
    for (const auto& [base, size] : pools) {
        auto c = parse_cidr(base);
        if (!c || size < c->prefix || size > 30) continue;
        uint64_t count = uint64_t(1) << (size - c->prefix);
        for (uint64_t i = 0; i < count && out.size() < 4096; i++)
            out.push_back(format_v4(c->base + static_cast<uint32_t>(i << (32 - size))) + "/" + std::to_string(size));
    }
    return out;
}

std::vector<std::pair<std::string, int>> address_pools(Daemon& d) {
    std::vector<std::pair<std::string, int>> pools = d.options().address_pools;
    if (!pools.empty()) return pools;
    Json section = store::config_section(store::load_config(), "ctld");
    if (section.contains("address_pools") && section["address_pools"].is_array())
        for (const auto& p : section["address_pools"])
            if (p.is_object() && p.contains("base")) pools.emplace_back(json_str(p, "base"), p.value("size", 24));
    return pools;
}

void network_event(Daemon& d, const std::string& action, const Json& n, std::map<std::string, std::string> extra = {}) {
    extra["name"] = json_str(n, "Name");
    extra["type"] = json_str(n, "Driver", "bridge");
    d.events().publish("network", action, json_str(n, "Id"), extra);
}

} // namespace

void add_network_routes(Router& r, Daemon& d) {
    r.add("GET", "/networks", [](Request& req, Response& res) {
        engine::FilterMap f;
        for (const auto& [k, v] : parse_filters_json(req.query().value("filters"))) f[k] = v;
        Json out = Json::array();
        try {
            for (auto& n : engine::list_networks(f)) out.push_back(std::move(n));
        } catch (const Error& x) {
            if (x.kind() == ErrorKind::invalid) throw HttpError(400, x.what());
            throw;
        }
        res.json(200, out);
    });

    r.add("GET", "/networks/{id}", [&d](Request& req, Response& res) { res.json(200, get_network(req.params["id"])); });

    r.add("POST", "/networks/create", [&d](Request& req, Response& res) {
        Json body = json_body(req, d.options().json_body_limit, true);
        std::string name = json_str(body, "Name");
        if (name.empty()) throw HttpError(400, "network name is required");
        std::string driver = json_str(body, "Driver", "bridge");
        if (driver.empty()) driver = "bridge";
        if (driver != "bridge") throw HttpError(404, engine::no_driver_plugin(driver, "networks are bridges"));
        if (name == "host" || name == "none" || name == "bridge")
            throw HttpError(403, "operation is not permitted on predefined " + name + " network ");
        if (find_network(name)) throw HttpError(409, "network with name " + name + " already exists");
        engine::tools::NetworkCreate create;
        create.name = name;
        Json ipam = json_get(body, "IPAM", Json::object());
        Json configs = json_get(ipam, "Config", Json::array());
        std::string subnet;
        if (configs.is_array() && !configs.empty()) {
            subnet = json_str(configs[0], "Subnet");
            create.gateway = json_str(configs[0], "Gateway");
        }
        create.internal = json_get(body, "Internal", false) == true;
        Json labels = json_get(body, "Labels", Json::object());
        for (auto it = labels.begin(); it != labels.end(); ++it)
            if (it.value().is_string()) create.labels.push_back(it.key() + "=" + it.value().get<std::string>());
        Json opts = json_get(body, "Options", Json::object());
        for (auto it = opts.begin(); it != opts.end(); ++it)
            engine::tools::network_option(create, it.key(), it.value().is_string() ? it.value().get<std::string>() : "", false);
        ProcessResult p;
        if (!subnet.empty()) {
            create.subnet = subnet;
            p = run_tool(engine::tools::net_create(create));
        } else {
            auto candidates = pool_subnets(address_pools(d));
            if (candidates.empty()) {
                p = run_tool(engine::tools::net_create(create));
            } else {
                std::vector<Cidr> used;
                for (const auto& n : bridge_networks())
                    if (auto c = parse_cidr(json_str(n, "subnet"))) used.push_back(*c);
                bool done = false;
                std::string last;
                for (const auto& cand : candidates) {
                    auto c = parse_cidr(cand);
                    bool taken = false;
                    for (const auto& u : used) taken = taken || c->overlaps(u);
                    if (taken) continue;
                    auto a = create;
                    a.subnet = cand;
                    try {
                        p = run_tool(engine::tools::net_create(a));
                        done = true;
                        break;
                    } catch (const Error& e) {
                        // another create took it meanwhile: try the next one
                        if (e.kind() != ErrorKind::conflict) throw;
                        last = e.what();
                        used.push_back(*c);
                    }
                }
                if (!done) throw HttpError(403, "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network" +
                                                    (last.empty() ? std::string() : ": " + last));
            }
        }
        Json created;
        try {
            created = parse_json_text(p.out, "net-bridge output");
        } catch (const std::exception&) {
            created = Json::object();
        }
        Json n = get_network(name);
        network_event(d, "create", n);
        res.json(201, Json{{"Id", n["Id"]}, {"Warning", ""}});
    });

    r.add("DELETE", "/networks/{id}", [&d](Request& req, Response& res) {
        Json n = get_network(req.params["id"]);
        std::string name = n["Name"];
        if (name == "host" || name == "none" || name == "bridge")
            throw HttpError(403, name + " is a pre-defined network and cannot be removed");
        try {
            run_tool(engine::tools::net_rm(name));
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::conflict)
                throw HttpError(403, "error while removing network: network " + name + " id " + json_str(n, "Id") +
                                         " has active endpoints");
            throw;
        }
        network_event(d, "destroy", n);
        res.no_content(204);
    });

    auto connect = [&d](Request& req, Response& res, bool disconnect) {
        Json body = json_body(req, d.options().json_body_limit, true);
        std::string container = json_str(body, "Container");
        if (container.empty()) throw HttpError(400, "a container is required");
        engine::Engine e = d.engine();
        engine::ContainerRecord rec = e.containers().lookup(container); // dockerd: the container first
        Json n = get_network(req.params["id"]);
        std::string name = n["Name"];
        engine::Commands c(e, stdout, stderr);
        if (name == "host" || name == "none")
            throw HttpError(403, "container cannot be disconnected from or connected to the " + name + " network");
        try {
            if (disconnect) {
                c.network_disconnect(name, rec.id, json_get(body, "Force", false) == true);
            } else {
                Json ep = json_get(body, "EndpointConfig", Json::object());
                std::vector<std::string> aliases = json_strings(json_get(ep, "Aliases", Json::array()));
                std::string ip = json_str(json_get(ep, "IPAMConfig", Json::object()), "IPv4Address");
                c.network_connect(name, rec.id, aliases, ip);
            }
        } catch (const Error& ex) {
            if (ex.kind() == ErrorKind::conflict) throw HttpError(403, ex.what());
            throw;
        }
        network_event(d, disconnect ? "disconnect" : "connect", n, {{"container", rec.id}});
        res.send(200, "", "");
    };
    r.add("POST", "/networks/{id}/connect", [connect](Request& req, Response& res) { connect(req, res, false); });
    r.add("POST", "/networks/{id}/disconnect", [connect](Request& req, Response& res) { connect(req, res, true); });

    r.add("POST", "/networks/prune", [&d](Request&, Response& res) {
        ProcessResult p = run_tool(engine::tools::net_prune());
        Json deleted = Json::array();
        try {
            Json j = parse_json_text(p.out, "net-bridge output");
            for (const auto& n : j.value("removed", Json::array()))
                deleted.push_back(n.is_string() ? n.get<std::string>() : json_str(n, "name"));
        } catch (const std::exception&) {
        }
        res.json(200, Json{{"NetworksDeleted", deleted}});
    });
}

} // namespace ctk::api
