#include "oci/runtime_spec.hpp"

#include "core/fs.hpp"

namespace ctk::oci {

// Each type's fields, listed once for both directions (core/json.hpp's
// ObjectReader and ObjectWriter).

constexpr auto user_fields = [](auto& io, auto& v) {
    io.required("uid", v.uid);
    io.required("gid", v.gid);
    io.optional("umask", v.umask);
    io.optional("additionalGids", v.additional_gids);
    io.optional("username", v.username);
};
void to_json(Json& j, const User& v) { write_fields(j, v, user_fields); }
void from_json(const Json& j, User& v) { read_fields(j, v, "process.user", user_fields); }

constexpr auto capabilities_fields = [](auto& io, auto& v) {
    io.optional("bounding", v.bounding);
    io.optional("effective", v.effective);
    io.optional("inheritable", v.inheritable);
    io.optional("permitted", v.permitted);
    io.optional("ambient", v.ambient);
};
void to_json(Json& j, const Capabilities& v) { write_fields(j, v, capabilities_fields); }
void from_json(const Json& j, Capabilities& v) { read_fields(j, v, "process.capabilities", capabilities_fields); }

constexpr auto rlimit_fields = [](auto& io, auto& v) {
    io.required("type", v.type);
    io.required("hard", v.hard);
    io.required("soft", v.soft);
};
void to_json(Json& j, const Rlimit& v) { write_fields(j, v, rlimit_fields); }
void from_json(const Json& j, Rlimit& v) { read_fields(j, v, "process.rlimits", rlimit_fields); }

constexpr auto console_size_fields = [](auto& io, auto& v) {
    io.required("height", v.height);
    io.required("width", v.width);
};
void to_json(Json& j, const ConsoleSize& v) { write_fields(j, v, console_size_fields); }
void from_json(const Json& j, ConsoleSize& v) { read_fields(j, v, "process.consoleSize", console_size_fields); }

constexpr auto process_fields = [](auto& io, auto& v) {
    io.optional("terminal", v.terminal);
    io.optional("consoleSize", v.console_size);
    io.defaulted("user", v.user);
    io.defaulted("args", v.args);
    io.optional("env", v.env);
    io.required("cwd", v.cwd);
    io.optional("capabilities", v.capabilities);
    io.optional("rlimits", v.rlimits);
    io.optional("noNewPrivileges", v.no_new_privileges);
    io.optional("apparmorProfile", v.apparmor_profile);
    io.optional("oomScoreAdj", v.oom_score_adj);
    io.optional("selinuxLabel", v.selinux_label);
};
void to_json(Json& j, const Process& v) { write_fields(j, v, process_fields); }
void from_json(const Json& j, Process& v) { read_fields(j, v, "process", process_fields); }

constexpr auto root_fields = [](auto& io, auto& v) {
    io.required("path", v.path);
    io.optional("readonly", v.readonly);
};
void to_json(Json& j, const Root& v) { write_fields(j, v, root_fields); }
void from_json(const Json& j, Root& v) { read_fields(j, v, "root", root_fields); }

constexpr auto id_mapping_fields = [](auto& io, auto& v) {
    io.required("containerID", v.container_id);
    io.required("hostID", v.host_id);
    io.required("size", v.size);
};
void to_json(Json& j, const IdMapping& v) { write_fields(j, v, id_mapping_fields); }
void from_json(const Json& j, IdMapping& v) { read_fields(j, v, "id mapping", id_mapping_fields); }

constexpr auto mount_fields = [](auto& io, auto& v) {
    io.required("destination", v.destination);
    io.optional("type", v.type);
    io.optional("source", v.source);
    io.optional("options", v.options);
    io.optional("uidMappings", v.uid_mappings);
    io.optional("gidMappings", v.gid_mappings);
};
void to_json(Json& j, const Mount& v) { write_fields(j, v, mount_fields); }
void from_json(const Json& j, Mount& v) { read_fields(j, v, "mounts", mount_fields); }

constexpr auto hook_fields = [](auto& io, auto& v) {
    io.required("path", v.path);
    io.optional("args", v.args);
    io.optional("env", v.env);
    io.optional("timeout", v.timeout);
};
void to_json(Json& j, const Hook& v) { write_fields(j, v, hook_fields); }
void from_json(const Json& j, Hook& v) {
    read_fields(j, v, "hook", hook_fields);
    if (v.timeout && *v.timeout <= 0) throw_invalid("hook " + quote(v.path) + ": timeout must be > 0");
}

constexpr auto hooks_fields = [](auto& io, auto& v) {
    io.optional("prestart", v.prestart);
    io.optional("createRuntime", v.create_runtime);
    io.optional("createContainer", v.create_container);
    io.optional("startContainer", v.start_container);
    io.optional("poststart", v.poststart);
    io.optional("poststop", v.poststop);
};
void to_json(Json& j, const Hooks& v) { write_fields(j, v, hooks_fields); }
void from_json(const Json& j, Hooks& v) { read_fields(j, v, "hooks", hooks_fields); }

constexpr auto namespace_fields = [](auto& io, auto& v) {
    io.required("type", v.type);
    io.optional("path", v.path);
};
void to_json(Json& j, const Namespace& v) { write_fields(j, v, namespace_fields); }
void from_json(const Json& j, Namespace& v) { read_fields(j, v, "linux.namespaces", namespace_fields); }

constexpr auto device_fields = [](auto& io, auto& v) {
    io.required("type", v.type);
    io.required("path", v.path);
    io.defaulted("major", v.major);
    io.defaulted("minor", v.minor);
    io.optional("fileMode", v.file_mode);
    io.optional("uid", v.uid);
    io.optional("gid", v.gid);
};
void to_json(Json& j, const Device& v) { write_fields(j, v, device_fields); }
void from_json(const Json& j, Device& v) { read_fields(j, v, "linux.devices", device_fields); }

constexpr auto device_cgroup_fields = [](auto& io, auto& v) {
    io.required("allow", v.allow);
    io.optional("type", v.type);
    io.optional("major", v.major);
    io.optional("minor", v.minor);
    io.optional("access", v.access);
};
void to_json(Json& j, const DeviceCgroup& v) { write_fields(j, v, device_cgroup_fields); }
void from_json(const Json& j, DeviceCgroup& v) { read_fields(j, v, "linux.resources.devices", device_cgroup_fields); }

constexpr auto memory_fields = [](auto& io, auto& v) {
    io.optional("limit", v.limit);
    io.optional("reservation", v.reservation);
    io.optional("swap", v.swap);
    io.optional("kernel", v.kernel);
    io.optional("kernelTCP", v.kernel_tcp);
    io.optional("swappiness", v.swappiness);
    io.optional("disableOOMKiller", v.disable_oom_killer);
    io.optional("useHierarchy", v.use_hierarchy);
    io.optional("checkBeforeUpdate", v.check_before_update);
};
void to_json(Json& j, const MemoryResources& v) { write_fields(j, v, memory_fields); }
void from_json(const Json& j, MemoryResources& v) { read_fields(j, v, "linux.resources.memory", memory_fields); }

constexpr auto cpu_fields = [](auto& io, auto& v) {
    io.optional("shares", v.shares);
    io.optional("quota", v.quota);
    io.optional("burst", v.burst);
    io.optional("period", v.period);
    io.optional("realtimeRuntime", v.realtime_runtime);
    io.optional("realtimePeriod", v.realtime_period);
    io.optional("cpus", v.cpus);
    io.optional("mems", v.mems);
    io.optional("idle", v.idle);
};
void to_json(Json& j, const CpuResources& v) { write_fields(j, v, cpu_fields); }
void from_json(const Json& j, CpuResources& v) { read_fields(j, v, "linux.resources.cpu", cpu_fields); }

constexpr auto pids_fields = [](auto& io, auto& v) { io.required("limit", v.limit); };
void to_json(Json& j, const PidsResources& v) { write_fields(j, v, pids_fields); }
void from_json(const Json& j, PidsResources& v) { read_fields(j, v, "linux.resources.pids", pids_fields); }

constexpr auto resources_fields = [](auto& io, auto& v) {
    io.optional("devices", v.devices);
    io.optional("memory", v.memory);
    io.optional("cpu", v.cpu);
    io.optional("pids", v.pids);
    io.optional("unified", v.unified);
};
void to_json(Json& j, const Resources& v) { write_fields(j, v, resources_fields); }
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
    read_fields(j, v, "linux.resources", resources_fields);
    check_untyped_resources(v.extra);
}

constexpr auto seccomp_arg_fields = [](auto& io, auto& v) {
    io.required("index", v.index);
    io.defaulted("value", v.value);
    io.optional("valueTwo", v.value_two);
    io.required("op", v.op);
};
void to_json(Json& j, const SeccompArg& v) { write_fields(j, v, seccomp_arg_fields); }
void from_json(const Json& j, SeccompArg& v) { read_fields(j, v, "linux.seccomp.syscalls.args", seccomp_arg_fields); }

constexpr auto seccomp_syscall_fields = [](auto& io, auto& v) {
    io.required("names", v.names);
    io.required("action", v.action);
    io.optional("errnoRet", v.errno_ret);
    io.optional("args", v.args);
};
void to_json(Json& j, const SeccompSyscall& v) { write_fields(j, v, seccomp_syscall_fields); }
void from_json(const Json& j, SeccompSyscall& v) { read_fields(j, v, "linux.seccomp.syscalls", seccomp_syscall_fields); }

constexpr auto seccomp_fields = [](auto& io, auto& v) {
    io.required("defaultAction", v.default_action);
    io.optional("defaultErrnoRet", v.default_errno_ret);
    io.optional("architectures", v.architectures);
    io.optional("flags", v.flags);
    io.optional("listenerPath", v.listener_path);
    io.optional("listenerMetadata", v.listener_metadata);
    io.optional("syscalls", v.syscalls);
};
void to_json(Json& j, const Seccomp& v) { write_fields(j, v, seccomp_fields); }
void from_json(const Json& j, Seccomp& v) { read_fields(j, v, "linux.seccomp", seccomp_fields); }

const Namespace* Linux::find_namespace(std::string_view type) const {
    for (const auto& ns : namespaces)
        if (ns.type == type) return &ns;
    return nullptr;
}

constexpr auto linux_fields = [](auto& io, auto& v) {
    io.optional("namespaces", v.namespaces);
    io.optional("uidMappings", v.uid_mappings);
    io.optional("gidMappings", v.gid_mappings);
    io.optional("devices", v.devices);
    io.optional("cgroupsPath", v.cgroups_path);
    io.optional("resources", v.resources);
    io.optional("rootfsPropagation", v.rootfs_propagation);
    io.optional("seccomp", v.seccomp);
    io.optional("sysctl", v.sysctl);
    io.optional("maskedPaths", v.masked_paths);
    io.optional("readonlyPaths", v.readonly_paths);
    io.optional("mountLabel", v.mount_label);
};
void to_json(Json& j, const Linux& v) { write_fields(j, v, linux_fields); }
void from_json(const Json& j, Linux& v) { read_fields(j, v, "linux", linux_fields); }

constexpr auto spec_fields = [](auto& io, auto& v) {
    io.required("ociVersion", v.oci_version);
    io.optional("process", v.process);
    io.optional("root", v.root);
    io.optional("hostname", v.hostname);
    io.optional("domainname", v.domainname);
    io.defaulted("mounts", v.mounts);
    io.optional("hooks", v.hooks);
    io.optional("annotations", v.annotations);
    io.optional("linux", v.linux);
};
void to_json(Json& j, const Spec& v) { write_fields(j, v, spec_fields); }
void from_json(const Json& j, Spec& v) { read_fields(j, v, "config.json", spec_fields); }

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
