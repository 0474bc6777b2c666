// examples/admin: the sysadmin scripts run as a user would, against the
// test's store, the fixture registry and a second loopback registry the test
// starts (and stops by pid).
#include <sys/stat.h>

#include <algorithm>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "support.hpp"
#include "tool_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

std::string trimmed(const std::string& s) { return std::string(trim(s)); }

class AdminExamples : public ToolTest {
protected:
    static std::string script(const std::string& name) { return source_dir() + "/examples/admin/" + name; }
    ToolResult ctl(const std::vector<std::string>& args) { return run("ctl", args); }
    std::string tiny() { return registry() + "/tiny:latest"; }
    // A second registry, stopped by its pid when the test ends.
    std::string second_registry() {
        second_ = start_registry(tmp() + "/registry2", "");
        defer([this] { second_.reset(); }); // before the leak check
        return second_->address();
    }
    std::string sha256_of_manifest(const std::string& ref) {
        auto r = run_command({"sh", "-c", "skopeo inspect --raw --tls-verify=false docker://" + ref + " | sha256sum"});
        EXPECT_EQ(r.status, 0) << r;
        return r.out.substr(0, 64);
    }
    std::unique_ptr<RegistryInstance> second_;
};

} // namespace

TEST_F(AdminExamples, VolumeBackupAndRestoreKeepDataOwnersAndModes) {
    ASSERT_EQ(ctl({"run", "--rm", "--network", "none", "-v", "data:/data", tiny(), "sh", "-c",
                   "echo hello >/data/a; mkdir /data/d; echo x >/data/d/b; chown 1234:5678 /data/d/b; "
                   "chmod 640 /data/d/b"}).status, 0);
    std::string backup = tmp() + "/data.tar.gz";
    auto r = run_command({script("volume-backup.sh"), "backup", "data", backup});
    ASSERT_EQ(r.status, 0) << r;
    ASSERT_EQ(ctl({"volume", "rm", "data"}).status, 0);
    r = run_command({script("volume-backup.sh"), "restore", "data", backup});
    ASSERT_EQ(r.status, 0) << r;
    std::string dir = trimmed(ctl({"volume", "inspect", "--format", "{{.Mountpoint}}", "data"}).out);
    EXPECT_EQ(read_file(dir + "/a"), "hello\n");
    struct stat st {};
    ASSERT_EQ(::stat((dir + "/d/b").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    // What the container sees after the restore.
    auto seen = ctl({"run", "--rm", "--network", "none", "-v", "data:/data", tiny(), "cat", "/data/a", "/data/d/b"});
    EXPECT_EQ(seen.out, "hello\nx\n") << seen;

    // A restore replaces the content; refused while a running container uses the volume.
    ASSERT_EQ(ctl({"run", "--rm", "--network", "none", "-v", "data:/data", tiny(), "touch", "/data/new"}).status, 0);
    ASSERT_EQ(run_command({script("volume-backup.sh"), "restore", "data", backup}).status, 0);
    EXPECT_NE(::access((dir + "/new").c_str(), F_OK), 0) << "restore left a file the backup does not have";
    std::string name = "ctkt-" + std::to_string(::getpid()) + "-vol";
    ASSERT_EQ(ctl({"run", "-d", "--name", name, "--network", "none", "-v", "data:/data", tiny(), "sleep", "1000"}).status, 0);
    defer([this, name] { ctl({"rm", "-f", name}); });
    r = run_command({script("volume-backup.sh"), "restore", "data", backup});
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_NE(r.err.find("in use by running containers"), std::string::npos) << r;
    EXPECT_EQ(run_command({script("volume-backup.sh"), "restore", "data", tmp() + "/missing.tar.gz"}).status, 1);
}

TEST_F(AdminExamples, PortsAndHealthAsJson) {
    std::string pid = std::to_string(::getpid());
    ASSERT_EQ(ctl({"create", "--name", "ctkt-" + pid + "-web", "--network", "none", "-p", "127.0.0.1:18093:80",
                   "-p", "18094:53/udp", tiny(), "sleep", "1"}).status, 0);
    ASSERT_EQ(ctl({"create", "--name", "ctkt-" + pid + "-plain", "--network", "none", tiny(), "true"}).status, 0);
    defer([this, pid] { ctl({"rm", "-f", "ctkt-" + pid + "-web", "ctkt-" + pid + "-plain"}); });
    auto r = run_command({script("ports-health.sh")});
    ASSERT_EQ(r.status, 0) << r;
    Json list = r.json();
    ASSERT_TRUE(list.is_array()) << r;
    ASSERT_EQ(list.size(), 2u) << r;
    for (const auto& c : list) {
        EXPECT_EQ(c["health"], "none") << c; // no healthchecks in ctk: State.Health is absent
        EXPECT_EQ(c["state"], "created") << c;
        EXPECT_EQ(c["image"], tiny()) << c;
        if (c["name"] == "ctkt-" + pid + "-web") {
            Json want = Json::array({{{"container", "53/udp"}, {"host_ip", ""}, {"host_port", "18094"}},
                                     {{"container", "80/tcp"}, {"host_ip", "127.0.0.1"}, {"host_port", "18093"}}});
            EXPECT_EQ(c["ports"], want) << c;
        } else {
            EXPECT_EQ(c["name"], "ctkt-" + pid + "-plain");
            EXPECT_EQ(c["ports"], Json::array()) << c;
        }
    }
}

TEST_F(AdminExamples, MirrorImagesKeepsDigests) {
    std::string dst = second_registry();
    auto r = run_command({script("mirror-images.sh"), registry(), dst, "tiny:latest", "tiny:multiarch"});
    ASSERT_EQ(r.status, 0) << r;
    for (const char* image : {"tiny:latest", "tiny:multiarch"}) {
        std::string a = sha256_of_manifest(registry() + "/" + image), b = sha256_of_manifest(dst + "/" + image);
        EXPECT_EQ(a, b) << image;
        EXPECT_NE(r.out.find(std::string(image) + ": sha256:" + a), std::string::npos) << r;
    }
    // The index's other platform came along too.
    auto arm = run_command({"skopeo", "inspect", "--tls-verify=false", "--override-arch", "arm64", "--override-variant",
                            "v8", "docker://" + dst + "/tiny:multiarch"});
    EXPECT_EQ(arm.status, 0) << arm;
    r = run_command({script("mirror-images.sh"), registry(), dst, "no-such-image:1"});
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_NE(r.err.find("no-such-image:1: pull from"), std::string::npos) << r;
}

TEST_F(AdminExamples, UpdateContainersRecreatesThoseWithANewerImage) {
    std::string reg = second_registry();
    ASSERT_EQ(run_command({script("mirror-images.sh"), registry(), reg, "tiny:latest"}).status, 0);
    std::string app = reg + "/tiny:latest";
    std::string pid = std::to_string(::getpid());
    std::string a = "ctkt-" + pid + "-app", b = "ctkt-" + pid + "-other";
    defer([this, a, b] { ctl({"rm", "-f", a, b}); });
    ASSERT_EQ(ctl({"run", "-d", "--name", a, "--network", "none", "-p", "127.0.0.1:18095:80", "-e", "FOO=bar",
                   "--label", "x=y", "--init", app, "sleep", "1000"}).status, 0);
    ASSERT_EQ(ctl({"run", "-d", "--name", b, "--network", "none", tiny(), "sleep", "1000"}).status, 0);
    std::string a_id = trimmed(ctl({"inspect", "--format", "{{.Id}}", a}).out);
    std::string b_id = trimmed(ctl({"inspect", "--format", "{{.Id}}", b}).out);

    auto r = run_command({script("update-containers.sh")});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "") << "nothing is newer yet";

    // Someone publishes a new image under the same tag (from a store of their own).
    std::vector<std::string> pub = {"CTK_ROOT=" + tmp() + "/pub/root", "CTK_RUN=" + tmp() + "/pub/run"};
    ASSERT_EQ(run("ctl", {"run", "--name", "ctkt-" + pid + "-pub", "--network", "none", app, "touch", "/new"}, "", pub).status, 0);
    auto committed = run("ctl", {"commit", "ctkt-" + pid + "-pub", app}, "", pub);
    ASSERT_EQ(committed.status, 0) << committed;
    std::string new_image = trimmed(committed.out);
    ASSERT_EQ(run("ctl", {"push", "-q", app}, "", pub).status, 0);
    run("ctl", {"rm", "-f", "ctkt-" + pid + "-pub"}, "", pub);

    r = run_command({script("update-containers.sh"), "--dry-run"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find(a + ": " + app), std::string::npos) << r;
    EXPECT_EQ(r.out.find(b), std::string::npos) << r;
    EXPECT_EQ(trimmed(ctl({"inspect", "--format", "{{.Id}}", a}).out), a_id) << "a dry run changed nothing";

    r = run_command({script("update-containers.sh")});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find(a + ": " + app), std::string::npos) << r;
    Json c = ctl({"inspect", a}).json()[0];
    EXPECT_NE(c["Id"], a_id) << "re-created";
    EXPECT_EQ(c["Image"], new_image);
    EXPECT_EQ(c["State"]["Status"], "running");
    EXPECT_EQ(c["Config"]["Cmd"], Json::array({"sleep", "1000"}));
    auto env = c["Config"]["Env"].get<std::vector<std::string>>();
    EXPECT_NE(std::find(env.begin(), env.end(), "FOO=bar"), env.end()) << c["Config"]["Env"];
    EXPECT_EQ(c["Config"]["Labels"]["x"], "y");
    EXPECT_EQ(c["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"], "18095");
    EXPECT_EQ(c["HostConfig"]["Init"], true);
    EXPECT_EQ(trimmed(ctl({"inspect", "--format", "{{.Id}}", b}).out), b_id) << "the other container was left alone";

    r = run_command({script("update-containers.sh")});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "") << "up to date now";
}
