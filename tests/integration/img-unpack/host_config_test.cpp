// img-unpack --host-config against the path it replaced: until then ctl ran
// img-unpack with the single-setting options and edited config.json
// afterwards with these JsonEdits (Engine::plan_create's list, as it was).
// Both must give the same config.json for the same `docker run` flags.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/fs.hpp"
#include "engine/plan.hpp"
#include "unpack_test.hpp"

using namespace ctk;
using namespace ctk::test;
using engine::JsonEdit;

namespace {

class HostConfigFile : public UnpackTest {
protected:
    // config.json of img-unpack given `args` and the HostConfig `host`, in TMP/new/b
    Json unpack_new(const Json& host, std::vector<std::string> args) {
        write_file_atomic(tmp() + "/hostconfig.json", host.dump());
        args.insert(args.end(), {"--host-config", tmp() + "/hostconfig.json", "--etc-files", tmp() + "/etc",
                                 "--image", image("tiny", "latest")});
        unpack_ok(args, tmp() + "/new/b", {"sh", "-c", "true"});
        return read_json_file(tmp() + "/new/b/config.json");
    }
    // the previous path: the single-setting options, then ctl's edits, in TMP/old/b
    Json unpack_old(std::vector<std::string> args, const std::vector<JsonEdit>& edits) {
        args.insert(args.end(), {"--image", image("tiny", "latest")});
        unpack_ok(args, tmp() + "/old/b", {"sh", "-c", "true"});
        Json doc = read_json_file(tmp() + "/old/b/config.json");
        engine::apply_edits(doc, edits);
        // jq's del() left an empty map where the typed spec writes none (runtime-spec: the same)
        if (doc["linux"].contains("sysctl") && doc["linux"]["sysctl"].empty()) doc["linux"].erase("sysctl");
        return doc;
    }
    std::vector<JsonEdit> etc_mounts() {
        std::vector<JsonEdit> e;
        for (const char* f : {"hostname", "hosts", "resolv.conf"})
            e.push_back({JsonEdit::Op::append, {"mounts"}, "",
                         Json{{"destination", std::string("/etc/") + f}, {"type", "bind"},
                              {"source", tmp() + "/etc/" + f}, {"options", Json::array({"rbind", "rprivate"})}}});
        return e;
    }
};

} // namespace

TEST_F(HostConfigFile, GivesTheConfigJsonCtlsEditsGave) {
    // ctl run --hostname h1 --network n1 -m 64m --memory-swap 128m --cpus 0.5 --pids-limit 100
    //   --ulimit nofile=512:1024 --ulimit nproc=30:40 --sysctl net.ipv4.ip_forward=1 --group-add 10
    //   --group-add 4 --cgroup-parent ctkparent --read-only --cap-add NET_ADMIN --cap-drop MKNOD
    //   --security-opt no-new-privileges --pid host --ipc host --device /dev/null:/dev/n1:rw
    Json host = Json::parse(R"({
        "NetworkMode": "n1", "Memory": 67108864, "MemorySwap": 134217728, "NanoCpus": 500000000,
        "PidsLimit": 100, "Ulimits": [{"Name": "nofile", "Soft": 512, "Hard": 1024}, {"Name": "nproc", "Soft": 30, "Hard": 40}],
        "Sysctls": {"net.ipv4.ip_forward": "1"}, "GroupAdd": ["10", "4"], "CgroupParent": "ctkparent",
        "ReadonlyRootfs": true, "CapAdd": ["CAP_NET_ADMIN"], "CapDrop": ["CAP_MKNOD"],
        "SecurityOpt": ["no-new-privileges"], "PidMode": "host", "IpcMode": "host",
        "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n1", "CgroupPermissions": "rw"}],
        "Binds": null, "PortBindings": {}, "Dns": [], "ExtraHosts": ["x:1.2.3.4"], "RestartPolicy": {"Name": "no"}})");
    std::string netns = "/run/ctk/netns/0123abcd";
    Json now = unpack_new(host, {"--hostname", "h1", "--netns", netns, "--cgroup-name", "0123abcd"});

    struct stat st {};
    ASSERT_EQ(::stat("/dev/null", &st), 0);
    std::vector<JsonEdit> edits = etc_mounts();
    auto set = [&](std::vector<std::string> path, Json v) { edits.push_back({JsonEdit::Op::set, std::move(path), "", std::move(v)}); };
    edits.push_back({JsonEdit::Op::set_namespace, {}, "network", netns});
    edits.push_back({JsonEdit::Op::remove_namespace, {}, "pid", nullptr});
    edits.push_back({JsonEdit::Op::remove_namespace, {}, "ipc", nullptr});
    edits.push_back({JsonEdit::Op::append, {"mounts"}, "",
                     Json{{"destination", "/dev/shm"}, {"type", "bind"}, {"source", "/dev/shm"},
                          {"options", Json::array({"rbind", "rprivate"})}}});
    edits.push_back({JsonEdit::Op::append, {"linux", "devices"}, "",
                     Json{{"path", "/dev/n1"}, {"type", "c"}, {"major", major(st.st_rdev)}, {"minor", minor(st.st_rdev)},
                          {"fileMode", st.st_mode & 07777}, {"uid", 0}, {"gid", 0}}});
    edits.push_back({JsonEdit::Op::append, {"linux", "resources", "devices"}, "",
                     Json{{"allow", true}, {"type", "c"}, {"major", major(st.st_rdev)}, {"minor", minor(st.st_rdev)},
                          {"access", "rw"}}});
    set({"linux", "resources", "memory", "limit"}, 67108864);
    set({"linux", "resources", "memory", "swap"}, 134217728);
    set({"linux", "resources", "cpu", "period"}, 100000);
    set({"linux", "resources", "cpu", "quota"}, 50000);
    set({"linux", "resources", "pids", "limit"}, 100);
    edits.push_back({JsonEdit::Op::set_rlimit, {}, "RLIMIT_NOFILE", Json{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 512}}});
    edits.push_back({JsonEdit::Op::set_rlimit, {}, "RLIMIT_NPROC", Json{{"type", "RLIMIT_NPROC"}, {"hard", 40}, {"soft", 30}}});
    set({"linux", "sysctl", "net.ipv4.ip_forward"}, "1");
    edits.push_back({JsonEdit::Op::append, {"process", "user", "additionalGids"}, "", 10});
    edits.push_back({JsonEdit::Op::append, {"process", "user", "additionalGids"}, "", 4});
    set({"linux", "cgroupsPath"}, "ctkparent/0123abcd");
    Json before = unpack_old({"--hostname", "h1", "--read-only", "--cap-add", "CAP_NET_ADMIN", "--cap-drop", "CAP_MKNOD",
                              "--no-new-privileges"},
                             edits);
    EXPECT_EQ(now.dump(2), before.dump(2));
    // and it is what the flags ask for, not only the same as before
    EXPECT_EQ(now["linux"]["cgroupsPath"], "ctkparent/0123abcd");
    EXPECT_EQ(now["linux"]["resources"]["memory"]["limit"], 67108864);
    EXPECT_EQ(now["root"]["readonly"], true);
}

TEST_F(HostConfigFile, HostNetworkAsCtlsEditsGaveAndSeccompUnconfined) {
    // ctl run --network host --security-opt seccomp=unconfined --cap-drop ALL --cap-add CHOWN
    Json host = Json::parse(R"({"NetworkMode": "host", "SecurityOpt": ["seccomp=unconfined"],
                                "CapDrop": ["ALL"], "CapAdd": ["CAP_CHOWN"]})");
    Json now = unpack_new(host, {"--cgroup-name", "4567"});
    std::vector<JsonEdit> edits = etc_mounts();
    edits.push_back({JsonEdit::Op::remove_namespace, {}, "network", nullptr});
    edits.push_back({JsonEdit::Op::remove_namespace, {}, "uts", nullptr});
    edits.push_back({JsonEdit::Op::remove, {"hostname"}, "", nullptr});
    for (const char* k : {"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})
        edits.push_back({JsonEdit::Op::remove, {"linux", "sysctl", k}, "", nullptr});
    edits.push_back({JsonEdit::Op::set, {"linux", "cgroupsPath"}, "", "ctk/4567"});
    Json before = unpack_old({"--seccomp", "unconfined", "--cap-drop", "ALL", "--cap-add", "CAP_CHOWN"}, edits);
    EXPECT_EQ(now.dump(2), before.dump(2));
    EXPECT_FALSE(now["linux"].contains("seccomp"));
    EXPECT_FALSE(now.contains("hostname"));
}

TEST_F(HostConfigFile, OptionsAddToTheFileAndABadFileIsRefused) {
    Json now = unpack_new(Json::parse(R"({"CapDrop": ["ALL"], "CapAdd": ["CAP_CHOWN"]})"), {"--cap-add", "KILL", "--read-only"});
    EXPECT_EQ(now["process"]["capabilities"]["bounding"], Json({"CAP_CHOWN", "CAP_KILL"}));
    EXPECT_EQ(now["root"]["readonly"], true);
    write_file_atomic(tmp() + "/bad.json", "{\"Memory\": ");
    ToolResult r = unpack({"--host-config", tmp() + "/bad.json", "--image", image("tiny", "latest"), tmp() + "/x"});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_FALSE(exists(tmp() + "/x"));
    write_file_atomic(tmp() + "/dev.json", R"({"Devices": [{"PathOnHost": "/etc/passwd"}]})");
    r = unpack({"--host-config", tmp() + "/dev.json", "--image", image("tiny", "latest"), tmp() + "/y"});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_NE(r.err.find("/etc/passwd"), std::string::npos) << r.err;
    EXPECT_FALSE(exists(tmp() + "/y"));
}
