// The write side's library: the layout's index edits, lookups by manifest
// digest, the roll-back of a failed change, the docker-archive reader's links.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "image/docker_archive.hpp"
#include "image/image_store.hpp"
#include "image/pack.hpp"
#include "oci/media_types.hpp"
#include "tar_builder.hpp"

using namespace ctk;
using namespace ctk::image;

namespace {

struct PackTest : ::testing::Test {
    TempDir dir{"ipack"};
    ImageStore store = ImageStore::at_layout(dir.path() + "/layout");

    // A one-layer image from a directory, written with the library as img-pack commit does.
    CommitResult commit(const std::vector<std::string>& tags, const std::string& file = "hi") {
        std::string up = dir.path() + "/up-" + file;
        make_dirs(up);
        write_file_atomic(up + "/" + file, file);
        CommitRequest r;
        r.base = "scratch";
        r.layer.upper = up;
        r.tags = tags;
        r.created = "2026-01-01T00:00:00Z";
        return commit_image(store, r, {});
    }
    size_t blobs() {
        size_t n = 0;
        for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/layout/blobs/sha256")) n += !e.path().empty();
        return n;
    }
};

} // namespace

TEST_F(PackTest, IndexEditsMoveNamesAndKeepOneUntaggedEntry) {
    oci::Index index;
    oci::Descriptor a, b;
    a.digest = Digest::sha256_of("a");
    b.digest = Digest::sha256_of("b");
    a.media_type = b.media_type = std::string(oci::media::oci_manifest);
    index_add(index, a, {});
    index_add(index, a, {});
    EXPECT_EQ(index.manifests.size(), 1u);
    index_add(index, a, {"docker.io/library/x:1"});
    EXPECT_EQ(index.manifests.size(), 1u) << "the untagged entry is redundant once tagged";
    index_add(index, b, {"docker.io/library/x:1", "docker.io/library/y:1"});
    ASSERT_EQ(index.manifests.size(), 2u);
    EXPECT_EQ(index.manifests[0].digest, b.digest);
    EXPECT_TRUE(index_untag(index, "docker.io/library/y:1"));
    EXPECT_FALSE(index_untag(index, "docker.io/library/y:1"));
    index_remove(index, {b});
    EXPECT_TRUE(index.manifests.empty());
}

TEST_F(PackTest, ManifestDigestsFindImagesNoEntryLists) {
    CommitResult c = commit({"x:1"});
    std::string m = c.manifest.digest.str();
    EXPECT_EQ(store.get("@" + m).id, c.id.str());
    untag_references(store, {"x:1"});
    EXPECT_TRUE(store.list().empty());
    EXPECT_EQ(store.get("@" + m).id, c.id.str());
    EXPECT_EQ(store.get(m).id, c.id.str());
    EXPECT_TRUE(store.get("@" + m).entries.empty());
    EXPECT_THROW(store.get("@sha256:" + std::string(64, '0')), Error);
    EXPECT_THROW(store.get("@nonsense"), Error);
    // the config blob is not a manifest
    try {
        store.get("@" + c.id.str());
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid) << e.what();
    }
    // rm of such an image removes its blobs
    remove_images(store, {"@" + m}, false);
    EXPECT_EQ(blobs(), 0u);
}

TEST_F(PackTest, AFailedChangeTakesItsBlobsBack) {
    commit({"x:1"});
    size_t before = blobs();
    std::string index = read_file(dir.path() + "/layout/index.json");
    {
        LayoutChange change(store.layout());
        change.write_blob("{\"not\":\"kept\"}", "application/json");
        change.index().manifests.clear();
        EXPECT_EQ(blobs(), before + 1);
    }
    EXPECT_EQ(blobs(), before);
    EXPECT_EQ(read_file(dir.path() + "/layout/index.json"), index);
    CommitRequest r;
    r.base = "x:1";
    r.layer.upper = dir.path() + "/up-hi";
    r.changes = {"RUN nope"};
    EXPECT_THROW(commit_image(store, r, {}), Error);
    EXPECT_EQ(blobs(), before);
}

TEST_F(PackTest, TheArchiveReaderFollowsLinksAndChecksNames) {
    std::string layer = test::TarBuilder().file("f", "x").str();
    std::string diff = Digest::sha256_of(layer).str();
    std::string cfg = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" + diff + R"("]}})";
    std::string hex = Digest::sha256_of(cfg).encoded();
    std::string manifest = R"([{"Config":")" + hex + R"(.json","RepoTags":["a:1"],"Layers":["l1/layer.tar"]},)" +
                           R"({"Config":")" + hex + R"(.json","Layers":["l2/layer.tar"]}])";
    std::string tar = test::TarBuilder()
                          .file("l1/layer.tar", layer)
                          .symlink("l2/layer.tar", "../l1/layer.tar")
                          .file(hex + ".json", cfg)
                          .file("manifest.json", manifest)
                          .str();
    write_file_atomic(dir.path() + "/a.tar", tar);
    DockerArchive a = DockerArchive::open(dir.path() + "/a.tar");
    ASSERT_EQ(a.images().size(), 2u);
    EXPECT_EQ(a.images()[0].repo_tags, std::vector<std::string>{"a:1"});
    EXPECT_EQ(a.images()[1].layers[0].member.offset, a.images()[0].layers[0].member.offset);
    EXPECT_EQ(a.read(a.images()[1].layers[0].member, "l2"), layer);
    EXPECT_EQ(a.images()[0].config_digest.encoded(), hex);
    // a config that is not what its name says
    std::string bad = test::TarBuilder().file(hex + ".json", cfg + " ").file("manifest.json", manifest).str();
    write_file_atomic(dir.path() + "/b.tar", bad);
    EXPECT_THROW(DockerArchive::open(dir.path() + "/b.tar"), Error);
}
