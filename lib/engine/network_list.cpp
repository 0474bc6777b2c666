#include "engine/network_list.hpp"

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "engine/commands.hpp"
#include "engine/format.hpp"
#include "engine/json_fields.hpp"
#include "engine/timefmt.hpp"
#include "engine/tools.hpp"

namespace ctk::engine {

std::vector<Json> bridge_networks() {
    ProcessResult p = run_process(tools::net_ls());
    if (!p.ok()) throw Error(std::string(trim(p.err)), error_kind_of_exit(p.status));
    std::vector<Json> out;
    try {
        Json j = parse_json_text(p.out, "net-bridge output");
        if (j.is_array())
            for (auto& x : j) out.push_back(x);
        else if (j.is_object() && j.contains("networks"))
            for (auto& x : j["networks"]) out.push_back(x);
        else if (j.is_object())
            out.push_back(j);
    } catch (const std::exception&) {
        for (const auto& line : split(p.out, '\n'))
            if (!trim(line).empty()) out.push_back(parse_json_text(line, "net-bridge output"));
    }
    return out;
}

Json docker_network(const Json& n) {
    Json containers = Json::object();
    if (n.contains("endpoints") && n["endpoints"].is_array())
        for (const auto& ep : n["endpoints"]) {
            std::string cid = str_or(ep, "container_id");
            std::string key = cid.empty() ? str_or(ep, "id") : cid;
            containers[key] = {{"Name", str_or(ep, "name")},
                               {"EndpointID", str_or(ep, "id")},
                               {"MacAddress", str_or(ep, "mac")},
                               {"IPv4Address", str_or(ep, "address") + "/" + split(str_or(n, "subnet", "/0"), '/').back()},
                               {"IPv6Address", ""}};
        }
    Json config = Json::array({Json{{"Subnet", str_or(n, "subnet")}, {"Gateway", str_or(n, "gateway")}}});
    std::string name = str_or(n, "name");
    // dockerd shows the default bridge's driver options, and a user network's as given (none here)
    Json options = Json::object();
    if (name == "bridge")
        options = {{"com.docker.network.bridge.default_bridge", "true"},
                   {"com.docker.network.bridge.name", str_or(n, "bridge")},
                   {"com.docker.network.driver.mtu", std::to_string(n.value("mtu", 1500))}};
    Json labels = n.value("labels", Json::object());
    if (labels.is_null()) labels = Json::object();
    return Json{{"Name", name},
                {"Id", str_or(n, "id")},
                {"Created", str_or(n, "created", zero_time)},
                {"Scope", "local"},
                {"Driver", "bridge"},
                {"EnableIPv6", false},
                {"IPAM", {{"Driver", "default"}, {"Options", nullptr}, {"Config", config}}},
                {"Internal", n.value("internal", false)},
                {"Attachable", false},
                {"Ingress", false},
                {"ConfigFrom", {{"Network", ""}}},
                {"ConfigOnly", false},
                {"Containers", containers},
                {"Options", options},
                {"Labels", labels}};
}

Json predefined_network(const std::string& name) {
    return Json{{"Name", name},
                {"Id", Digest::sha256_of("ctk predefined network " + name).encoded()},
                {"Created", zero_time},
                {"Scope", "local"},
                {"Driver", name == "host" ? "host" : "null"},
                {"EnableIPv6", false},
                {"IPAM", {{"Driver", "default"}, {"Options", nullptr}, {"Config", Json::array()}}},
                {"Internal", false},
                {"Attachable", false},
                {"Ingress", false},
                {"ConfigFrom", {{"Network", ""}}},
                {"ConfigOnly", false},
                {"Containers", Json::object()},
                {"Options", Json::object()},
                {"Labels", Json::object()}};
}

std::vector<Json> list_networks(const FilterMap& f) {
    check_filter_keys(f, {"name", "id", "label", "driver", "scope", "type", "dangling"});
    auto any = [&](const std::string& key, auto pred) { return filter_any(f, key, pred); };
    std::vector<std::pair<Json, size_t>> all; // the network, its endpoints (ls counts them)
    for (const auto& nb : bridge_networks()) {
        size_t endpoints = nb.contains("endpoints") && nb["endpoints"].is_number() ? nb["endpoints"].get<size_t>()
                           : nb.contains("endpoints") && nb["endpoints"].is_array() ? nb["endpoints"].size()
                                                                                   : 0;
        all.emplace_back(docker_network(nb), endpoints);
    }
    for (const char* p : {"host", "none"}) {
        bool listed = false;
        for (const auto& [n, _] : all) listed = listed || n["Name"] == p;
        if (!listed) all.emplace_back(predefined_network(p), 0);
    }
    std::vector<Json> out;
    for (const auto& entry : all) {
        const Json& n = entry.first;      // not a structured binding: the lambdas below capture it
        size_t endpoints = entry.second;
        std::string name = n["Name"], id = n["Id"];
        bool builtin = name == "bridge" || name == "host" || name == "none";
        if (!any("name", [&](const std::string& v) { return name.find(v) != std::string::npos; })) continue;
        if (!any("id", [&](const std::string& v) { return id.rfind(v, 0) == 0; })) continue;
        if (!any("driver", [&](const std::string& v) { return v == str_or(n, "Driver"); })) continue;
        if (!any("scope", [&](const std::string& v) { return v == "local"; })) continue;
        if (!any("type", [&](const std::string& v) { return v == (builtin ? "builtin" : "custom"); })) continue;
        if (!any("dangling", [&](const std::string& v) { return (v == "true" || v == "1") == (endpoints == 0 && !builtin); }))
            continue;
        if (auto it = f.find("label"); it != f.end()) {
            bool every = true;
            for (const auto& v : it->second) every = every && label_matches(n["Labels"], v);
            if (!every) continue;
        }
        out.push_back(n);
    }
    return out;
}

std::string render_networks(const std::vector<Json>& entries, const ListOptions& o) {
    std::vector<Json> rows;
    for (const auto& n : entries) {
        std::string id = n.value("Id", "");
        int64_t created = 0;
        if (auto t = parse_rfc3339(n.value("Created", ""))) created = *t / 1000000000;
        rows.push_back(Json{{"ID", o.no_trunc ? id : id.substr(0, 12)}, {"Name", n.value("Name", "")},
                            {"Driver", n.value("Driver", "")}, {"Scope", n.value("Scope", "local")},
                            {"IPv6", n.value("EnableIPv6", false) ? "true" : "false"},
                            {"Internal", n.value("Internal", false) ? "true" : "false"},
                            {"Labels", join_labels(n.value("Labels", Json::object()))},
                            {"CreatedAt", docker_created_at(created)}});
    }
    Listing l;
    l.default_table = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
    l.headers = {{"ID", "NETWORK ID"}, {"Name", "NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"}, {"IPv6", "IPV6"},
                 {"Internal", "INTERNAL"}, {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"}};
    return render_rows(l, o.format, rows, o.quiet, "ID");
}

} // namespace ctk::engine
