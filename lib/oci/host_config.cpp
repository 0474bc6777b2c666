#include "oci/host_config.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <set>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace ctk::oci {

namespace {
constexpr std::string_view container_prefix = "container:";
}

NetworkMode NetworkMode::parse(std::string_view mode) {
    NetworkMode m;
    m.text_ = mode.empty() ? "default" : std::string(mode);
    if (mode.empty() || mode == "default" || mode == "bridge") m.kind_ = Kind::bridge;
    else if (mode == "none") m.kind_ = Kind::none;
    else if (mode == "host") m.kind_ = Kind::host;
    else if (mode.substr(0, container_prefix.size()) == container_prefix) m.kind_ = Kind::container;
    else m.kind_ = Kind::user;
    return m;
}

std::string NetworkMode::container() const {
    return kind_ == Kind::container ? text_.substr(container_prefix.size()) : std::string();
}

std::string NetworkMode::network_name() const {
    if (kind_ == Kind::bridge) return "bridge";
    if (kind_ == Kind::user) return text_;
    return "";
}

namespace lenient {

const Json* field(const Json& j, const char* key) {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string string_field(const Json& j, const char* key) {
    const Json* v = field(j, key);
    return v && v->is_string() ? v->get<std::string>() : std::string();
}

bool bool_field(const Json& j, const char* key) {
    const Json* v = field(j, key);
    return v && v->is_boolean() && v->get<bool>();
}

int64_t int_field(const Json& j, const char* key) {
    const Json* v = field(j, key);
    return v && v->is_number() ? v->get<int64_t>() : 0;
}

std::vector<std::string> strings_in(const Json* v) {
    std::vector<std::string> out;
    if (v && v->is_array())
        for (const auto& x : *v)
            if (x.is_string()) out.push_back(x.get<std::string>());
    return out;
}

std::optional<std::vector<std::string>> nullable_strings(const Json& j, const char* key) {
    const Json* v = field(j, key);
    if (!v || !v->is_array()) return std::nullopt;
    return strings_in(v);
}

Json nullable(const std::optional<std::vector<std::string>>& v) { return v ? Json(*v) : Json(nullptr); }

Json raw_field(const Json& j, const char* key) {
    const Json* v = field(j, key);
    return v ? *v : Json(nullptr);
}

} // namespace lenient

using namespace lenient;

std::pair<std::string, std::string> split_port_key(const std::string& key) {
    auto slash = key.find('/');
    if (slash == std::string::npos) return {key, "tcp"};
    return {key.substr(0, slash), key.substr(slash + 1)};
}

PortBindings PortBindings::from_json(const Json& j) {
    // docker's decoder refuses a wrong shape (400), so does this: never read as "no ports"
    PortBindings p;
    if (j.is_null()) return p;
    if (!j.is_object()) throw_invalid("invalid PortBindings: " + j.dump() + ": not an object");
    for (auto it = j.begin(); it != j.end(); ++it) {
        auto& list = p.ports[it.key()];
        if (it.value().is_null()) continue;
        if (!it.value().is_array()) throw_invalid("invalid PortBindings " + it.key() + ": not a list");
        for (const auto& b : it.value()) {
            if (!b.is_object()) throw_invalid("invalid PortBindings " + it.key() + ": " + b.dump() + " is not an object");
            for (const char* k : {"HostIp", "HostPort"})
                if (b.contains(k) && !b[k].is_string() && !b[k].is_null())
                    throw_invalid(std::string("invalid PortBindings ") + it.key() + ": " + k + " is not a string");
            list.push_back({string_field(b, "HostIp"), string_field(b, "HostPort")});
        }
    }
    return p;
}

Json PortBindings::to_json() const {
    Json out = Json::object();
    for (const auto& [key, list] : ports) {
        Json a = Json::array();
        for (const auto& b : list) a.push_back(Json{{"HostIp", b.host_ip}, {"HostPort", b.host_port}});
        out[key] = a;
    }
    return out;
}

std::vector<std::string> PortBindings::publish_specs() const {
    std::vector<std::string> out;
    for (const auto& [key, list] : ports) {
        auto [port, proto] = split_port_key(key);
        for (const auto& b : list) {
            std::string hp = b.host_port.empty() ? port : b.host_port; // net-bridge needs a host port
            std::string ip = b.host_ip.find(':') != std::string::npos ? "[" + b.host_ip + "]" : b.host_ip;
            std::string s = (ip.empty() ? "" : ip + ":") + hp + ":" + port;
            if (proto != "tcp") s += "/" + proto;
            out.push_back(s);
        }
    }
    return out;
}

namespace {
const std::set<std::string>& host_config_keys() {
    static const std::set<std::string> keys = {
        "Binds",     "Mounts",     "Tmpfs",       "NetworkMode", "PortBindings", "AutoRemove", "ReadonlyRootfs",
        "Init",      "CapAdd",     "CapDrop",     "SecurityOpt", "ExtraHosts",   "GroupAdd",   "Dns",
        "DnsSearch", "DnsOptions", "PidMode",     "IpcMode",     "CgroupParent", "Devices",    "Memory",
        "MemorySwap", "NanoCpus",  "CpuPeriod",   "CpuQuota",    "PidsLimit",    "Ulimits",    "Sysctls"};
    return keys;
}
} // namespace

HostConfig HostConfig::from_json(const Json& j) {
    HostConfig h;
    h.binds = nullable_strings(j, "Binds");
    h.mounts = raw_field(j, "Mounts");
    h.tmpfs = raw_field(j, "Tmpfs");
    h.network_mode = NetworkMode::parse(string_field(j, "NetworkMode"));
    h.port_bindings = PortBindings::from_json(raw_field(j, "PortBindings"));
    h.auto_remove = bool_field(j, "AutoRemove");
    h.readonly_rootfs = bool_field(j, "ReadonlyRootfs");
    if (const Json* v = field(j, "Init"); v && v->is_boolean()) h.init = v->get<bool>();
    h.cap_add = nullable_strings(j, "CapAdd");
    h.cap_drop = nullable_strings(j, "CapDrop");
    h.security_opt = nullable_strings(j, "SecurityOpt");
    h.extra_hosts = nullable_strings(j, "ExtraHosts");
    h.group_add = nullable_strings(j, "GroupAdd");
    h.dns = strings_in(field(j, "Dns"));
    h.dns_search = strings_in(field(j, "DnsSearch"));
    h.dns_options = strings_in(field(j, "DnsOptions"));
    h.pid_mode = string_field(j, "PidMode");
    h.ipc_mode = string_field(j, "IpcMode");
    h.cgroup_parent = string_field(j, "CgroupParent");
    if (const Json* v = field(j, "Devices"); v && v->is_array()) h.devices = *v;
    h.memory = int_field(j, "Memory");
    h.memory_swap = int_field(j, "MemorySwap");
    h.nano_cpus = int_field(j, "NanoCpus");
    h.cpu_period = int_field(j, "CpuPeriod");
    h.cpu_quota = int_field(j, "CpuQuota");
    if (const Json* v = field(j, "PidsLimit"); v && v->is_number()) h.pids_limit = v->get<int64_t>();
    h.ulimits = raw_field(j, "Ulimits");
    h.sysctls = raw_field(j, "Sysctls");
    if (j.is_object())
        for (auto it = j.begin(); it != j.end(); ++it)
            if (!host_config_keys().count(it.key())) h.extra[it.key()] = it.value();
    return h;
}

Json HostConfig::to_json() const {
    Json j = extra;
    j["Binds"] = nullable(binds);
    if (!mounts.is_null()) j["Mounts"] = mounts;
    if (!tmpfs.is_null()) j["Tmpfs"] = tmpfs;
    j["NetworkMode"] = network_mode.str();
    j["PortBindings"] = port_bindings.to_json();
    j["AutoRemove"] = auto_remove;
    j["ReadonlyRootfs"] = readonly_rootfs;
    j["Init"] = init ? Json(*init) : Json(nullptr);
    j["CapAdd"] = nullable(cap_add);
    j["CapDrop"] = nullable(cap_drop);
    j["SecurityOpt"] = nullable(security_opt);
    j["ExtraHosts"] = nullable(extra_hosts);
    j["GroupAdd"] = nullable(group_add);
    j["Dns"] = dns;
    j["DnsSearch"] = dns_search;
    j["DnsOptions"] = dns_options;
    j["PidMode"] = pid_mode;
    j["IpcMode"] = ipc_mode;
    j["CgroupParent"] = cgroup_parent;
    j["Devices"] = devices;
    j["Memory"] = memory;
    j["MemorySwap"] = memory_swap;
    j["NanoCpus"] = nano_cpus;
    j["CpuPeriod"] = cpu_period;
    j["CpuQuota"] = cpu_quota;
    j["PidsLimit"] = pids_limit ? Json(*pids_limit) : Json(nullptr);
    j["Ulimits"] = ulimits;
    if (!sysctls.is_null()) j["Sysctls"] = sysctls;
    return j;
}

HostDevice host_device(const std::string& path) {
    struct stat st {};
    if (path.empty() || path[0] != '/' || ::stat(path.c_str(), &st) < 0)
        throw_invalid("error gathering device information while adding custom device " + quote(path) +
                      ": no such file or directory");
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        throw_invalid("error gathering device information while adding custom device " + quote(path) +
                      ": not a device node");
    return {S_ISCHR(st.st_mode) ? "c" : "b", major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777};
}

} // namespace ctk::oci
