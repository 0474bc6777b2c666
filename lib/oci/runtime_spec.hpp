// The OCI runtime-spec config.json (config.md, config-linux.md), as ns-run,
// runc and crun read it and img-unpack writes it. Unknown fields at every
// level survive in `extra`; absent optional fields stay absent on output.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace ctk::oci {

inline constexpr const char* runtime_spec_version = "1.1.0";

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<uint32_t> umask;
    std::vector<uint32_t> additional_gids;
    std::string username;
    Json extra = Json::object();
};

// An absent set and an empty one mean the same to the kernel, but both
// occur in the wild ("inheritable": [] from crun spec); optional keeps the form.
struct Capabilities {
    std::optional<std::vector<std::string>> bounding, effective, inheritable, permitted, ambient;
    Json extra = Json::object();
};

struct Rlimit {
    std::string type; // "RLIMIT_NOFILE"
    uint64_t hard = 0;
    uint64_t soft = 0;
};

struct ConsoleSize {
    unsigned height = 0;
    unsigned width = 0;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::string apparmor_profile;
    std::optional<int> oom_score_adj;
    std::string selinux_label;
    Json extra = Json::object();
};

struct Root {
    std::string path = "rootfs";
    bool readonly = false;
    Json extra = Json::object();
};

struct IdMapping {
    uint32_t container_id = 0;
    uint32_t host_id = 0;
    uint32_t size = 0;
};

struct Mount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
    std::vector<IdMapping> uid_mappings, gid_mappings;
    Json extra = Json::object();
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;
    Json extra = Json::object();
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
        poststop;
    Json extra = Json::object();
};

struct Namespace {
    std::string type; // pid network mount ipc uts user cgroup time
    std::string path;
};

struct Device {
    std::string type; // c b u p
    std::string path;
    int64_t major = 0;
    int64_t minor = 0;
    std::optional<uint32_t> file_mode;
    std::optional<uint32_t> uid;
    std::optional<uint32_t> gid;
};

struct DeviceCgroup {
    bool allow = false;
    std::string type; // a c b
    std::optional<int64_t> major;
    std::optional<int64_t> minor;
    std::string access; // rwm
};

struct MemoryResources {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
    Json extra = Json::object();
};

struct CpuResources {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota, burst;
    std::optional<uint64_t> period;
    std::optional<int64_t> realtime_runtime;
    std::optional<uint64_t> realtime_period;
    std::string cpus, mems;
    std::optional<int64_t> idle;
    Json extra = Json::object();
};

struct PidsResources {
    int64_t limit = 0;
};

struct Resources {
    std::vector<DeviceCgroup> devices;
    std::optional<MemoryResources> memory;
    std::optional<CpuResources> cpu;
    std::optional<PidsResources> pids;
    std::map<std::string, std::string> unified;
    Json extra = Json::object(); // blockIO, hugepageLimits, network, rdma
};

struct SeccompArg {
    unsigned index = 0;
    uint64_t value = 0;
    uint64_t value_two = 0;
    std::string op; // SCMP_CMP_EQ ...
};

struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action;
    std::optional<uint32_t> errno_ret;
    std::vector<SeccompArg> args;
    Json extra = Json::object();
};

struct Seccomp {
    std::string default_action;
    std::optional<uint32_t> default_errno_ret;
    std::vector<std::string> architectures;
    std::vector<std::string> flags;
    std::string listener_path;
    std::string listener_metadata;
    std::vector<SeccompSyscall> syscalls;
    Json extra = Json::object();
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings, gid_mappings;
    std::vector<Device> devices;
    std::string cgroups_path;
    std::optional<Resources> resources;
    std::string rootfs_propagation;
    std::optional<Seccomp> seccomp;
    std::map<std::string, std::string> sysctl;
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    std::string mount_label;
    Json extra = Json::object();

    const Namespace* find_namespace(std::string_view type) const;
};

struct Spec {
    std::string oci_version = runtime_spec_version;
    std::optional<Process> process;
    std::optional<Root> root;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    std::optional<Hooks> hooks;
    std::map<std::string, std::string> annotations;
    std::optional<Linux> linux;
    Json extra = Json::object();

    // Reads and checks config.json: ociVersion 1.x, process.args not empty when
    // a process is given. Errors name the file and the field.
    static Spec parse(std::string_view text, std::string_view what);
    static Spec load(const std::string& path);
    // Writes it atomically.
    void save(const std::string& path) const;
};

#define CTK_OCI_JSON(T)                                                                            \
    void to_json(Json& j, const T& v);                                                             \
    void from_json(const Json& j, T& v);
CTK_OCI_JSON(User)
CTK_OCI_JSON(Capabilities)
CTK_OCI_JSON(Rlimit)
CTK_OCI_JSON(ConsoleSize)
CTK_OCI_JSON(Process)
CTK_OCI_JSON(Root)
CTK_OCI_JSON(IdMapping)
CTK_OCI_JSON(Mount)
CTK_OCI_JSON(Hook)
CTK_OCI_JSON(Hooks)
CTK_OCI_JSON(Namespace)
CTK_OCI_JSON(Device)
CTK_OCI_JSON(DeviceCgroup)
CTK_OCI_JSON(MemoryResources)
CTK_OCI_JSON(CpuResources)
CTK_OCI_JSON(PidsResources)
CTK_OCI_JSON(Resources)
CTK_OCI_JSON(SeccompArg)
CTK_OCI_JSON(SeccompSyscall)
CTK_OCI_JSON(Seccomp)
CTK_OCI_JSON(Linux)
CTK_OCI_JSON(Spec)
#undef CTK_OCI_JSON

} // namespace ctk::oci
