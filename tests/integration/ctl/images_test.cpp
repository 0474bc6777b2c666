// Images through ctl: import, load/save interchangeable with skopeo's
// docker-archive, images/inspect/tag/rmi in Docker's shapes.
#include <gtest/gtest.h>

#include "core/digest.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class CtlImages : public CtlTest {
protected:
    std::string tiny_config_digest() {
        // the fixture's manifest names its config: the image ID docker and ctl show
        Json index = read_json_file(fixture_layout("tiny") + "/index.json");
        std::string m;
        for (const auto& d : index["manifests"])
            if (d["annotations"]["org.opencontainers.image.ref.name"] == "latest") m = d["digest"];
        Json manifest = read_json_file(fixture_layout("tiny") + "/blobs/sha256/" + m.substr(7));
        return manifest["config"]["digest"];
    }
};
} // namespace

TEST_F(CtlImages, LoadOfASkopeoDockerArchiveKeepsTheImageId) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    auto r = ctl({"images", "--no-trunc", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, registry() + "/tiny latest " + tiny_config_digest() + "\n");
    auto q = ctl({"images", "-q"});
    EXPECT_EQ(q.out, tiny_config_digest().substr(7, 12) + "\n");
    auto t = ctl({"images"});
    EXPECT_EQ(t.out.rfind("REPOSITORY            TAG       IMAGE ID       CREATED", 0), 0u) << t.out;
    EXPECT_NE(t.out.find(registry() + "/tiny   latest    " + tiny_config_digest().substr(7, 12) + "   "),
              std::string::npos)
        << t.out;
}

TEST_F(CtlImages, SaveIsReadBySkopeoWithTheSameDigests) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    auto s = ctl({"save", "-o", tmp() + "/out.tar", tiny()});
    ASSERT_EQ(s.status, 0) << s;
    // skopeo reads it (and checks every digest on the way)
    auto c = run_command({"skopeo", "copy", "-q", "docker-archive:" + tmp() + "/out.tar", "oci:" + tmp() + "/back:x"});
    ASSERT_EQ(c.status, 0) << c;
    // the same config bytes: the same image ID
    auto insp = run_command({"skopeo", "inspect", "--raw", "--config", "docker-archive:" + tmp() + "/out.tar"});
    ASSERT_EQ(insp.status, 0) << insp;
    EXPECT_EQ(Digest::sha256_of(insp.out).str(), tiny_config_digest());
    // each layer is stored uncompressed: its digest is its diff_id
    Json cfg = Json::parse(insp.out);
    auto m = run_command({"skopeo", "inspect", "--raw", "docker-archive:" + tmp() + "/out.tar"});
    Json manifest = Json::parse(m.out);
    EXPECT_EQ(manifest["layers"][0]["digest"], cfg["rootfs"]["diff_ids"][0]);
    // a second store loads ctl's archive (also from stdin) to the same ID
    auto l = run_command({"sh", "-c", "CTK_ROOT=" + tmp() + "/root2 " + tool_path("ctl") + " load < " + tmp() + "/out.tar"});
    ASSERT_EQ(l.status, 0) << l;
    EXPECT_EQ(l.out, "Loaded image: " + tiny() + "\n");
}

TEST_F(CtlImages, ImportOfARootfsTarballAndADirectory) {
    CTK_REQUIRE_ROOT();
    make_dirs(tmp() + "/rootfs/bin");
    make_dirs(tmp() + "/rootfs/etc");
    write_file_atomic(tmp() + "/rootfs/etc/motd", "hello\n");
    ASSERT_EQ(run_command({"tar", "-czf", tmp() + "/rootfs.tgz", "-C", tmp() + "/rootfs", "."}).status, 0);
    auto a = ctl({"import", "-c", "CMD [\"cat\", \"/etc/motd\"]", "-m", "from a tarball", tmp() + "/rootfs.tgz", "motd:v1"});
    ASSERT_EQ(a.status, 0) << a;
    std::string id = std::string(trim(a.out));
    EXPECT_EQ(id.rfind("sha256:", 0), 0u);
    auto b = ctl({"import", tmp() + "/rootfs", "motd:dir"});
    ASSERT_EQ(b.status, 0) << b;
    auto f = ctl({"inspect", "-f", "{{.Config.Cmd}} {{.Comment}} {{len .RootFS.Layers}} {{.Os}}", "motd:v1"});
    EXPECT_EQ(f.out, "[cat /etc/motd] from a tarball 1 linux\n") << f;
    // from stdin, untagged: listed as <none>
    auto c = run_command({"sh", "-c", tool_path("ctl") + " import - < " + tmp() + "/rootfs.tgz"}, "",
                         {"CTK_CONFIG=" + config_path()});
    ASSERT_EQ(c.status, 0) << c;
    auto list = ctl({"images", "--format", "{{.Repository}}:{{.Tag}}"});
    EXPECT_NE(list.out.find("motd:v1\n"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("<none>:<none>\n"), std::string::npos) << list.out;
    auto bad = ctl({"import", "-c", "RUN make", tmp() + "/rootfs.tgz"});
    EXPECT_EQ(bad.status, 1) << bad;
}

TEST_F(CtlImages, TagInspectAndRmi) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    ASSERT_EQ(ctl({"tag", tiny(), "mytiny:1"}).status, 0);
    auto i = ctl({"image", "inspect", "mytiny:1"});
    ASSERT_EQ(i.status, 0) << i;
    Json j = i.json();
    ASSERT_TRUE(j.is_array());
    EXPECT_EQ(j[0]["Id"], tiny_config_digest());
    EXPECT_EQ(j[0]["RepoTags"], Json::array({registry() + "/tiny:latest", "mytiny:1"}));
    EXPECT_EQ(j[0]["Config"]["Cmd"], Json::array({"sh"}));
    EXPECT_EQ(j[0]["RootFS"]["Type"], "layers");
    // by ID with two names: docker's conflict
    auto r = ctl({"rmi", tiny_config_digest().substr(7, 12)});
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_NE(r.err.find("must be forced"), std::string::npos) << r.err;
    r = ctl({"rmi", "mytiny:1"});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "Untagged: mytiny:1");
    r = ctl({"rmi", tiny()});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find("Deleted: " + tiny_config_digest()), std::string::npos) << r.out;
    EXPECT_EQ(ctl({"images", "-q"}).out, "");
    // the blobs went with it
    auto blobs = run_command({"sh", "-c", "ls " + ctk_root() + "/images/blobs/sha256 | wc -l"});
    EXPECT_EQ(trim(blobs.out), "0");
    auto missing = ctl({"inspect", "nosuch:image"});
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("No such object: nosuch:image"), std::string::npos) << missing.err;
}

TEST_F(CtlImages, UsageErrorsExit125) {
    auto r = ctl({"images", "--bogus"});
    EXPECT_EQ(r.status, 125) << r;
    r = ctl({"run"});
    EXPECT_EQ(r.status, 125) << r;
    // a filter the engine does not know is the daemon's refusal in docker (exit 1, "invalid filter"),
    // the same through both of ctl's faces (tests/integration/ctld/faces_test.cpp)
    r = ctl({"images", "--filter", "color=red"});
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_NE(r.err.find("invalid filter 'color'"), std::string::npos) << r;
    r = ctl({"nosuchverb"});
    EXPECT_EQ(r.status, 125) << r;
}

namespace ctk::test {
namespace {
class CtlPull : public CtlTest {};

// dockerd's words: a name that pointed nowhere (or elsewhere) before is
// "Downloaded newer image", a second pull of the same digest "Image is up to date"
TEST_F(CtlPull, StatusSaysWhetherTheImageIsNew) {
    CTK_REQUIRE_ROOT();
    ToolResult first = ctl({"pull", tiny()});
    ASSERT_EQ(first.status, 0) << first;
    EXPECT_NE(first.out.find("Status: Downloaded newer image for " + tiny() + "\n"), std::string::npos) << first.out;
    ToolResult again = ctl({"pull", tiny()});
    ASSERT_EQ(again.status, 0) << again;
    EXPECT_NE(again.out.find("Status: Image is up to date for " + tiny() + "\n"), std::string::npos) << again.out;
    EXPECT_EQ(first.out.substr(0, first.out.find('\n')), again.out.substr(0, again.out.find('\n'))) << "the same digest";
}
} // namespace
} // namespace ctk::test
