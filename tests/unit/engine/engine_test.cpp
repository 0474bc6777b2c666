// The engine's plans, built in explain mode: no tool runs, the script shows
// what would.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "engine/engine.hpp"
#include "image/pack.hpp"

using namespace ctk;
using namespace ctk::engine;

namespace {
struct EngineTest : ::testing::Test {
    TempDir dir{"engine"};
    store::Paths paths{dir.path() + "/root", dir.path() + "/run"};
    Engine engine{paths};
    std::string image_id;

    void SetUp() override {
        write_file_atomic(dir.path() + "/ctk.json", R"({"network": {"dns": [], "default_subnet": "10.219.0.0/16"}})");
        ::setenv("CTK_CONFIG", (dir.path() + "/ctk.json").c_str(), 1);
        make_dirs(dir.path() + "/rootfs/bin");
        write_file_atomic(dir.path() + "/rootfs/bin/sh", "", 0755);
        image::ImportRequest o;
        o.source = dir.path() + "/rootfs";
        o.reference = "127.0.0.1:5000/tiny:latest";
        o.changes = {"CMD [\"sh\"]", "ENV PATH=/bin"};
        image_id = image::import_image(engine.images(), o).value("id", "");
    }
    void TearDown() override { ::unsetenv("CTK_CONFIG"); }

    std::string explain_run(RunFlags f, bool attach = true) {
        Plan p = engine.new_plan("test");
        engine.explain_into(&p);
        StartOptions o;
        o.attach = attach;
        engine.run(request_from_flags(f), o);
        engine.explain_into(nullptr);
        return render_script(p);
    }
};
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
} // namespace

TEST_F(EngineTest, ExplainedRunShowsEveryToolInOrder) {
    RunFlags f;
    f.image = "127.0.0.1:5000/tiny";
    f.command = {"echo", "hi"};
    f.rm = true;
    f.name = "web";
    f.publish = {"127.0.0.1:8080:80"};
    f.volumes = {"data:/data"};
    f.memory = "64m";
    std::string s = explain_run(f);
    // the rollback trap (ctl's rollback: delete, detach, release, rm) is armed
    // before the first tool and disarmed once the container is ready
    size_t armed = s.find("trap rollback EXIT"), ready = s.find("trap - EXIT");
    size_t unpack = s.find("img-unpack --image"), attach = s.find("net-bridge attach bridge"),
           vol = s.find("vol-mount apply"), run = s.find(" run --bundle"), del = s.find(" delete --force", ready),
           detach = s.find("net-bridge detach bridge", ready), release = s.find("img-unpack --release", ready),
           rm = s.find("rm -rf \"${C}\"", ready);
    ASSERT_NE(unpack, std::string::npos) << s;
    EXPECT_LT(armed, unpack) << s;
    EXPECT_LT(vol, ready) << s;
    EXPECT_LT(ready, run) << s;
    EXPECT_LT(s.find("net-bridge detach bridge"), armed) << "the rollback detaches\n" << s;
    EXPECT_LT(unpack, attach);
    EXPECT_LT(attach, vol);
    EXPECT_LT(vol, run);
    EXPECT_EQ(del, std::string::npos) << "a foreground ns-run run deletes the container itself\n" << s;
    EXPECT_LT(run, detach);
    EXPECT_LT(detach, release);
    EXPECT_LT(release, rm);
    EXPECT_TRUE(has(s, "127.0.0.1:5000/tiny:latest\" --mode overlay --hostname ")) << s;
    EXPECT_TRUE(has(s, " -- \"${C}/bundle\" echo hi")) << s;
    EXPECT_TRUE(has(s, "--name web --publish 127.0.0.1:8080:80")) << s;
    EXPECT_TRUE(has(s, "-v data:/data")) << s;
    // docker run's settings reach config.json through img-unpack --host-config, not edits afterwards
    EXPECT_LT(s.find("cat > \"${C}/hostconfig.json\""), unpack) << s;
    EXPECT_TRUE(has(s, "\"Memory\":67108864")) << s;
    EXPECT_TRUE(has(s, "--host-config \"${C}/hostconfig.json\" --netns \"${CTK_RUN}/netns/${ID}\" "
                       "--etc-files \"${C}\" --cgroup-name \"${ID}\" --")) << s;
    EXPECT_FALSE(has(s, "bundle/config.json")) << s;
    EXPECT_TRUE(has(s, "|| status=$?")) << s;
    EXPECT_TRUE(has(s, "exit \"$status\"")) << s;
    // explain changes nothing
    EXPECT_TRUE(engine.containers().list().empty());
}

TEST_F(EngineTest, ExplainedDetachedRemoveRunsInTheBackground) {
    RunFlags f;
    f.image = "127.0.0.1:5000/tiny";
    f.rm = true;
    f.detach = true;
    f.networks = {"none"};
    std::string s = explain_run(f, false);
    EXPECT_TRUE(has(s, "run --detach --monitor --bundle")) << s;
    EXPECT_TRUE(has(s, ") </dev/null >/dev/null 2>&1 &")) << s;
    EXPECT_FALSE(has(s, "net-bridge attach")) << s;
    EXPECT_FALSE(has(s, "unshare")) << s;
}

TEST_F(EngineTest, HostAndContainerNetworkModes) {
    RunFlags f;
    f.image = "127.0.0.1:5000/tiny";
    f.networks = {"host"};
    std::string s = explain_run(f);
    EXPECT_TRUE(has(s, "\"NetworkMode\":\"host\"")) << s; // img-unpack leaves the host's namespaces
    EXPECT_FALSE(has(s, "--netns")) << s;
    EXPECT_FALSE(has(s, "net-bridge attach")) << s;
}

TEST_F(EngineTest, RunOptionsGoToImgUnpackAsItsHostConfig) {
    RunFlags f;
    f.image = "127.0.0.1:5000/tiny";
    f.networks = {"none"};
    f.cap_add = {"NET_ADMIN"};
    f.cap_drop = {"MKNOD"};
    f.security_opt = {"no-new-privileges", "seccomp=unconfined"};
    f.read_only = true;
    f.pids_limit = 50;
    f.cpus = "0.5";
    f.workdir = "/tmp";
    f.env = {"X=1"};
    f.user = "nobody";
    f.tty = true;
    f.init = true;
    std::string s = explain_run(f);
    EXPECT_TRUE(has(s, "--user nobody --hostname ")) << s;
    EXPECT_TRUE(has(s, "--workdir /tmp --host-config \"${C}/hostconfig.json\" --etc-files \"${C}\" "
                       "--cgroup-name \"${ID}\" --env X=1 --tty --")) << s;
    for (const char* field : {"\"CapAdd\":[\"CAP_NET_ADMIN\"]", "\"CapDrop\":[\"CAP_MKNOD\"]", "\"ReadonlyRootfs\":true",
                              "\"SecurityOpt\":[\"no-new-privileges\",\"seccomp=unconfined\"]", "\"PidsLimit\":50",
                              "\"NanoCpus\":500000000"})
        EXPECT_TRUE(has(s, field)) << field << "\n" << s;
    EXPECT_TRUE(has(s, " run --keep --init --bundle")) << s;
}

TEST_F(EngineTest, RecordMergesImageDefaultsLikeDocker) {
    // a real create needs the tools; prepare the record through explain and read the script's record
    RunFlags f;
    f.image = "127.0.0.1:5000/tiny";
    f.env = {"A=1"};
    f.networks = {"none"};
    std::string s = explain_run(f);
    auto start = s.find("<<'EOF'\n{");
    ASSERT_NE(start, std::string::npos) << s;
    start = s.find('{', start);
    Json rec = Json::parse(s.substr(start, s.find('\n', start) - start));
    EXPECT_EQ(rec["Path"], "sh");
    EXPECT_EQ(rec["Args"], Json::array());
    EXPECT_EQ(rec["Config"]["Env"], Json::array({"PATH=/bin", "A=1"}));
    EXPECT_EQ(rec["Config"]["Cmd"], Json::array({"sh"}));
    EXPECT_EQ(rec["Image"], image_id);
    EXPECT_EQ(rec["Ctk"]["Setup"], "creating");
    EXPECT_EQ(rec["Config"]["Hostname"], rec["Id"].get<std::string>().substr(0, 12));
}

TEST_F(EngineTest, MissingImageIsPulledInTheScript) {
    RunFlags f;
    f.image = "127.0.0.1:5000/other:v2";
    f.networks = {"none"};
    std::string s = explain_run(f);
    EXPECT_TRUE(has(s, "reg-fetch pull --quiet 127.0.0.1:5000/other:v2")) << s;
}

TEST_F(EngineTest, NoCommandIsAnError) {
    image::ImportRequest o;
    o.source = dir.path() + "/rootfs";
    o.reference = "nocmd";
    image::import_image(engine.images(), o);
    RunFlags f;
    f.image = "nocmd";
    EXPECT_THROW(explain_run(f), Error);
}

TEST_F(EngineTest, FieldsOfTheWrongJsonTypeAreInvalidNotInternal) {
    // docker's decoder answers 400 for these; found by the create_body fuzzer
    for (const char* host : {R"({"PortBindings":{"80/tcp":[1]}})", R"({"PortBindings":[1]})"}) {
        CreateRequest cr;
        cr.config = {{"Image", "127.0.0.1:5000/tiny"}};
        cr.host_config = Json::parse(host);
        Plan p;
        engine.explain_into(&p);
        try {
            (void)engine.create(cr);
            ADD_FAILURE() << host << " was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid) << host << ": " << e.what();
        }
        engine.explain_into(nullptr);
    }
}
