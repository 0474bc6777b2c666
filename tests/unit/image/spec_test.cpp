#include "image/spec.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/fs.hpp"

using namespace ctk;
using namespace ctk::image;

namespace {

class Spec : public ::testing::Test {
protected:
    void SetUp() override {
        make_dirs(tmp_.path() + "/rootfs/etc");
        write_file_atomic(tmp_.path() + "/rootfs/etc/passwd",
                          "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
        write_file_atomic(tmp_.path() + "/rootfs/etc/group", "root:x:0:\napp:x:1000:\nwheel:x:10:app\n");
        root_ = open_dir(tmp_.path() + "/rootfs");
        image_.os = "linux";
        image_.architecture = "amd64";
        image_.created = "2023-11-14T22:13:20Z";
        image_.config.env = {"PATH=/custom/bin", "LANG=C.UTF-8"};
        image_.config.entrypoint = std::vector<std::string>{"/entry"};
        image_.config.cmd = std::vector<std::string>{"serve", "--port=80"};
        image_.config.working_dir = "/srv";
        image_.config.exposed_ports = {{"80/tcp", Json::object()}, {"53/udp", Json::object()}};
        image_.config.volumes = {{"/data", Json::object()}};
        image_.config.labels = {{"org.opencontainers.image.title", "demo"},
                                {"org.opencontainers.image.os", "label wins"}};
        image_.config.stop_signal = "SIGTERM";
    }

    oci::Spec make(const SpecOptions& o = {}) { return make_runtime_spec(image_, o, root_.get()); }

    TempDir tmp_{"spec"};
    UniqueFd root_;
    oci::ImageConfig image_;
};

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

TEST_F(Spec, ArgsFromEntrypointAndCmd) {
    EXPECT_EQ(make().process->args, (std::vector<std::string>{"/entry", "serve", "--port=80"}));
    SpecOptions o;
    o.cmd = std::vector<std::string>{"debug"};
    EXPECT_EQ(make(o).process->args, (std::vector<std::string>{"/entry", "debug"}));
    // docker run --entrypoint drops the image's Cmd
    o = {};
    o.entrypoint = std::vector<std::string>{"/bin/sh"};
    EXPECT_EQ(make(o).process->args, (std::vector<std::string>{"/bin/sh"}));
    o.entrypoint = std::vector<std::string>{};
    o.cmd = std::vector<std::string>{"ls", "-l"};
    EXPECT_EQ(make(o).process->args, (std::vector<std::string>{"ls", "-l"}));
    o.cmd.reset();
    try {
        make(o);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
    }
}

TEST_F(Spec, Environment) {
    SpecOptions o;
    o.hostname = "box";
    o.terminal = true;
    o.env = {"LANG=de_DE.UTF-8", "EXTRA=1", "PATH"};
    auto env = make(o).process->env;
    EXPECT_EQ(env, (std::vector<std::string>{"HOSTNAME=box", "TERM=xterm", "LANG=de_DE.UTF-8", "EXTRA=1",
                                             "HOME=/root"}));
    env = make().process->env;
    EXPECT_EQ(env[0], "PATH=/custom/bin");
    image_.config.env.clear();
    EXPECT_EQ(make().process->env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

TEST_F(Spec, UserAndWorkdir) {
    auto p = *make().process;
    EXPECT_EQ(p.user.uid, 0u);
    EXPECT_EQ(p.cwd, "/srv");
    SpecOptions o;
    o.user = "app";
    o.workdir = "rel";
    p = *make(o).process;
    EXPECT_EQ(p.user.uid, 1000u);
    EXPECT_EQ(p.user.gid, 1000u);
    EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{10}));
    EXPECT_TRUE(has(p.env, "HOME=/home/app"));
    EXPECT_EQ(p.cwd, "/rel");
    image_.config.user = "ghost";
    try {
        make();
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
    }
}

TEST_F(Spec, DockerDefaults) {
    oci::Spec s = make();
    EXPECT_EQ(s.root->path, "rootfs");
    EXPECT_FALSE(s.root->readonly);
    const auto& caps = *s.process->capabilities;
    EXPECT_EQ(*caps.bounding, docker_default_capabilities());
    EXPECT_EQ(*caps.effective, docker_default_capabilities());
    EXPECT_FALSE(caps.inheritable.has_value());
    EXPECT_FALSE(caps.ambient.has_value());
    std::vector<std::string> dests;
    for (const auto& m : s.mounts) dests.push_back(m.destination);
    EXPECT_EQ(dests, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue",
                                               "/dev/shm"}));
    std::vector<std::string> ns;
    for (const auto& n : s.linux->namespaces) ns.push_back(n.type);
    for (const char* t : {"mount", "network", "uts", "pid", "ipc"}) EXPECT_TRUE(has(ns, t)) << t;
    EXPECT_TRUE(has(s.linux->masked_paths, "/proc/kcore"));
    EXPECT_TRUE(has(s.linux->masked_paths, "/sys/firmware"));
    EXPECT_TRUE(has(s.linux->readonly_paths, "/proc/sys"));
    ASSERT_EQ(s.process->rlimits.size(), 1u);
    EXPECT_EQ(s.process->rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(s.process->rlimits[0].soft, 1024u);
    ASSERT_TRUE(s.linux->seccomp.has_value());
    EXPECT_EQ(s.linux->seccomp->default_action, "SCMP_ACT_ERRNO");
    ASSERT_TRUE(s.linux->resources.has_value());
    EXPECT_FALSE(s.linux->resources->devices.at(0).allow);
    // and it serialises to something ociVersion 1.x readers accept
    Json j = s;
    EXPECT_NO_THROW(oci::Spec::parse(j.dump(), "generated"));
}

// HostConfig (docker run's settings, the Engine API's JSON) over the image's spec:
// one test per field img-unpack --host-config applies.
namespace {
SpecOptions with_host(const char* host_config_json) {
    SpecOptions o;
    o.host = oci::HostConfig::from_json(Json::parse(host_config_json));
    return o;
}
const oci::Mount* mount_at(const oci::Spec& s, const std::string& dest) {
    const oci::Mount* found = nullptr;
    for (const auto& m : s.mounts)
        if (m.destination == dest) found = &m; // the last one is what the container sees
    return found;
}
std::vector<std::string> namespaces(const oci::Spec& s) {
    std::vector<std::string> ns;
    for (const auto& n : s.linux->namespaces) ns.push_back(n.type + (n.path.empty() ? "" : "=" + n.path));
    return ns;
}
} // namespace

TEST_F(Spec, HostConfigCapabilitiesReadonlyAndSecurityOpt) {
    oci::Spec s = make(with_host(R"({"ReadonlyRootfs": true, "CapAdd": ["net_admin", "CAP_SYS_TIME"],
                                     "CapDrop": ["NET_RAW"], "SecurityOpt": ["no-new-privileges", "seccomp=unconfined"]})"));
    EXPECT_TRUE(s.root->readonly);
    EXPECT_TRUE(s.process->no_new_privileges);
    EXPECT_FALSE(s.linux->seccomp.has_value());
    auto caps = *s.process->capabilities->bounding;
    EXPECT_TRUE(has(caps, "CAP_NET_ADMIN"));
    EXPECT_TRUE(has(caps, "CAP_SYS_TIME"));
    EXPECT_FALSE(has(caps, "CAP_NET_RAW"));
    EXPECT_TRUE(has(caps, "CAP_CHOWN"));
    EXPECT_EQ(*s.process->capabilities->effective, caps);
    EXPECT_FALSE(make(with_host(R"({"SecurityOpt": ["no-new-privileges=false"]})")).process->no_new_privileges);
    // docker's CLI sends the profile itself, ctl the file's name
    EXPECT_EQ(make(with_host(R"({"SecurityOpt": ["seccomp={\"defaultAction\":\"SCMP_ACT_LOG\"}"]})"))
                  .linux->seccomp->default_action, "SCMP_ACT_LOG");
    write_file_atomic(tmp_.path() + "/profile.json", R"({"defaultAction":"SCMP_ACT_TRAP"})");
    SpecOptions o;
    o.host.security_opt = std::vector<std::string>{"seccomp=" + tmp_.path() + "/profile.json"};
    EXPECT_EQ(make(o).linux->seccomp->default_action, "SCMP_ACT_TRAP");
    o.host.security_opt = std::vector<std::string>{"seccomp=" + tmp_.path() + "/missing.json"};
    try {
        make(o);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
    }
    EXPECT_EQ(make(with_host(R"({"SecurityOpt": ["seccomp=default"]})")).linux->seccomp->default_action, "SCMP_ACT_ERRNO");
}

TEST_F(Spec, HostConfigMemoryAndSwap) {
    oci::Spec s = make(with_host(R"({"Memory": 67108864, "MemorySwap": 134217728})"));
    ASSERT_TRUE(s.linux->resources->memory.has_value());
    EXPECT_EQ(s.linux->resources->memory->limit, 67108864);
    EXPECT_EQ(s.linux->resources->memory->swap, 134217728);
    s = make(with_host(R"({"Memory": 67108864, "MemorySwap": -1})"));
    EXPECT_EQ(s.linux->resources->memory->swap, -1); // unlimited swap
    s = make(with_host(R"({"MemorySwap": 134217728})"));
    EXPECT_FALSE(s.linux->resources->memory->limit.has_value());
    EXPECT_FALSE(make(with_host(R"({"Memory": 0, "MemorySwap": 0})")).linux->resources->memory.has_value());
}

TEST_F(Spec, HostConfigCpu) {
    oci::Spec s = make(with_host(R"({"NanoCpus": 1500000000, "CpuQuota": 7, "CpuPeriod": 9})"));
    ASSERT_TRUE(s.linux->resources->cpu.has_value());
    EXPECT_EQ(s.linux->resources->cpu->period, 100000u); // --cpus wins over quota and period
    EXPECT_EQ(s.linux->resources->cpu->quota, 150000);
    s = make(with_host(R"({"CpuQuota": 20000, "CpuPeriod": 50000})"));
    EXPECT_EQ(s.linux->resources->cpu->period, 50000u);
    EXPECT_EQ(s.linux->resources->cpu->quota, 20000);
    s = make(with_host(R"({"CpuQuota": 20000})"));
    EXPECT_EQ(s.linux->resources->cpu->period, 100000u);
    EXPECT_FALSE(make(with_host(R"({"CpuPeriod": 50000})")).linux->resources->cpu.has_value());
}

TEST_F(Spec, HostConfigPidsLimit) {
    EXPECT_EQ(make(with_host(R"({"PidsLimit": 100})")).linux->resources->pids->limit, 100);
    EXPECT_FALSE(make(with_host(R"({"PidsLimit": 0})")).linux->resources->pids.has_value());
    EXPECT_FALSE(make(with_host(R"({"PidsLimit": null})")).linux->resources->pids.has_value());
}

TEST_F(Spec, HostConfigUlimits) {
    oci::Spec s = make(with_host(R"({"Ulimits": [{"Name": "nofile", "Soft": 512, "Hard": 1024},
                                                  {"Name": "nproc", "Soft": 30, "Hard": 40}]})"));
    ASSERT_EQ(s.process->rlimits.size(), 2u); // nofile replaces Docker's default, nproc is added
    EXPECT_EQ(s.process->rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(s.process->rlimits[0].soft, 512u);
    EXPECT_EQ(s.process->rlimits[0].hard, 1024u);
    EXPECT_EQ(s.process->rlimits[1].type, "RLIMIT_NPROC");
    EXPECT_EQ(s.process->rlimits[1].soft, 30u);
    EXPECT_EQ(s.process->rlimits[1].hard, 40u);
}

TEST_F(Spec, HostConfigSysctls) {
    oci::Spec s = make(with_host(R"({"Sysctls": {"net.ipv4.ip_forward": "1", "kernel.msgmax": "8192"}})"));
    EXPECT_EQ(s.linux->sysctl["net.ipv4.ip_forward"], "1");
    EXPECT_EQ(s.linux->sysctl["kernel.msgmax"], "8192");
}

TEST_F(Spec, HostConfigGroupAdd) {
    // numeric groups are added; a name is not looked up
    EXPECT_EQ(make(with_host(R"({"GroupAdd": ["10", "4", "audio"]})")).process->user.additional_gids,
              (std::vector<uint32_t>{10, 4}));
}

TEST_F(Spec, HostConfigDevices) {
    oci::Spec s = make(with_host(R"({"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                                                   "CgroupPermissions": "rw"}, {"PathOnHost": "/dev/zero"}]})"));
    ASSERT_EQ(s.linux->devices.size(), 2u);
    EXPECT_EQ(s.linux->devices[0].path, "/dev/mynull");
    EXPECT_EQ(s.linux->devices[0].type, "c");
    EXPECT_EQ(s.linux->devices[0].major, 1);
    EXPECT_EQ(s.linux->devices[0].minor, 3);
    EXPECT_EQ(s.linux->devices[0].uid, 0u);
    EXPECT_EQ(s.linux->devices[1].path, "/dev/zero");
    const auto& rules = s.linux->resources->devices;
    ASSERT_GE(rules.size(), 2u);
    EXPECT_TRUE(rules[rules.size() - 2].allow);
    EXPECT_EQ(rules[rules.size() - 2].minor, 3);
    EXPECT_EQ(rules[rules.size() - 2].access, "rw");
    EXPECT_EQ(rules.back().minor, 5);
    EXPECT_EQ(rules.back().access, "rwm");
    for (const char* bad : {R"({"Devices": [{"PathOnHost": "/etc/passwd"}]})", R"({"Devices": [{"PathOnHost": "/dev/nope"}]})",
                            R"({"Devices": [{"PathOnHost": "dev/null"}]})"}) {
        try {
            make(with_host(bad));
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid) << bad;
        }
    }
}

TEST_F(Spec, HostConfigCgroupParent) {
    SpecOptions o = with_host(R"({"CgroupParent": "mine.slice"})");
    EXPECT_EQ(make(o).linux->cgroups_path, ""); // no name: img-unpack's caller gives the bundle's
    o.cgroup_name = "c1";
    EXPECT_EQ(make(o).linux->cgroups_path, "mine.slice/c1");
    o.host.cgroup_parent.clear();
    EXPECT_EQ(make(o).linux->cgroups_path, "ctk/c1");
}

TEST_F(Spec, HostConfigPidAndIpcHost) {
    oci::Spec s = make(with_host(R"({"PidMode": "host", "IpcMode": "host"})"));
    auto ns = namespaces(s);
    EXPECT_FALSE(has(ns, "pid"));
    EXPECT_FALSE(has(ns, "ipc"));
    EXPECT_TRUE(has(ns, "network"));
    const oci::Mount* shm = mount_at(s, "/dev/shm");
    ASSERT_NE(shm, nullptr);
    EXPECT_EQ(shm->type, "bind"); // the host's /dev/shm over the private tmpfs
    EXPECT_EQ(shm->source, "/dev/shm");
    s = make(with_host(R"({"PidMode": "", "IpcMode": "private"})"));
    EXPECT_TRUE(has(namespaces(s), "pid"));
    EXPECT_TRUE(has(namespaces(s), "ipc"));
    EXPECT_EQ(mount_at(s, "/dev/shm")->type, "tmpfs");
}

TEST_F(Spec, HostConfigNetworkModes) {
    SpecOptions o = with_host(R"({"NetworkMode": "host"})");
    o.hostname = "myhost";
    oci::Spec s = make(o);
    EXPECT_FALSE(has(namespaces(s), "network"));
    EXPECT_FALSE(has(namespaces(s), "uts"));
    EXPECT_EQ(s.hostname, "");
    EXPECT_TRUE(has(s.process->env, "HOSTNAME=myhost")); // the host's name, as the caller passes it
    EXPECT_EQ(s.linux->sysctl.count("net.ipv4.ping_group_range"), 0u);
    EXPECT_EQ(s.linux->sysctl.count("net.ipv4.ip_unprivileged_port_start"), 0u);
    // none: a network namespace of its own, with nothing in it
    s = make(with_host(R"({"NetworkMode": "none"})"));
    EXPECT_TRUE(has(namespaces(s), "network"));
    EXPECT_TRUE(has(namespaces(s), "uts"));
    // bridge, a user network or container:NAME: the namespace the caller names
    for (const char* mode : {"default", "n1", "container:web"}) {
        o = with_host((std::string(R"({"NetworkMode": ")") + mode + "\"}").c_str());
        o.netns = "/run/ctk/netns/abc";
        s = make(o);
        EXPECT_TRUE(has(namespaces(s), "network=/run/ctk/netns/abc")) << mode;
        EXPECT_FALSE(has(namespaces(s), "network")) << mode;
        EXPECT_TRUE(has(namespaces(s), "uts")) << mode;
    }
}

TEST_F(Spec, EtcFilesAreBoundOverTheImagesOwn) {
    SpecOptions o;
    o.etc_dir = "/var/lib/ctk/containers/abc";
    oci::Spec s = make(o);
    for (const char* f : {"hostname", "hosts", "resolv.conf"}) {
        const oci::Mount* m = mount_at(s, std::string("/etc/") + f);
        ASSERT_NE(m, nullptr) << f;
        EXPECT_EQ(m->type, "bind");
        EXPECT_EQ(m->source, std::string("/var/lib/ctk/containers/abc/") + f);
        EXPECT_EQ(m->options, (std::vector<std::string>{"rbind", "rprivate"}));
    }
    EXPECT_EQ(mount_at(make(), "/etc/hosts"), nullptr);
}

TEST(Capabilities, DockerRules) {
    oci::HostConfig o;
    o.cap_drop = std::vector<std::string>{"ALL"};
    o.cap_add = std::vector<std::string>{"chown"};
    EXPECT_EQ(effective_capabilities(o), (std::vector<std::string>{"CAP_CHOWN"}));
    o.cap_add = std::vector<std::string>{"ALL"};
    o.cap_drop = std::vector<std::string>{"SYS_ADMIN"};
    auto all = effective_capabilities(o);
    EXPECT_EQ(all.size(), all_capabilities().size() - 1);
    EXPECT_FALSE(has(all, "CAP_SYS_ADMIN"));
    o = {};
    o.cap_add = std::vector<std::string>{"CAP_BOGUS"};
    EXPECT_THROW(effective_capabilities(o), Error);
    EXPECT_EQ(normalize_capability("sys_admin"), "CAP_SYS_ADMIN");
    EXPECT_EQ(normalize_capability("CAP_NET_ADMIN"), "CAP_NET_ADMIN");
    EXPECT_EQ(normalize_capability("all"), "ALL");
    EXPECT_THROW(normalize_capability("CAP_FLY"), Error);
    EXPECT_EQ(docker_default_capabilities().size(), 14u);
    EXPECT_EQ(all_capabilities().size(), 41u); // CAP_CHOWN (0) .. CAP_CHECKPOINT_RESTORE (40)
}

TEST_F(Spec, Annotations) {
    auto a = make().annotations;
    EXPECT_EQ(a["org.opencontainers.image.title"], "demo");
    EXPECT_EQ(a["org.opencontainers.image.os"], "label wins");
    EXPECT_EQ(a["org.opencontainers.image.architecture"], "amd64");
    EXPECT_EQ(a["org.opencontainers.image.created"], "2023-11-14T22:13:20Z");
    EXPECT_EQ(a["org.opencontainers.image.stopSignal"], "SIGTERM");
    EXPECT_EQ(a["org.opencontainers.image.exposedPorts"], "53/udp,80/tcp");
    EXPECT_EQ(a["org.ctk.image.volumes"], "/data");
}
