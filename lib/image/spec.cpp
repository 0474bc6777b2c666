#include "image/spec.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>

#include "core/error.hpp"
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

std::vector<std::string> effective_capabilities(const SpecOptions& options) {
    std::vector<std::string> add, drop;
    for (const auto& c : options.cap_add) add.push_back(normalize_capability(c));
    for (const auto& c : options.cap_drop) drop.push_back(normalize_capability(c));
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

    std::vector<std::string> caps = effective_capabilities(options);
    oci::Capabilities c;
    c.bounding = caps;
    c.effective = caps;
    c.permitted = caps;
    p.capabilities = c;
    // Docker 25+ on systemd gives containers systemd's default 1024:524288;
    // the hard limit is capped at ours, which a runtime may not raise
    // (without CAP_SYS_RESOURCE, or above fs.nr_open).
    struct rlimit nofile {};
    uint64_t hard = 524288;
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max != RLIM_INFINITY)
        hard = std::min<uint64_t>(hard, nofile.rlim_max);
    p.rlimits = {{"RLIMIT_NOFILE", hard, std::min<uint64_t>(1024, hard)}};
    p.no_new_privileges = options.no_new_privileges;
    spec.process = std::move(p);

    oci::Root root;
    root.path = options.root_path;
    root.readonly = options.readonly_rootfs;
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
    switch (options.seccomp) {
    case SpecOptions::Seccomp::docker_default:
        lx.seccomp = seccomp_for(parse_json(default_seccomp_profile(), "default seccomp profile"),
                                 SeccompTarget::host(caps), "default seccomp profile");
        break;
    case SpecOptions::Seccomp::profile:
        lx.seccomp = seccomp_for(parse_json(options.seccomp_profile, "seccomp profile"),
                                 SeccompTarget::host(caps));
        break;
    case SpecOptions::Seccomp::unconfined: break;
    }
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
    return spec;
}

} // namespace ctk::image
