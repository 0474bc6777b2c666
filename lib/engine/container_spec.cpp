#include "engine/container_spec.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <cstdlib>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "engine/container_model.hpp"
#include "oci/capabilities.hpp"
#include "oci/image.hpp"

namespace ctk::engine {

namespace {

[[noreturn]] void usage(const std::string& msg) { throw Error(msg, ErrorKind::usage); }

std::string env_key(const std::string& kv) { return kv.substr(0, kv.find('=')); }

void put_env(std::vector<std::string>& env, const std::string& kv) {
    std::string key = env_key(kv);
    std::erase_if(env, [&](const std::string& e) { return env_key(e) == key; });
    env.push_back(kv);
}

std::optional<std::string> from_environment(const std::string& key) {
    const char* v = std::getenv(key.c_str());
    if (!v) return std::nullopt;
    return key + "=" + v;
}

// --mount type=bind,source=/a,target=/b,readonly  ->  Docker's HostConfig.Mounts entry
Json mount_json(const std::string& spec) {
    Json m = {{"Type", "volume"}};
    bool ro = false;
    for (const auto& part : split(spec, ',')) {
        auto kv = split_once(part, '=');
        std::string k = to_lower(kv ? kv->first : part), v = kv ? kv->second : "";
        if (k == "type") m["Type"] = v;
        else if (k == "source" || k == "src") m["Source"] = v;
        else if (k == "target" || k == "destination" || k == "dst") m["Target"] = v;
        else if (k == "readonly" || k == "ro") ro = !kv || v == "true" || v == "1";
        else if (k == "bind-propagation") m["BindOptions"]["Propagation"] = v;
        else if (k == "volume-nocopy") m["VolumeOptions"]["NoCopy"] = !kv || v == "true";
        else if (k == "volume-label") {
            auto lv = split_once(v, '=');
            m["VolumeOptions"]["Labels"][lv ? lv->first : v] = lv ? lv->second : "";
        } else if (k == "tmpfs-size") {
            auto n = parse_size(v);
            if (!n) usage("invalid tmpfs-size " + quote(v));
            m["TmpfsOptions"]["SizeBytes"] = *n;
        } else if (k == "tmpfs-mode") {
            m["TmpfsOptions"]["Mode"] = std::stoi(v, nullptr, 8);
        } else {
            usage("invalid field " + quote(k) + " must be a key=value pair");
        }
    }
    if (!m.contains("Target")) usage("invalid argument \"" + spec + "\" for \"--mount\" flag: target is required");
    if (ro) m["ReadOnly"] = true;
    m["MountSpec"] = spec; // the flag as given, for vol-mount
    return m;
}

} // namespace

std::vector<PortMapping> parse_publish(const std::string& spec_in) {
    std::string spec = spec_in, proto = "tcp";
    if (auto slash = spec.rfind('/'); slash != std::string::npos) {
        proto = to_lower(spec.substr(slash + 1));
        spec = spec.substr(0, slash);
        if (proto != "tcp" && proto != "udp" && proto != "sctp") usage("invalid proto: " + proto);
    }
    std::string ip, host, cont;
    if (!spec.empty() && spec[0] == '[') {
        auto close = spec.find(']');
        if (close == std::string::npos) usage("invalid IP address in " + quote(spec_in));
        ip = spec.substr(1, close - 1);
        spec = spec.substr(close + 1);
        if (!spec.empty() && spec[0] == ':') spec.erase(0, 1);
    }
    auto parts = split(spec, ':');
    if (ip.empty() && parts.size() == 3) {
        ip = parts[0];
        host = parts[1];
        cont = parts[2];
    } else if (parts.size() == 2) {
        host = parts[0];
        cont = parts[1];
    } else if (parts.size() == 1) {
        cont = parts[0];
    } else {
        usage("invalid port format for --publish: " + spec_in);
    }
    auto range = [&](const std::string& r) -> std::pair<uint64_t, uint64_t> {
        auto dash = split_once(r, '-');
        auto lo = parse_uint(dash ? dash->first : r), hi = parse_uint(dash ? dash->second : r);
        if (!lo || !hi || *lo == 0 || *hi > 65535 || *lo > *hi) usage("invalid port " + quote(r) + " in " + quote(spec_in));
        return {*lo, *hi};
    };
    auto [clo, chi] = range(cont);
    std::pair<uint64_t, uint64_t> h{0, 0};
    if (!host.empty()) {
        h = range(host);
        if (h.second - h.first != chi - clo && h.first != h.second)
            usage("invalid ranges specified for container and host Ports: " + spec_in);
    }
    std::vector<PortMapping> out;
    for (uint64_t p = clo; p <= chi; p++) {
        PortMapping m;
        m.host_ip = ip;
        m.container_port = std::to_string(p);
        m.proto = proto;
        if (!host.empty()) m.host_port = std::to_string(h.first == h.second ? h.first : h.first + (p - clo));
        out.push_back(m);
    }
    return out;
}

std::vector<std::string> read_env_file(const std::string& path) {
    std::vector<std::string> out;
    std::string text;
    try {
        text = read_file(path, 1u << 20);
    } catch (const Error& e) {
        usage("open " + path + ": " + e.what());
    }
    for (auto& raw : split(text, '\n')) {
        std::string line(trim(raw));
        if (line.empty() || line[0] == '#') continue;
        auto kv = split_once(line, '=');
        std::string key = kv ? kv->first : line;
        if (key.find_first_of(" \t") != std::string::npos)
            usage("variable '" + key + "' contains whitespaces");
        if (key.empty()) usage("invalid environment variable: " + line);
        if (kv) out.push_back(line);
        else if (auto v = from_environment(key)) out.push_back(*v);
    }
    return out;
}

void check_extra_host(const std::string& spec) {
    auto kv = split_once(spec, ':');
    if (!kv || kv->first.empty()) usage("bad format for add-host: " + quote(spec));
    for (unsigned char ch : kv->first)
        if (ch <= ' ' || ch == 0x7f) usage("invalid host name in add-host: " + quote(kv->first));
    std::string ip = kv->second;
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    unsigned char buf[sizeof(struct in6_addr)];
    if (::inet_pton(AF_INET, ip.c_str(), buf) != 1 && ::inet_pton(AF_INET6, ip.c_str(), buf) != 1)
        usage("invalid IP address in add-host: " + quote(kv->second));
}

CreateRequest request_from_flags(const RunFlags& f) {
    CreateRequest r;
    r.name = f.name;
    if (f.image.empty()) usage("requires at least 1 argument (an image)");
    // the first word that is not a known flag became the image: a flag there is unknown (docker's words)
    if (f.image[0] == '-') usage("unknown flag: " + f.image.substr(0, f.image.find('=')));
    for (const auto& e : f.env)
        if (e.empty() || e[0] == '=') usage("invalid environment variable: " + e);
    for (const auto& h : f.add_hosts) check_extra_host(h);
    // runc refuses numeric ids above 2^31-1 (libcontainer/user ErrRange); say so before anything runs
    for (const auto& id : split(f.user, ':'))
        if (auto v = parse_uint(id); v && *v > 2147483647u)
            usage("invalid user " + quote(f.user) + ": uids and gids must be in range 0-2147483647");
    if (f.privileged) usage("--privileged is not supported by ctl");
    if (f.restart != "no" && !f.restart.empty())
        usage("restart policy " + quote(f.restart) + ": ctl runs without a daemon, only \"no\" is supported");
    if (f.rm && f.restart != "no" && !f.restart.empty()) usage("conflicting options: --restart and --rm");
    Json& c = r.config;
    Json& h = r.host_config;
    c["Image"] = f.image;
    c["Cmd"] = f.command.empty() ? Json(nullptr) : Json(f.command);
    if (f.entrypoint_set) c["Entrypoint"] = f.entrypoint.empty() ? Json::array() : Json::array({f.entrypoint});
    else c["Entrypoint"] = nullptr;
    std::vector<std::string> env;
    for (const auto& file : f.env_files)
        for (const auto& kv : read_env_file(file)) put_env(env, kv);
    for (const auto& e : f.env) {
        if (e.find('=') != std::string::npos) put_env(env, e);
        else if (auto v = from_environment(e)) put_env(env, *v);
    }
    c["Env"] = env.empty() ? Json(nullptr) : Json(env);
    c["User"] = f.user;
    c["WorkingDir"] = f.workdir;
    if (!f.workdir.empty() && f.workdir[0] != '/') usage("the working directory '" + f.workdir + "' is invalid, it needs to be an absolute path");
    c["Hostname"] = f.hostname;
    c["Domainname"] = "";
    c["Tty"] = f.tty;
    c["OpenStdin"] = f.interactive;
    c["StdinOnce"] = f.interactive && !f.detach;
    c["AttachStdin"] = f.interactive && !f.detach;
    c["AttachStdout"] = !f.detach;
    c["AttachStderr"] = !f.detach;
    Json labels = Json::object();
    for (const auto& l : f.labels) {
        auto kv = split_once(l, '=');
        labels[kv ? kv->first : l] = kv ? kv->second : "";
    }
    c["Labels"] = labels;
    if (!f.stop_signal.empty()) c["StopSignal"] = f.stop_signal;
    if (f.stop_timeout >= 0) c["StopTimeout"] = f.stop_timeout;

    Json exposed = Json::object();
    PortBindings bindings;
    for (const auto& p : f.publish) {
        for (const auto& m : parse_publish(p)) {
            std::string key = m.container_port + "/" + m.proto;
            exposed[key] = Json::object();
            bindings.ports[key].push_back({m.host_ip, m.host_port});
        }
    }
    for (const auto& e : f.expose) {
        std::string k = e.find('/') == std::string::npos ? e + "/tcp" : e;
        exposed[k] = Json::object();
    }
    if (!exposed.empty()) c["ExposedPorts"] = exposed;

    Json binds = Json::array();
    Json volumes = Json::object();
    for (const auto& v : f.volumes) {
        if (v.empty()) usage("invalid empty volume spec");
        auto parts = split(v, ':');
        if (parts.size() == 1 || (parts.size() == 2 && parts[0].empty())) {
            if (v[0] != '/') usage("invalid volume specification: '" + v + "'");
            volumes[v] = Json::object(); // anonymous volume
        } else {
            binds.push_back(v);
        }
    }
    c["Volumes"] = volumes;
    h["Binds"] = binds.empty() ? Json(nullptr) : binds;
    Json mounts = Json::array();
    for (const auto& m : f.mounts) mounts.push_back(mount_json(m));
    if (!mounts.empty()) h["Mounts"] = mounts;
    Json tmpfs = Json::object();
    for (const auto& t : f.tmpfs) {
        auto kv = split_once(t, ':');
        tmpfs[kv ? kv->first : t] = kv ? kv->second : "";
    }
    if (!tmpfs.empty()) h["Tmpfs"] = tmpfs;

    std::vector<std::string> nets = f.networks;
    if (nets.empty()) nets.push_back(f.network);
    h["NetworkMode"] = NetworkMode::parse(nets[0]).str();
    h["PortBindings"] = bindings.to_json();
    h["AutoRemove"] = f.rm;
    h["RestartPolicy"] = {{"Name", f.restart.empty() ? "no" : f.restart}, {"MaximumRetryCount", 0}};
    auto caps = [](const std::vector<std::string>& v) {
        Json a = Json::array();
        for (const auto& x : v) {
            try {
                a.push_back(oci::normalize_capability(x));
            } catch (const Error&) {
                usage("unknown capability: " + quote(x));
            }
        }
        return a.empty() ? Json(nullptr) : a;
    };
    h["CapAdd"] = caps(f.cap_add);
    h["CapDrop"] = caps(f.cap_drop);
    h["SecurityOpt"] = f.security_opt.empty() ? Json(nullptr) : Json(f.security_opt);
    for (const auto& s : f.security_opt) {
        auto kv = split_once(s, s.find('=') != std::string::npos ? '=' : ':');
        std::string k = kv ? kv->first : s;
        if (k != "seccomp" && k != "no-new-privileges" && k != "apparmor" && k != "label")
            usage("invalid --security-opt: " + quote(s));
    }
    h["ReadonlyRootfs"] = f.read_only;
    h["Init"] = f.init ? Json(true) : Json(nullptr);
    h["Privileged"] = false;
    int64_t memory = 0;
    if (!f.memory.empty()) {
        auto n = parse_size(f.memory);
        if (!n) usage("invalid argument \"" + f.memory + "\" for \"-m, --memory\" flag");
        if (*n < 6 * 1024 * 1024) usage("Minimum memory limit allowed is 6MB");
        memory = static_cast<int64_t>(*n);
    }
    h["Memory"] = memory;
    int64_t swap = 0;
    if (!f.memory_swap.empty()) {
        if (f.memory_swap == "-1") swap = -1;
        else if (auto n = parse_size(f.memory_swap)) swap = static_cast<int64_t>(*n);
        else usage("invalid argument \"" + f.memory_swap + "\" for \"--memory-swap\" flag");
    }
    h["MemorySwap"] = swap;
    int64_t nano = 0;
    if (!f.cpus.empty()) {
        char* end = nullptr;
        double d = std::strtod(f.cpus.c_str(), &end);
        if (!end || *end || d <= 0) usage("invalid argument \"" + f.cpus + "\" for \"--cpus\" flag");
        nano = static_cast<int64_t>(d * 1e9);
    }
    h["NanoCpus"] = nano;
    h["PidsLimit"] = f.pids_limit > 0 ? Json(f.pids_limit) : Json(nullptr);
    h["Dns"] = f.dns;
    h["DnsSearch"] = f.dns_search;
    h["DnsOptions"] = f.dns_options;
    h["ExtraHosts"] = f.add_hosts.empty() ? Json(nullptr) : Json(f.add_hosts);
    h["GroupAdd"] = f.group_add.empty() ? Json(nullptr) : Json(f.group_add);
    h["CgroupParent"] = f.cgroup_parent;
    Json ulimits = Json::array();
    for (const auto& u : f.ulimits) {
        auto kv = split_once(u, '=');
        if (!kv) usage("invalid ulimit argument: " + u);
        auto sh = split_once(kv->second, ':');
        auto soft = parse_uint(sh ? sh->first : kv->second), hard = parse_uint(sh ? sh->second : kv->second);
        if (!soft || !hard) usage("invalid ulimit argument: " + u);
        ulimits.push_back(Json{{"Name", kv->first}, {"Soft", *soft}, {"Hard", *hard}});
    }
    h["Ulimits"] = ulimits.empty() ? Json(nullptr) : ulimits;
    Json sysctls = Json::object();
    for (const auto& s : f.sysctls) {
        auto kv = split_once(s, '=');
        if (!kv) usage("invalid sysctl: " + s);
        sysctls[kv->first] = kv->second;
    }
    if (!sysctls.empty()) h["Sysctls"] = sysctls;
    if (!f.devices.empty()) usage("--device is not supported by ctl");
    Json endpoints = Json::object();
    for (size_t i = 0; i < nets.size(); i++) {
        NetworkMode n = NetworkMode::parse(nets[i]);
        if (!n.attaches()) {
            if (nets.size() > 1) usage("conflicting options: cannot attach both user-defined and non-user-defined network-modes");
            continue;
        }
        Json ep = Json::object();
        if (i == 0 && !f.network_aliases.empty()) ep["Aliases"] = f.network_aliases;
        endpoints[n.network_name()] = ep;
    }
    r.networking = {{"EndpointsConfig", endpoints}};
    if (f.rm && f.detach) {
        // fine: removed when it exits
    }
    return r;
}

} // namespace ctk::engine
