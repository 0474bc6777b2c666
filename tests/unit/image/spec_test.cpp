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

TEST_F(Spec, Options) {
    SpecOptions o;
    o.readonly_rootfs = true;
    o.no_new_privileges = true;
    o.seccomp = SpecOptions::Seccomp::unconfined;
    o.cap_add = {"net_admin", "CAP_SYS_TIME"};
    o.cap_drop = {"NET_RAW"};
    oci::Spec s = make(o);
    EXPECT_TRUE(s.root->readonly);
    EXPECT_TRUE(s.process->no_new_privileges);
    EXPECT_FALSE(s.linux->seccomp.has_value());
    auto caps = *s.process->capabilities->bounding;
    EXPECT_TRUE(has(caps, "CAP_NET_ADMIN"));
    EXPECT_TRUE(has(caps, "CAP_SYS_TIME"));
    EXPECT_FALSE(has(caps, "CAP_NET_RAW"));
    EXPECT_TRUE(has(caps, "CAP_CHOWN"));
    o = {};
    o.seccomp = SpecOptions::Seccomp::profile;
    o.seccomp_profile = R"({"defaultAction":"SCMP_ACT_LOG"})";
    EXPECT_EQ(make(o).linux->seccomp->default_action, "SCMP_ACT_LOG");
}

TEST(Capabilities, DockerRules) {
    SpecOptions o;
    o.cap_drop = {"ALL"};
    o.cap_add = {"chown"};
    EXPECT_EQ(effective_capabilities(o), (std::vector<std::string>{"CAP_CHOWN"}));
    o.cap_add = {"ALL"};
    o.cap_drop = {"SYS_ADMIN"};
    auto all = effective_capabilities(o);
    EXPECT_EQ(all.size(), all_capabilities().size() - 1);
    EXPECT_FALSE(has(all, "CAP_SYS_ADMIN"));
    o = {};
    o.cap_add = {"CAP_BOGUS"};
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
