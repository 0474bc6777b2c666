#include "engine/container_model.hpp"

#include <set>

#include "core/error.hpp"

namespace ctk::engine {

using namespace oci::lenient;

ContainerConfig ContainerConfig::from_json(const Json& j) {
    static const std::set<std::string> keys = {"Hostname", "Domainname", "User",   "Image",        "WorkingDir", "Tty",
                                               "Env",      "Labels",     "ExposedPorts", "StopSignal", "StopTimeout"};
    ContainerConfig c;
    c.hostname = string_field(j, "Hostname");
    c.domainname = string_field(j, "Domainname");
    c.user = string_field(j, "User");
    c.image = string_field(j, "Image");
    c.working_dir = string_field(j, "WorkingDir");
    c.tty = bool_field(j, "Tty");
    c.env = nullable_strings(j, "Env");
    if (const Json* v = field(j, "Labels"); v && v->is_object()) {
        c.labels.emplace();
        for (auto it = v->begin(); it != v->end(); ++it)
            (*c.labels)[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    }
    if (const Json* v = field(j, "ExposedPorts"); v && v->is_object()) {
        c.exposed_ports.emplace();
        for (auto it = v->begin(); it != v->end(); ++it) c.exposed_ports->push_back(it.key());
    }
    if (const Json* v = field(j, "StopSignal"); v && v->is_string()) c.stop_signal = v->get<std::string>();
    if (const Json* v = field(j, "StopTimeout"); v && v->is_number()) c.stop_timeout = v->get<int64_t>();
    if (j.is_object())
        for (auto it = j.begin(); it != j.end(); ++it)
            if (!keys.count(it.key())) c.extra[it.key()] = it.value();
    return c;
}

Json ContainerConfig::to_json() const {
    Json j = extra;
    j["Hostname"] = hostname;
    j["Domainname"] = domainname;
    j["User"] = user;
    j["Image"] = image;
    j["WorkingDir"] = working_dir;
    j["Tty"] = tty;
    j["Env"] = env ? Json(*env) : Json(nullptr);
    j["Labels"] = labels ? Json(*labels) : Json(nullptr);
    if (exposed_ports) {
        Json e = Json::object();
        for (const auto& p : *exposed_ports) e[p] = Json::object();
        j["ExposedPorts"] = e;
    }
    if (stop_signal) j["StopSignal"] = *stop_signal;
    if (stop_timeout) j["StopTimeout"] = *stop_timeout;
    return j;
}

namespace {
// Each type's fields, listed once for both directions (core/json.hpp).
constexpr auto last_exit_fields = [](auto& io, auto& v) {
    io.defaulted("ExitCode", v.exit_code);
    io.optional("StartedAt", v.started_at);
    io.defaulted("FinishedAt", v.finished_at);
};
constexpr auto ctk_section_fields = [](auto& io, auto& v) {
    io.optional("Setup", v.setup);
    io.optional("ImageRef", v.image_ref);
    io.optional("Mode", v.mode);
    io.optional("Networks", v.networks);
    io.optional("Endpoints", v.endpoints);
    io.optional("AnonymousVolumes", v.anonymous_volumes);
    io.optional("Bundle", v.bundle);
    io.optional("Netns", v.netns);
    io.optional("JoinNetns", v.join_netns);
    io.optional("LastExit", v.last_exit);
};
} // namespace

void to_json(Json& j, const LastExit& v) { write_fields(j, v, last_exit_fields); }
void from_json(const Json& j, LastExit& v) { read_fields(j, v, "LastExit", last_exit_fields); }

CtkSection CtkSection::from_json(const Json& j) {
    CtkSection c;
    read_fields(j.is_object() ? j : Json::object(), c, "container record \"Ctk\"", ctk_section_fields);
    return c;
}

Json CtkSection::to_json() const {
    Json j;
    write_fields(j, *this, ctk_section_fields);
    return j;
}

EndpointSettings EndpointSettings::from_json(const Json& j) {
    static const std::set<std::string> keys = {"Aliases",   "NetworkID",   "EndpointID",  "Gateway",
                                               "IPAddress", "IPPrefixLen", "MacAddress"};
    EndpointSettings e;
    e.aliases = raw_field(j, "Aliases");
    e.network_id = string_field(j, "NetworkID");
    e.endpoint_id = string_field(j, "EndpointID");
    e.gateway = string_field(j, "Gateway");
    e.ip_address = string_field(j, "IPAddress");
    e.ip_prefix_len = static_cast<int>(int_field(j, "IPPrefixLen"));
    e.mac_address = string_field(j, "MacAddress");
    if (j.is_object())
        for (auto it = j.begin(); it != j.end(); ++it)
            if (!keys.count(it.key())) e.extra[it.key()] = it.value();
    return e;
}

Json EndpointSettings::to_json() const {
    Json j = {{"IPAMConfig", nullptr},   {"Links", nullptr},          {"DriverOpts", nullptr},
              {"IPv6Gateway", ""},       {"GlobalIPv6Address", ""},   {"GlobalIPv6PrefixLen", 0}};
    for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
    j["Aliases"] = aliases;
    j["NetworkID"] = network_id;
    j["EndpointID"] = endpoint_id;
    j["Gateway"] = gateway;
    j["IPAddress"] = ip_address;
    j["IPPrefixLen"] = ip_prefix_len;
    j["MacAddress"] = mac_address;
    return j;
}

Json NetworkSettings::to_json() const {
    Json nets = Json::object();
    for (const auto& [name, e] : networks) nets[name] = e.to_json();
    return Json{{"Bridge", ""},
                {"SandboxID", sandbox_id},
                {"HairpinMode", false},
                {"LinkLocalIPv6Address", ""},
                {"LinkLocalIPv6PrefixLen", 0},
                {"Ports", ports},
                {"SandboxKey", sandbox_key},
                {"SecondaryIPAddresses", nullptr},
                {"SecondaryIPv6Addresses", nullptr},
                {"EndpointID", ""},
                {"Gateway", gateway},
                {"GlobalIPv6Address", ""},
                {"GlobalIPv6PrefixLen", 0},
                {"IPAddress", ip_address},
                {"IPPrefixLen", ip_prefix_len},
                {"IPv6Gateway", ""},
                {"MacAddress", mac_address},
                {"Networks", nets}};
}

} // namespace ctk::engine
