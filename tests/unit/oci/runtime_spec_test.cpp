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

// Issue 16: a uid of -1 or 2^32 ran the process as root (nlohmann wraps -1 to
// 4294967295 and 2^32 to 0); every integer field holds only what runc's Go type does.
TEST(RuntimeSpec, IntegersOutsideTheirGoTypesAreRefused) {
    auto base = [] {
        return Json{{"ociVersion", "1.0.2"},
                    {"root", {{"path", "rootfs"}}},
                    {"process", {{"args", {"true"}}, {"cwd", "/"}, {"user", {{"uid", 0}, {"gid", 0}}}}},
                    {"linux", Json::object()}};
    };
    auto error_of = [](const Json& j) -> std::string {
        try {
            Spec::parse(j.dump(), "config.json");
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid) << e.what();
            return e.what();
        }
        return "accepted";
    };
    auto set = [&](const Json::json_pointer& ptr, const Json& value) {
        Json j = base();
        j[ptr] = value;
        return error_of(j);
    };
    using P = Json::json_pointer;
    EXPECT_EQ(set(P("/process/user/uid"), -1), "config.json: process.user.uid: -1 is out of range for uint32");
    EXPECT_EQ(set(P("/process/user/uid"), 4294967296u), "config.json: process.user.uid: 4294967296 is out of range for uint32");
    EXPECT_EQ(set(P("/process/user/gid"), -1), "config.json: process.user.gid: -1 is out of range for uint32");
    EXPECT_EQ(set(P("/process/user/uid"), 1.5), "config.json: process.user.uid: 1.5 is not a value of type uint32");
    EXPECT_EQ(set(P("/process/user/uid"), true), "config.json: process.user.uid: true is not a value of type uint32");
    EXPECT_EQ(set(P("/process/user/additionalGids"), Json{1, -2}),
              "config.json: process.user.additionalGids: -2 is out of range for uint32");
    EXPECT_EQ(set(P("/process/user/umask"), 4294967296u), "config.json: process.user.umask: 4294967296 is out of range for uint32");
    EXPECT_EQ(set(P("/process/rlimits"), Json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", -1}, {"soft", 1}}})),
              "config.json: process.rlimits.hard: -1 is out of range for uint64");
    EXPECT_EQ(set(P("/process/oomScoreAdj"), 2147483648u), "config.json: process.oomScoreAdj: 2147483648 is out of range for int32");
    EXPECT_EQ(set(P("/process/consoleSize"), {{"height", -1}, {"width", 80}}),
              "config.json: process.consoleSize.height: -1 is out of range for uint32");
    EXPECT_EQ(set(P("/linux/uidMappings"), Json::array({{{"containerID", 0}, {"hostID", -1}, {"size", 1}}})),
              "config.json: linux: field \"uidMappings\": id mapping.hostID: -1 is out of range for uint32");
    EXPECT_EQ(set(P("/linux/resources/memory/limit"), 9223372036854775808u),
              "config.json: linux.resources.memory.limit: 9223372036854775808 is out of range for int64");
    EXPECT_EQ(set(P("/linux/resources/cpu/shares"), -1), "config.json: linux.resources.cpu.shares: -1 is out of range for uint64");
    EXPECT_EQ(set(P("/linux/resources/pids/limit"), 9223372036854775808u),
              "config.json: linux.resources.pids.limit: 9223372036854775808 is out of range for int64");
    EXPECT_EQ(set(P("/linux/resources/blockIO"), {{"weight", 65536}}),
              "config.json: linux.resources.blockIO.weight: 65536 is out of range for uint16");
    EXPECT_EQ(set(P("/linux/resources/hugepageLimits"), Json::array({{{"pageSize", "2MB"}, {"limit", -1}}})),
              "config.json: linux.resources.hugepageLimits.limit: -1 is out of range for uint64");
    EXPECT_EQ(set(P("/linux/resources/network"), {{"classID", -1}}),
              "config.json: linux.resources.network.classID: -1 is out of range for uint32");
    EXPECT_EQ(set(P("/linux/devices"), Json::array({{{"type", "c"}, {"path", "/dev/x"}, {"major", 1}, {"minor", 3}, {"fileMode", -1}}})),
              "config.json: linux.devices.fileMode: -1 is out of range for uint32");
    EXPECT_EQ(set(P("/linux/devices"), Json::array({{{"type", "c"}, {"path", "/dev/x"}, {"major", 1.5}, {"minor", 3}}})),
              "config.json: linux.devices.major: 1.5 is not a value of type int64");
    // the edges of each type are values like any other
    EXPECT_EQ(set(P("/process/user/uid"), 4294967295u), "accepted");
    EXPECT_EQ(set(P("/linux/resources/memory/limit"), -1), "accepted");
    EXPECT_EQ(set(P("/linux/resources/memory/limit"), 9223372036854775807), "accepted");
    EXPECT_EQ(set(P("/process/rlimits"), Json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 18446744073709551615u}, {"soft", 0}}})),
              "accepted");
    EXPECT_EQ(set(P("/process/oomScoreAdj"), -1000), "accepted");
}
