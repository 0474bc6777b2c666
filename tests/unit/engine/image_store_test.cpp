#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "build/config_change.hpp"
#include "image/docker_save.hpp"
#include "image/pack.hpp"
#include "engine/image_store.hpp"

using namespace ctk;
using namespace ctk::engine;

namespace {
struct ImageTest : ::testing::Test {
    TempDir dir{"istore"};
    store::Paths paths{dir.path() + "/root", dir.path() + "/run"};
    ImageStore store{paths};

    std::string rootfs() {
        std::string r = dir.path() + "/rootfs";
        make_dirs(r + "/bin");
        make_dirs(r + "/etc");
        write_file_atomic(r + "/etc/hostname", "box\n");
        write_file_atomic(r + "/bin/hello", "#!/bin/sh\necho hi\n", 0755);
        ::symlink("hello", (r + "/bin/hi").c_str());
        ::link((r + "/bin/hello").c_str(), (r + "/bin/hello2").c_str());
        return r;
    }
    std::string import(const std::string& ref, std::vector<std::string> changes = {}) {
        image::ImportRequest o;
        o.source = rootfs();
        o.reference = ref;
        o.changes = std::move(changes);
        return image::import_image(store, o).value("id", "");
    }
};
} // namespace

TEST(Changes, DockerfileInstructions) {
    Json c = Json::object();
    build::apply_changes(c, {"CMD [\"sh\", \"-c\", \"echo\"]", "ENTRYPOINT /init", "ENV A=1 B=\"two words\"", "ENV A 3",
                      "EXPOSE 80 53/udp", "LABEL k=v", "USER nobody", "WORKDIR /srv", "VOLUME /data",
                      "STOPSIGNAL SIGINT"});
    EXPECT_EQ(c["Cmd"], Json::array({"sh", "-c", "echo"}));
    EXPECT_EQ(c["Entrypoint"], Json::array({"/bin/sh", "-c", "/init"}));
    EXPECT_EQ(c["Env"], Json::array({"B=two words", "A=3"}));
    EXPECT_TRUE(c["ExposedPorts"].contains("80/tcp"));
    EXPECT_TRUE(c["ExposedPorts"].contains("53/udp"));
    EXPECT_EQ(c["Labels"]["k"], "v");
    EXPECT_EQ(c["User"], "nobody");
    EXPECT_EQ(c["WorkingDir"], "/srv");
    EXPECT_TRUE(c["Volumes"].contains("/data"));
    EXPECT_EQ(c["StopSignal"], "SIGINT");
    EXPECT_THROW(build::apply_changes(c, {"RUN make"}), Error);
}

TEST_F(ImageTest, ImportListFindTagRemove) {
    std::string id = import("127.0.0.1:5000/box:v1", {"CMD [\"/bin/hello\"]"});
    ASSERT_EQ(id.rfind("sha256:", 0), 0u);
    auto all = store.list();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].id, id);
    EXPECT_EQ(all[0].repo_tags(), std::vector<std::string>{"127.0.0.1:5000/box:v1"});
    EXPECT_EQ(all[0].resolved.manifest.layers.size(), 1u);
    EXPECT_EQ(all[0].resolved.config.config.cmd, std::vector<std::string>{"/bin/hello"});

    EXPECT_EQ(store.get("127.0.0.1:5000/box:v1").id, id);
    EXPECT_EQ(store.get(id).id, id);
    EXPECT_EQ(store.get(id.substr(7)).id, id);
    EXPECT_EQ(store.get(id.substr(7, 12)).id, id);
    EXPECT_FALSE(store.find("127.0.0.1:5000/box"));
    EXPECT_THROW(store.get("box"), Error);

    store.tag(id.substr(7, 12), "box");
    EXPECT_EQ(store.get("box").id, id);
    EXPECT_EQ(store.get("docker.io/library/box:latest").id, id);
    Json li = store.list_json(store.get("box"));
    EXPECT_EQ(li["RepoTags"], Json::array({"127.0.0.1:5000/box:v1", "box:latest"}));
    Json ins = store.inspect_json(store.get("box"));
    EXPECT_EQ(ins["Id"], id);
    EXPECT_EQ(ins["Config"]["Cmd"], Json::array({"/bin/hello"}));
    EXPECT_EQ(ins["RootFS"]["Layers"].size(), 1u);
    EXPECT_EQ(ins["Os"], "linux");

    // by ID with two tags: must be forced
    EXPECT_THROW(store.remove(id, false, {}), Error);
    // used by a container: the last tag cannot go unforced
    Json r = store.remove("box", false, {});
    EXPECT_EQ(r[0]["Untagged"], "box:latest");
    EXPECT_THROW(store.remove("127.0.0.1:5000/box:v1", false, [](const std::string&) { return std::string(64, 'a'); }),
                 Error);
    auto blob = store.layout().blob_path(store.get(id).resolved.manifest.layers[0].digest);
    EXPECT_EQ(::access(blob.c_str(), F_OK), 0);
    r = store.remove("127.0.0.1:5000/box:v1", false, {});
    EXPECT_EQ(r.back()["Deleted"], id);
    EXPECT_TRUE(store.list().empty());
    EXPECT_NE(::access(blob.c_str(), F_OK), 0) << "the layer blob stayed behind";
}

TEST_F(ImageTest, ImportOfATarballKeepsEntries) {
    std::string tar = dir.path() + "/rootfs.tar.gz";
    rootfs();
    ProcessResult p = run_process({"tar", "-czf", tar, "-C", dir.path() + "/rootfs", "."});
    ASSERT_EQ(p.status, 0) << p.err;
    image::ImportRequest o;
    o.source = tar;
    o.reference = "fromtar";
    std::string id = image::import_image(store, o).value("id", "");
    auto img = store.get("fromtar");
    // the layer lists the files (check via tar -tz of the blob)
    ProcessResult t = run_process({"tar", "-tzvf", store.layout().blob_path(img.resolved.manifest.layers[0].digest)});
    ASSERT_EQ(t.status, 0) << t.err;
    EXPECT_NE(t.out.find("bin/hello"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("bin/hi -> hello"), std::string::npos) << t.out;
    // The hard link pair stays one: tar stores the name it meets second as a
    // link to the first, and which comes first is the directory's order
    // (another on a 9p overlay, vm-test.sh's guest).
    EXPECT_TRUE(t.out.find("bin/hello2 link to ./bin/hello\n") != std::string::npos ||
                t.out.find("bin/hello link to ./bin/hello2\n") != std::string::npos)
        << t.out;
    EXPECT_EQ(img.resolved.config.history.size(), 1u);
}

TEST_F(ImageTest, SaveLoadRoundTrip) {
    std::string id = import("127.0.0.1:5000/box:v1", {"ENV X=1"});
    std::string tar = dir.path() + "/saved.tar";
    {
        UniqueFd fd(::open(tar.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        image::save_images(store, {"127.0.0.1:5000/box:v1"}, fd.get());
    }
    ProcessResult t = run_process({"tar", "-tf", tar});
    ASSERT_EQ(t.status, 0);
    EXPECT_NE(t.out.find("manifest.json"), std::string::npos);
    EXPECT_NE(t.out.find("repositories"), std::string::npos);
    EXPECT_NE(t.out.find(id.substr(7) + ".json"), std::string::npos);
    EXPECT_NE(t.out.find("/layer.tar"), std::string::npos);
    ProcessResult m = run_process({"tar", "-xOf", tar, "manifest.json"});
    Json manifest = Json::parse(m.out);
    EXPECT_EQ(manifest[0]["RepoTags"], Json::array({"127.0.0.1:5000/box:v1"}));

    // into a fresh store: same image ID (the config bytes are kept), same tag
    store::Paths other{dir.path() + "/root2", dir.path() + "/run2"};
    ImageStore s2(other);
    UniqueFd in(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
    auto loaded = image::load_images(s2, in.get());
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].id, id);
    EXPECT_EQ(loaded[0].tags, std::vector<std::string>{"127.0.0.1:5000/box:v1"});
    auto img = s2.get("127.0.0.1:5000/box:v1");
    EXPECT_EQ(img.id, id);
    EXPECT_EQ(img.resolved.manifest.layers[0].digest, img.resolved.config.diff_ids[0]) << "layer kept uncompressed";
}

TEST_F(ImageTest, LoadRefusesGarbage) {
    std::string f = dir.path() + "/garbage.tar";
    rootfs();
    ASSERT_EQ(run_process({"tar", "-cf", f, "-C", dir.path() + "/rootfs", "."}).status, 0);
    UniqueFd in(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
    try {
        image::load_images(store, in.get());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        EXPECT_NE(std::string(e.what()).find("manifest.json"), std::string::npos);
    }
}
