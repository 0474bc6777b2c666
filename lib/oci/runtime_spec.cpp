#include "oci/runtime_spec.hpp"

#include "core/fs.hpp"

namespace ctk::oci {

void to_json(Json& j, const User& v) {
    j = v.extra;
    j["uid"] = v.uid;
    j["gid"] = v.gid;
    put_if(j, "umask", v.umask);
    put_if(j, "additionalGids", v.additional_gids);
    put_if(j, "username", v.username);
}
void from_json(const Json& j, User& v) {
    ObjectReader r(j, "process.user");
    r.required("uid", v.uid);
    r.required("gid", v.gid);
    r.optional("umask", v.umask);
    r.optional("additionalGids", v.additional_gids);
    r.optional("username", v.username);
    v.extra = r.rest();
}

void to_json(Json& j, const Capabilities& v) {
    j = v.extra;
    put_if(j, "bounding", v.bounding);
    put_if(j, "effective", v.effective);
    put_if(j, "inheritable", v.inheritable);
    put_if(j, "permitted", v.permitted);
    put_if(j, "ambient", v.ambient);
}
void from_json(const Json& j, Capabilities& v) {
    ObjectReader r(j, "process.capabilities");
    r.optional("bounding", v.bounding);
    r.optional("effective", v.effective);
    r.optional("inheritable", v.inheritable);
    r.optional("permitted", v.permitted);
    r.optional("ambient", v.ambient);
    v.extra = r.rest();
}

void to_json(Json& j, const Rlimit& v) { j = {{"type", v.type}, {"hard", v.hard}, {"soft", v.soft}}; }
void from_json(const Json& j, Rlimit& v) {
    ObjectReader r(j, "process.rlimits");
    r.required("type", v.type);
    r.required("hard", v.hard);
    r.required("soft", v.soft);
}

void to_json(Json& j, const ConsoleSize& v) { j = {{"height", v.height}, {"width", v.width}}; }
void from_json(const Json& j, ConsoleSize& v) {
    ObjectReader r(j, "process.consoleSize");
    r.required("height", v.height);
    r.required("width", v.width);
}

void to_json(Json& j, const Process& v) {
    j = v.extra;
    if (v.terminal) j["terminal"] = true;
    put_if(j, "consoleSize", v.console_size);
    j["user"] = v.user;
    j["args"] = v.args;
    put_if(j, "env", v.env);
    j["cwd"] = v.cwd;
    put_if(j, "capabilities", v.capabilities);
    put_if(j, "rlimits", v.rlimits);
    if (v.no_new_privileges) j["noNewPrivileges"] = true;
    put_if(j, "apparmorProfile", v.apparmor_profile);
    put_if(j, "oomScoreAdj", v.oom_score_adj);
    put_if(j, "selinuxLabel", v.selinux_label);
}
void from_json(const Json& j, Process& v) {
    ObjectReader r(j, "process");
    r.optional("terminal", v.terminal);
    r.optional("consoleSize", v.console_size);
    r.optional("user", v.user);
    r.optional("args", v.args);
    r.optional("env", v.env);
    r.required("cwd", v.cwd);
    r.optional("capabilities", v.capabilities);
    r.optional("rlimits", v.rlimits);
    r.optional("noNewPrivileges", v.no_new_privileges);
    r.optional("apparmorProfile", v.apparmor_profile);
    r.optional("oomScoreAdj", v.oom_score_adj);
    r.optional("selinuxLabel", v.selinux_label);
    v.extra = r.rest();
}

void to_json(Json& j, const Root& v) {
    j = v.extra;
    j["path"] = v.path;
    if (v.readonly) j["readonly"] = true;
}
void from_json(const Json& j, Root& v) {
    ObjectReader r(j, "root");
    r.required("path", v.path);
    r.optional("readonly", v.readonly);
    v.extra = r.rest();
}

void to_json(Json& j, const IdMapping& v) {
    j = {{"containerID", v.container_id}, {"hostID", v.host_id}, {"size", v.size}};
}
void from_json(const Json& j, IdMapping& v) {
    ObjectReader r(j, "id mapping");
    r.required("containerID", v.container_id);
    r.required("hostID", v.host_id);
    r.required("size", v.size);
}

void to_json(Json& j, const Mount& v) {
    j = v.extra;
    j["destination"] = v.destination;
    put_if(j, "type", v.type);
    put_if(j, "source", v.source);
    put_if(j, "options", v.options);
    put_if(j, "uidMappings", v.uid_mappings);
    put_if(j, "gidMappings", v.gid_mappings);
}
void from_json(const Json& j, Mount& v) {
    ObjectReader r(j, "mounts");
    r.required("destination", v.destination);
    r.optional("type", v.type);
    r.optional("source", v.source);
    r.optional("options", v.options);
    r.optional("uidMappings", v.uid_mappings);
    r.optional("gidMappings", v.gid_mappings);
    v.extra = r.rest();
}

void to_json(Json& j, const Hook& v) {
    j = v.extra;
    j["path"] = v.path;
    put_if(j, "args", v.args);
    put_if(j, "env", v.env);
    put_if(j, "timeout", v.timeout);
}
void from_json(const Json& j, Hook& v) {
    ObjectReader r(j, "hook");
    r.required("path", v.path);
    r.optional("args", v.args);
    r.optional("env", v.env);
    r.optional("timeout", v.timeout);
    if (v.timeout && *v.timeout <= 0) throw_invalid("hook " + quote(v.path) + ": timeout must be > 0");
    v.extra = r.rest();
}

void to_json(Json& j, const Hooks& v) {
    j = v.extra;
    put_if(j, "prestart", v.prestart);
    put_if(j, "createRuntime", v.create_runtime);
    put_if(j, "createContainer", v.create_container);
    put_if(j, "startContainer", v.start_container);
    put_if(j, "poststart", v.poststart);
    put_if(j, "poststop", v.poststop);
}
void from_json(const Json& j, Hooks& v) {
    ObjectReader r(j, "hooks");
    r.optional("prestart", v.prestart);
    r.optional("createRuntime", v.create_runtime);
    r.optional("createContainer", v.create_container);
    r.optional("startContainer", v.start_container);
    r.optional("poststart", v.poststart);
    r.optional("poststop", v.poststop);
    v.extra = r.rest();
}

void to_json(Json& j, const Namespace& v) {
    j = {{"type", v.type}};
    put_if(j, "path", v.path);
}
void from_json(const Json& j, Namespace& v) {
    ObjectReader r(j, "linux.namespaces");
    r.required("type", v.type);
    r.optional("path", v.path);
}

void to_json(Json& j, const Device& v) {
    j = {{"type", v.type}, {"path", v.path}, {"major", v.major}, {"minor", v.minor}};
    put_if(j, "fileMode", v.file_mode);
    put_if(j, "uid", v.uid);
    put_if(j, "gid", v.gid);
}
void from_json(const Json& j, Device& v) {
    ObjectReader r(j, "linux.devices");
    r.required("type", v.type);
    r.required("path", v.path);
    r.optional("major", v.major);
    r.optional("minor", v.minor);
    r.optional("fileMode", v.file_mode);
    r.optional("uid", v.uid);
    r.optional("gid", v.gid);
}

void to_json(Json& j, const DeviceCgroup& v) {
    j = {{"allow", v.allow}};
    put_if(j, "type", v.type);
    put_if(j, "major", v.major);
    put_if(j, "minor", v.minor);
    put_if(j, "access", v.access);
}
void from_json(const Json& j, DeviceCgroup& v) {
    ObjectReader r(j, "linux.resources.devices");
    r.required("allow", v.allow);
    r.optional("type", v.type);
    r.optional("major", v.major);
    r.optional("minor", v.minor);
    r.optional("access", v.access);
}

void to_json(Json& j, const MemoryResources& v) {
    j = v.extra;
    put_if(j, "limit", v.limit);
    put_if(j, "reservation", v.reservation);
    put_if(j, "swap", v.swap);
    put_if(j, "kernel", v.kernel);
    put_if(j, "kernelTCP", v.kernel_tcp);
    put_if(j, "swappiness", v.swappiness);
    put_if(j, "disableOOMKiller", v.disable_oom_killer);
    put_if(j, "useHierarchy", v.use_hierarchy);
    put_if(j, "checkBeforeUpdate", v.check_before_update);
}
void from_json(const Json& j, MemoryResources& v) {
    ObjectReader r(j, "linux.resources.memory");
    r.optional("limit", v.limit);
    r.optional("reservation", v.reservation);
    r.optional("swap", v.swap);
    r.optional("kernel", v.kernel);
    r.optional("kernelTCP", v.kernel_tcp);
    r.optional("swappiness", v.swappiness);
    r.optional("disableOOMKiller", v.disable_oom_killer);
    r.optional("useHierarchy", v.use_hierarchy);
    r.optional("checkBeforeUpdate", v.check_before_update);
    v.extra = r.rest();
}

void to_json(Json& j, const CpuResources& v) {
    j = v.extra;
    put_if(j, "shares", v.shares);
    put_if(j, "quota", v.quota);
    put_if(j, "burst", v.burst);
    put_if(j, "period", v.period);
    put_if(j, "realtimeRuntime", v.realtime_runtime);
    put_if(j, "realtimePeriod", v.realtime_period);
    put_if(j, "cpus", v.cpus);
    put_if(j, "mems", v.mems);
    put_if(j, "idle", v.idle);
}
void from_json(const Json& j, CpuResources& v) {
    ObjectReader r(j, "linux.resources.cpu");
    r.optional("shares", v.shares);
    r.optional("quota", v.quota);
    r.optional("burst", v.burst);
    r.optional("period", v.period);
    r.optional("realtimeRuntime", v.realtime_runtime);
    r.optional("realtimePeriod", v.realtime_period);
    r.optional("cpus", v.cpus);
    r.optional("mems", v.mems);
    r.optional("idle", v.idle);
    v.extra = r.rest();
}

void to_json(Json& j, const PidsResources& v) { j = {{"limit", v.limit}}; }
void from_json(const Json& j, PidsResources& v) {
    ObjectReader r(j, "linux.resources.pids");
    r.required("limit", v.limit);
}

void to_json(Json& j, const Resources& v) {
    j = v.extra;
    put_if(j, "devices", v.devices);
    put_if(j, "memory", v.memory);
    put_if(j, "cpu", v.cpu);
    put_if(j, "pids", v.pids);
    put_if(j, "unified", v.unified);
}
// blockIO, hugepageLimits, network and rdma stay untyped (in `extra`), but
// their numbers are range-checked as runc's types are before the cgroup code
// reads them.
static void check_untyped_resources(const Json& extra) {
    auto each = [](const Json& parent, const char* key, const std::string& what, auto check) {
        auto it = parent.find(key);
        if (it == parent.end() || it->is_null()) return;
        if (!it->is_array()) throw_invalid(what + ": expected an array, got " + std::string(it->type_name()));
        for (const auto& e : *it) check(e, what);
    };
    auto device = [](const Json& e, const std::string& what, bool rate) {
        ObjectReader r(e, what);
        int64_t n = 0;
        uint16_t w = 0;
        uint64_t u = 0;
        r.optional("major", n);
        r.optional("minor", n);
        if (rate) {
            r.optional("rate", u);
        } else {
            r.optional("weight", w);
            r.optional("leafWeight", w);
        }
    };
    if (auto it = extra.find("blockIO"); it != extra.end() && !it->is_null()) {
        ObjectReader r(*it, "linux.resources.blockIO");
        uint16_t w = 0;
        r.optional("weight", w);
        r.optional("leafWeight", w);
        each(*it, "weightDevice", "linux.resources.blockIO.weightDevice",
             [&](const Json& e, const std::string& what) { device(e, what, false); });
        for (const char* k : {"throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                              "throttleWriteIOPSDevice"})
            each(*it, k, "linux.resources.blockIO." + std::string(k),
                 [&](const Json& e, const std::string& what) { device(e, what, true); });
    }
    each(extra, "hugepageLimits", "linux.resources.hugepageLimits", [](const Json& e, const std::string& what) {
        ObjectReader r(e, what);
        uint64_t limit = 0;
        r.optional("limit", limit);
    });
    if (auto it = extra.find("network"); it != extra.end() && !it->is_null()) {
        ObjectReader r(*it, "linux.resources.network");
        uint32_t id = 0;
        r.optional("classID", id);
        each(*it, "priorities", "linux.resources.network.priorities", [](const Json& e, const std::string& what) {
            ObjectReader p(e, what);
            uint32_t prio = 0;
            p.optional("priority", prio);
        });
    }
    if (auto it = extra.find("rdma"); it != extra.end() && it->is_object())
        for (const auto& [device_name, limits] : it->items()) {
            ObjectReader r(limits, "linux.resources.rdma." + device_name);
            uint32_t n = 0;
            r.optional("hcaHandles", n);
            r.optional("hcaObjects", n);
        }
}

void from_json(const Json& j, Resources& v) {
    ObjectReader r(j, "linux.resources");
    r.optional("devices", v.devices);
    r.optional("memory", v.memory);
    r.optional("cpu", v.cpu);
    r.optional("pids", v.pids);
    r.optional("unified", v.unified);
    v.extra = r.rest();
    check_untyped_resources(v.extra);
}

void to_json(Json& j, const SeccompArg& v) {
    j = {{"index", v.index}, {"value", v.value}, {"op", v.op}};
    if (v.value_two) j["valueTwo"] = v.value_two;
}
void from_json(const Json& j, SeccompArg& v) {
    ObjectReader r(j, "linux.seccomp.syscalls.args");
    r.required("index", v.index);
    r.optional("value", v.value);
    r.optional("valueTwo", v.value_two);
    r.required("op", v.op);
}

void to_json(Json& j, const SeccompSyscall& v) {
    j = v.extra;
    j["names"] = v.names;
    j["action"] = v.action;
    put_if(j, "errnoRet", v.errno_ret);
    put_if(j, "args", v.args);
}
void from_json(const Json& j, SeccompSyscall& v) {
    ObjectReader r(j, "linux.seccomp.syscalls");
    r.required("names", v.names);
    r.required("action", v.action);
    r.optional("errnoRet", v.errno_ret);
    r.optional("args", v.args);
    v.extra = r.rest();
}

void to_json(Json& j, const Seccomp& v) {
    j = v.extra;
    j["defaultAction"] = v.default_action;
    put_if(j, "defaultErrnoRet", v.default_errno_ret);
    put_if(j, "architectures", v.architectures);
    put_if(j, "flags", v.flags);
    put_if(j, "listenerPath", v.listener_path);
    put_if(j, "listenerMetadata", v.listener_metadata);
    put_if(j, "syscalls", v.syscalls);
}
void from_json(const Json& j, Seccomp& v) {
    ObjectReader r(j, "linux.seccomp");
    r.required("defaultAction", v.default_action);
    r.optional("defaultErrnoRet", v.default_errno_ret);
    r.optional("architectures", v.architectures);
    r.optional("flags", v.flags);
    r.optional("listenerPath", v.listener_path);
    r.optional("listenerMetadata", v.listener_metadata);
    r.optional("syscalls", v.syscalls);
    v.extra = r.rest();
}

const Namespace* Linux::find_namespace(std::string_view type) const {
    for (const auto& ns : namespaces)
        if (ns.type == type) return &ns;
    return nullptr;
}

void to_json(Json& j, const Linux& v) {
    j = v.extra;
    put_if(j, "namespaces", v.namespaces);
    put_if(j, "uidMappings", v.uid_mappings);
    put_if(j, "gidMappings", v.gid_mappings);
    put_if(j, "devices", v.devices);
    put_if(j, "cgroupsPath", v.cgroups_path);
    put_if(j, "resources", v.resources);
    put_if(j, "rootfsPropagation", v.rootfs_propagation);
    put_if(j, "seccomp", v.seccomp);
    put_if(j, "sysctl", v.sysctl);
    put_if(j, "maskedPaths", v.masked_paths);
    put_if(j, "readonlyPaths", v.readonly_paths);
    put_if(j, "mountLabel", v.mount_label);
}
void from_json(const Json& j, Linux& v) {
    ObjectReader r(j, "linux");
    r.optional("namespaces", v.namespaces);
    r.optional("uidMappings", v.uid_mappings);
    r.optional("gidMappings", v.gid_mappings);
    r.optional("devices", v.devices);
    r.optional("cgroupsPath", v.cgroups_path);
    r.optional("resources", v.resources);
    r.optional("rootfsPropagation", v.rootfs_propagation);
    r.optional("seccomp", v.seccomp);
    r.optional("sysctl", v.sysctl);
    r.optional("maskedPaths", v.masked_paths);
    r.optional("readonlyPaths", v.readonly_paths);
    r.optional("mountLabel", v.mount_label);
    v.extra = r.rest();
}

void to_json(Json& j, const Spec& v) {
    j = v.extra;
    j["ociVersion"] = v.oci_version;
    put_if(j, "process", v.process);
    put_if(j, "root", v.root);
    put_if(j, "hostname", v.hostname);
    put_if(j, "domainname", v.domainname);
    j["mounts"] = v.mounts;
    put_if(j, "hooks", v.hooks);
    put_if(j, "annotations", v.annotations);
    put_if(j, "linux", v.linux);
}
void from_json(const Json& j, Spec& v) {
    ObjectReader r(j, "config.json");
    r.required("ociVersion", v.oci_version);
    r.optional("process", v.process);
    r.optional("root", v.root);
    r.optional("hostname", v.hostname);
    r.optional("domainname", v.domainname);
    r.optional("mounts", v.mounts);
    r.optional("hooks", v.hooks);
    r.optional("annotations", v.annotations);
    r.optional("linux", v.linux);
    v.extra = r.rest();
}

Spec Spec::parse(std::string_view text, std::string_view what) {
    Spec s;
    try {
        s = parse_json(text, what).get<Spec>();
    } catch (const Error& e) {
        if (e.what() == std::string_view(what) ||
            std::string_view(e.what()).substr(0, what.size()) == what)
            throw;
        throw e.wrap(what);
    }
    if (s.oci_version.rfind("1.", 0) != 0)
        throw_invalid(std::string(what) + ": unsupported ociVersion " + quote(s.oci_version));
    if (s.process && s.process->args.empty())
        throw_invalid(std::string(what) + ": process.args must not be empty");
    if (s.process && (s.process->cwd.empty() || s.process->cwd[0] != '/'))
        throw_invalid(std::string(what) + ": process.cwd " + quote(s.process->cwd) +
                      " is not an absolute path");
    for (const auto& m : s.mounts)
        if (m.destination.empty())
            throw_invalid(std::string(what) + ": a mount has an empty destination");
    return s;
}

Spec Spec::load(const std::string& path) { return parse(read_file(path, 16u << 20), path); }

void Spec::save(const std::string& path) const { write_json_file(path, *this, 2); }

} // namespace ctk::oci
