#include "oci/runtime_spec.hpp"

#include <gtest/gtest.h>

#include "core/fs.hpp"

using namespace ctk;
using namespace ctk::oci;

static std::string spec_data_path(const std::string& name) {
    const char* d = std::getenv("CTK_TEST_DATA");
    return std::string(d ? d : "tests/data") + "/" + name;
}

// config.json as `runc spec`, `crun spec` and `umoci unpack` write it survives
// a read and a write unchanged.
TEST(RuntimeSpec, PeerSpecsRoundTrip) {
    for (const char* file : {"runc-spec.json", "crun-spec.json", "umoci-config.json"}) {
        SCOPED_TRACE(file);
        std::string text = read_file(spec_data_path(file));
        Spec s = Spec::parse(text, file);
        EXPECT_EQ(Json(s), parse_json(text, file));
    }
}

TEST(RuntimeSpec, TypedFieldsFromRuncSpec) {
    Spec s = Spec::load(spec_data_path("runc-spec.json"));
    ASSERT_TRUE(s.process);
    EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
    EXPECT_TRUE(s.process->terminal);
    ASSERT_TRUE(s.process->capabilities);
    ASSERT_TRUE(s.process->capabilities->bounding);
    EXPECT_FALSE(s.process->capabilities->bounding->empty());
    ASSERT_TRUE(s.linux);
    EXPECT_TRUE(s.linux->find_namespace("pid"));
    EXPECT_TRUE(s.linux->find_namespace("mount"));
    EXPECT_FALSE(s.linux->find_namespace("user"));
    EXPECT_FALSE(s.linux->masked_paths.empty());
    ASSERT_TRUE(s.root);
    EXPECT_EQ(s.root->path, "rootfs");
    EXPECT_TRUE(s.root->readonly);
}

TEST(RuntimeSpec, UnknownFieldsAndAnnotationsSurvive) {
    std::string text = R"({
      "ociVersion": "1.1.0",
      "x-top": 1,
      "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 1, "gid": 2, "x-user": true},
                  "ioPriority": {"class": "IOPRIO_CLASS_IDLE"}},
      "root": {"path": "rootfs"},
      "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "x-mount": "m"}],
      "annotations": {"org.example": "v"},
      "hooks": {"poststop": [{"path": "/bin/echo", "timeout": 5}]},
      "linux": {
        "namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/x"}],
        "resources": {"memory": {"limit": 1048576}, "pids": {"limit": 32},
                      "cpu": {"shares": 512, "quota": 50000, "period": 100000},
                      "blockIO": {"weight": 10},
                      "devices": [{"allow": false, "access": "rwm"}]},
        "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                    "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
        "intelRdt": {"closID": "x"},
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]
      }
    })";
    Spec s = Spec::parse(text, "config.json");
    EXPECT_EQ(s.process->user.uid, 1u);
    EXPECT_EQ(s.annotations.at("org.example"), "v");
    EXPECT_EQ(*s.linux->resources->memory->limit, 1048576);
    EXPECT_EQ(s.linux->resources->pids->limit, 32);
    EXPECT_EQ(s.linux->seccomp->syscalls[0].args[0].op, "SCMP_CMP_EQ");
    EXPECT_EQ(s.linux->find_namespace("network")->path, "/run/netns/x");
    EXPECT_EQ(*s.hooks->poststop[0].timeout, 5);
    EXPECT_EQ(s.linux->uid_mappings[0].host_id, 100000u);
    EXPECT_EQ(Json(s), parse_json(text, "x"));
}

TEST(RuntimeSpec, BrokenConfigsGetClearErrors) {
    auto error_of = [](const std::string& text) -> std::string {
        try {
            Spec::parse(text, "bundle/config.json");
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid) << e.what();
            return e.what();
        }
        return "";
    };
    EXPECT_NE(error_of("{").find("bundle/config.json: malformed JSON"), std::string::npos);
    EXPECT_NE(error_of(R"({"process":{}})").find("missing field \"ociVersion\""), std::string::npos);
    EXPECT_NE(error_of(R"({"ociVersion":"2.0.0"})").find("unsupported ociVersion"), std::string::npos);
    EXPECT_NE(error_of(R"({"ociVersion":"1.0.0","process":{"args":[],"cwd":"/"}})").find("process.args"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"ociVersion":"1.0.0","process":{"args":["x"],"cwd":"rel"}})").find("cwd"),
              std::string::npos);
    std::string e = error_of(R"({"ociVersion":"1.0.0","process":{"args":["x"],"cwd":"/","user":{"uid":"root","gid":0}}})");
    EXPECT_NE(e.find("bundle/config.json"), std::string::npos) << e;
    EXPECT_NE(e.find("uid"), std::string::npos) << e;
}

TEST(RuntimeSpec, SaveIsAtomicAndReadable) {
    TempDir dir("spec");
    Spec s;
    s.process = Process{};
    s.process->args = {"/bin/true"};
    s.root = Root{};
    s.save(dir.path() + "/config.json");
    Spec back = Spec::load(dir.path() + "/config.json");
    EXPECT_EQ(back.process->args, std::vector<std::string>{"/bin/true"});
    EXPECT_EQ(back.oci_version, runtime_spec_version);
}
