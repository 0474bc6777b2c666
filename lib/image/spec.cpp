#include "image/spec.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "image/seccomp.hpp"
#include "image/user.hpp"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace ctk::image {

namespace {

constexpr const char* default_path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Sets KEY=VALUE, replacing an entry with the same key; "KEY" alone removes it.
void set_env(std::vector<std::string>& env, const std::string& entry) {
    auto eq = entry.find('=');
    std::string key = entry.substr(0, eq);
    auto same = [&](const std::string& e) { return e.compare(0, key.size(), key) == 0 &&
                                                   (e.size() == key.size() || e[key.size()] == '='); };
    auto it = std::find_if(env.begin(), env.end(), same);
    if (eq == std::string::npos) {
        if (it != env.end()) env.erase(it);
    } else if (it != env.end()) {
        *it = entry;
    } else {
        env.push_back(entry);
    }
}

bool has_env(const std::vector<std::string>& env, const std::string& key) {
    return std::any_of(env.begin(), env.end(), [&](const std::string& e) {
        return e.compare(0, key.size(), key) == 0 && e.size() > key.size() && e[key.size()] == '=';
    });
}

oci::Mount mount(std::string dest, std::string type, std::string source, std::vector<std::string> opts) {
    oci::Mount m;
    m.destination = std::move(dest);
    m.type = std::move(type);
    m.source = std::move(source);
    m.options = std::move(opts);
    return m;
}

oci::DeviceCgroup device_rule(bool allow, std::string type, std::optional<int64_t> major,
                              std::optional<int64_t> minor) {
    oci::DeviceCgroup d;
    d.allow = allow;
    d.type = std::move(type);
    d.major = major;
    d.minor = minor;
    d.access = "rwm";
    return d;
}

bool host_cgroup_v2() {
    struct statfs fs;
    return ::statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

bool sysctl_exists(const char* name) {
    std::string path = "/proc/sys/" + std::string(name);
    std::replace(path.begin() + 10, path.end(), '.', '/');
    return ::access(path.c_str(), F_OK) == 0;
}

} // namespace

std::vector<std::string> effective_capabilities(const oci::HostConfig& host) {
    std::vector<std::string> add, drop;
    for (const auto& c : host.cap_add.value_or(std::vector<std::string>{})) add.push_back(normalize_capability(c));
    for (const auto& c : host.cap_drop.value_or(std::vector<std::string>{})) drop.push_back(normalize_capability(c));
    auto has = [](const std::vector<std::string>& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    // moby caps.TweakCapabilities
    std::vector<std::string> out;
    auto put = [&](const std::string& c) {
        if (c != "ALL" && !has(out, c)) out.push_back(c);
    };
    if (has(add, "ALL")) {
        for (const auto& c : all_capabilities())
            if (!has(drop, c)) put(c);
    } else if (has(drop, "ALL")) {
        for (const auto& c : add) put(c);
    } else {
        for (const auto& c : docker_default_capabilities())
            if (!has(drop, c)) put(c);
        for (const auto& c : add) put(c);
    }
    return out;
}

namespace {

// SecurityOpt "seccomp=VALUE": Docker's CLI sends the profile's JSON, ctl the file's name.
std::optional<oci::Seccomp> seccomp_of(const std::vector<std::string>& security_opt,
                                       const std::vector<std::string>& caps) {
    std::string profile;
    for (const auto& so : security_opt) {
        auto kv = split_once(so, so.find('=') != std::string::npos ? '=' : ':');
        if (kv && kv->first == "seccomp") profile = kv->second;
    }
    if (profile == "unconfined") return std::nullopt;
    if (profile.empty() || profile == "default")
        return seccomp_for(parse_json(default_seccomp_profile(), "default seccomp profile"),
                           SeccompTarget::host(caps), "default seccomp profile");
    if (profile[0] != '{') {
        try {
            profile = read_file(profile, 4u << 20);
        } catch (const Error& e) {
            throw_invalid("seccomp profile " + quote(profile) + ": " + e.what());
        }
    }
    return seccomp_for(parse_json(profile, "seccomp profile"), SeccompTarget::host(caps));
}

void add_namespace_path(oci::Linux& lx, const std::string& type, const std::string& path) {
    for (auto& ns : lx.namespaces)
        if (ns.type == type) {
            ns.path = path;
            return;
        }
    lx.namespaces.push_back({type, path});
}

void drop_namespace(oci::Linux& lx, const std::string& type) {
    std::erase_if(lx.namespaces, [&](const oci::Namespace& ns) { return ns.type == type; });
}

oci::Mount bind_mount(std::string dest, std::string source) {
    return mount(std::move(dest), "bind", std::move(source), {"rbind", "rprivate"});
}

} // namespace

void apply_host_config(oci::Spec& spec, const SpecOptions& options) {
    const oci::HostConfig& h = options.host;
    oci::Process& p = *spec.process;
    oci::Linux& lx = *spec.linux;
    oci::Resources& res = *lx.resources;

    std::vector<std::string> caps = effective_capabilities(h);
    oci::Capabilities c;
    c.bounding = caps;
    c.effective = caps;
    c.permitted = caps;
    p.capabilities = c;
    std::vector<std::string> security_opt = h.security_opt.value_or(std::vector<std::string>{});
    for (const auto& so : security_opt) {
        auto kv = split_once(so, so.find('=') != std::string::npos ? '=' : ':');
        if ((kv ? kv->first : so) == "no-new-privileges" && (!kv || kv->second.empty() || kv->second == "true"))
            p.no_new_privileges = true;
    }
    lx.seccomp = seccomp_of(security_opt, caps);
    spec.root->readonly = h.readonly_rootfs;

    if (!options.etc_dir.empty())
        for (const char* f : {"hostname", "hosts", "resolv.conf"})
            spec.mounts.push_back(bind_mount(std::string("/etc/") + f, options.etc_dir + "/" + f));
    if (h.network_mode.is_host()) {
        // the host's network and UTS namespaces, as docker's --network host
        drop_namespace(lx, "network");
        drop_namespace(lx, "uts");
        spec.hostname.clear();
        // docker sets these only in a network namespace of the container's own
        lx.sysctl.erase("net.ipv4.ping_group_range");
        lx.sysctl.erase("net.ipv4.ip_unprivileged_port_start");
    } else if (!options.netns.empty()) {
        add_namespace_path(lx, "network", options.netns);
    }
    // --pid host, --ipc host: the host's namespaces (and its /dev/shm), as docker's
    if (h.pid_mode == "host") drop_namespace(lx, "pid");
    if (h.ipc_mode == "host") {
        drop_namespace(lx, "ipc");
        spec.mounts.push_back(bind_mount("/dev/shm", "/dev/shm"));
    }
    // --device: the node made in the container's /dev and allowed by its device cgroup
    for (const auto& d : h.devices) {
        std::string on_host = oci::lenient::string_field(d, "PathOnHost");
        std::string in = oci::lenient::string_field(d, "PathInContainer");
        std::string access = oci::lenient::string_field(d, "CgroupPermissions");
        oci::HostDevice dev = oci::host_device(on_host);
        oci::Device node;
        node.path = in.empty() ? on_host : in;
        node.type = dev.type;
        node.major = dev.major;
        node.minor = dev.minor;
        node.file_mode = dev.mode;
        node.uid = 0;
        node.gid = 0;
        lx.devices.push_back(node);
        oci::DeviceCgroup rule = device_rule(true, dev.type, dev.major, dev.minor);
        if (!access.empty()) rule.access = access;
        res.devices.push_back(rule);
    }
    if (h.memory > 0) res.memory.emplace().limit = h.memory;
    if (h.memory_swap != 0) {
        if (!res.memory) res.memory.emplace();
        res.memory->swap = h.memory_swap;
    }
    if (h.nano_cpus > 0 || h.cpu_quota > 0) {
        oci::CpuResources& cpu = res.cpu.emplace();
        cpu.period = static_cast<uint64_t>(h.nano_cpus > 0 || h.cpu_period <= 0 ? 100000 : h.cpu_period);
        cpu.quota = h.nano_cpus > 0 ? h.nano_cpus / 10000 : h.cpu_quota;
    }
    if (h.pids_limit && *h.pids_limit > 0) res.pids = oci::PidsResources{*h.pids_limit};
    for (const auto& u : h.ulimits.is_array() ? h.ulimits : Json::array()) {
        std::string type = "RLIMIT_" + oci::lenient::string_field(u, "Name");
        for (size_t i = 7; i < type.size(); i++)
            if (type[i] >= 'a' && type[i] <= 'z') type[i] = static_cast<char>(type[i] - 'a' + 'A');
        oci::Rlimit limit{type, static_cast<uint64_t>(oci::lenient::int_field(u, "Hard")),
                          static_cast<uint64_t>(oci::lenient::int_field(u, "Soft"))};
        auto same = std::find_if(p.rlimits.begin(), p.rlimits.end(), [&](const oci::Rlimit& r) { return r.type == type; });
        if (same != p.rlimits.end()) *same = limit;
        else p.rlimits.push_back(limit);
    }
    if (h.sysctls.is_object())
        for (auto it = h.sysctls.begin(); it != h.sysctls.end(); ++it)
            lx.sysctl[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    for (const auto& g : h.group_add.value_or(std::vector<std::string>{}))
        if (auto n = parse_uint(g); n && *n <= UINT32_MAX) p.user.additional_gids.push_back(static_cast<uint32_t>(*n));
    if (!options.cgroup_name.empty())
        lx.cgroups_path = (h.cgroup_parent.empty() ? std::string("ctk") : h.cgroup_parent) + "/" + options.cgroup_name;
}

oci::Spec make_runtime_spec(const oci::ImageConfig& image, const SpecOptions& options, int rootfd) {
    const oci::ContainerConfig& ic = image.config;
    oci::Spec spec;
    oci::Process p;

    // Process args: Entrypoint + Cmd (conversion.md), docker run's overrides.
    std::vector<std::string> args = options.entrypoint ? *options.entrypoint
                                                       : ic.entrypoint.value_or(std::vector<std::string>{});
    std::vector<std::string> cmd;
    if (options.cmd)
        cmd = *options.cmd;
    else if (!options.entrypoint)
        cmd = ic.cmd.value_or(std::vector<std::string>{});
    args.insert(args.end(), cmd.begin(), cmd.end());
    if (args.empty())
        throw_invalid("no command to run: the image has neither Entrypoint nor Cmd and none was given");
    p.args = std::move(args);
    p.terminal = options.terminal;

    // Environment: Docker's PATH, HOSTNAME and TERM first, then the image's,
    // then the caller's.
    std::vector<std::string> env = {std::string("PATH=") + default_path_env};
    if (!options.hostname.empty()) env.push_back("HOSTNAME=" + options.hostname);
    if (options.terminal) env.push_back("TERM=xterm");
    for (const auto& e : ic.env) set_env(env, e);
    for (const auto& e : options.env) set_env(env, e);

    ResolvedUser user = resolve_user_in_root(options.user.value_or(ic.user), rootfd);
    p.user.uid = user.uid;
    p.user.gid = user.gid;
    p.user.additional_gids = user.additional_gids;
    // runc and crun add HOME from /etc/passwd at exec time; written here so
    // every runtime gives the same environment.
    if (!has_env(env, "HOME")) env.push_back("HOME=" + user.home);
    p.env = std::move(env);

    std::string cwd = options.workdir.value_or(ic.working_dir);
    if (cwd.empty() || cwd[0] != '/') cwd = "/" + cwd;
    p.cwd = cwd;

    // Docker 25+ on systemd gives containers systemd's default 1024:524288;
    // the hard limit is capped at ours, which a runtime may not raise
    // (without CAP_SYS_RESOURCE, or above fs.nr_open).
    struct rlimit nofile {};
    uint64_t hard = 524288;
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max != RLIM_INFINITY)
        hard = std::min<uint64_t>(hard, nofile.rlim_max);
    p.rlimits = {{"RLIMIT_NOFILE", hard, std::min<uint64_t>(1024, hard)}};
    spec.process = std::move(p);

    oci::Root root;
    root.path = options.root_path;
    spec.root = root;
    spec.hostname = options.hostname;

    // moby daemon/pkg/oci/defaults.go, with /dev/shm at Docker's default 64 MiB.
    spec.mounts = {
        mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mount("/dev/pts", "devpts", "devpts",
              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
        mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}),
        mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}),
    };

    oci::Linux lx;
    for (const char* ns : {"mount", "network", "uts", "pid", "ipc"}) lx.namespaces.push_back({ns, ""});
    // dockerd's default cgroupns mode: private on cgroup v2, host on v1.
    if (host_cgroup_v2()) lx.namespaces.push_back({"cgroup", ""});
    lx.masked_paths = {"/proc/acpi",          "/proc/asound",     "/proc/interrupts",
                       "/proc/kcore",         "/proc/keys",       "/proc/latency_stats",
                       "/proc/sched_debug",   "/proc/scsi",       "/proc/timer_list",
                       "/proc/timer_stats",   "/sys/devices/virtual/powercap", "/sys/firmware"};
    lx.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    oci::Resources res;
    res.devices = {
        device_rule(false, "", std::nullopt, std::nullopt),
        device_rule(true, "c", 1, 5),  // /dev/zero
        device_rule(true, "c", 1, 3),  // /dev/null
        device_rule(true, "c", 1, 9),  // /dev/urandom
        device_rule(true, "c", 1, 8),  // /dev/random
        device_rule(true, "c", 5, 0),  // /dev/tty
        device_rule(true, "c", 5, 1),  // /dev/console
        device_rule(false, "c", 10, 229), // /dev/fuse
    };
    lx.resources = res;
    // Docker sets these in a container's own network namespace (moby oci_linux.go).
    if (sysctl_exists("net.ipv4.ping_group_range")) lx.sysctl["net.ipv4.ping_group_range"] = "0 2147483647";
    if (sysctl_exists("net.ipv4.ip_unprivileged_port_start"))
        lx.sysctl["net.ipv4.ip_unprivileged_port_start"] = "0";
    spec.linux = std::move(lx);

    // Annotations (conversion.md): implicit ones first, the image's labels win.
    auto& a = spec.annotations;
    auto put = [&](const char* key, const std::string& value) {
        if (!value.empty()) a[key] = value;
    };
    put("org.opencontainers.image.os", image.os);
    put("org.opencontainers.image.architecture", image.architecture);
    put("org.opencontainers.image.variant", image.variant);
    put("org.opencontainers.image.os.version", image.os_version);
    if (image.extra.contains("os.features") && image.extra["os.features"].is_array()) {
        std::vector<std::string> f;
        for (const auto& v : image.extra["os.features"])
            if (v.is_string()) f.push_back(v.get<std::string>());
        put("org.opencontainers.image.os.features", join(f, ","));
    }
    put("org.opencontainers.image.author", image.author);
    put("org.opencontainers.image.created", image.created);
    put("org.opencontainers.image.stopSignal", ic.stop_signal);
    std::vector<std::string> ports, volumes;
    for (const auto& [port, _] : ic.exposed_ports) ports.push_back(port);
    for (const auto& [vol, _] : ic.volumes) volumes.push_back(vol);
    put("org.opencontainers.image.exposedPorts", join(ports, ","));
    // conversion.md leaves Config.Volumes to the implementation: recorded here
    // (and in ctk-bundle.json) for vol-mount and ctl to give them volumes.
    put("org.ctk.image.volumes", join(volumes, ","));
    for (const auto& [k, v] : ic.labels) a[k] = v;
    apply_host_config(spec, options);
    return spec;
}

} // namespace ctk::image
