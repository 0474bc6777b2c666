#include "oci/layout.hpp"

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "core/fs.hpp"
#include "oci/media_types.hpp"

using namespace ctk;
using namespace ctk::oci;

namespace {
// A one-layer image (layer bytes are not a real tar: the layout does not care).
Descriptor add_image(const Layout& l, const std::string& layer_bytes, const std::string& arch = "") {
    Descriptor layer = l.write_blob(layer_bytes, std::string(media::oci_layer));
    ImageConfig cfg;
    cfg.architecture = arch.empty() ? Platform::host().architecture : arch;
    cfg.os = "linux";
    cfg.config.cmd = std::vector<std::string>{"sh"};
    cfg.diff_ids = {layer.digest};
    Descriptor config = l.write_blob(Json(cfg).dump(), std::string(media::oci_config));
    Manifest m;
    m.media_type = media::oci_manifest;
    m.config = config;
    m.layers = {layer};
    return l.write_blob(Json(m).dump(), std::string(media::oci_manifest));
}
} // namespace

TEST(Layout, CreateOpenAndTag) {
    TempDir dir("layout");
    std::string path = dir.path() + "/l";
    Layout l = Layout::create(path);
    EXPECT_TRUE(Layout::exists(path));
    EXPECT_EQ(Json::parse(read_file(path + "/oci-layout"))["imageLayoutVersion"], "1.0.0");
    EXPECT_TRUE(l.read_index().manifests.empty());

    Descriptor m = add_image(l, "layer-one");
    l.tag("127.0.0.1:5000/tiny:latest", m);
    l.tag("other", m);
    Layout again = Layout::open(path);
    auto found = again.find("127.0.0.1:5000/tiny:latest");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->digest, m.digest);
    EXPECT_EQ(found->ref_name(), "127.0.0.1:5000/tiny:latest");

    // Retagging replaces, it does not duplicate.
    Descriptor m2 = add_image(l, "layer-two");
    l.tag("other", m2);
    EXPECT_EQ(l.read_index().manifests.size(), 2u);
    EXPECT_EQ(l.find("other")->digest, m2.digest);
    EXPECT_TRUE(l.untag("other"));
    EXPECT_FALSE(l.untag("other"));
    EXPECT_FALSE(l.find("other"));
}

TEST(Layout, ResolveImage) {
    TempDir dir("layout");
    Layout l = Layout::create(dir.path() + "/l");
    Descriptor m = add_image(l, "abc");
    l.tag("t", m);
    ResolvedImage img = resolve_image(l, "t");
    EXPECT_EQ(img.manifest.layers.size(), 1u);
    EXPECT_EQ(img.config.config.cmd, std::vector<std::string>{"sh"});
    EXPECT_EQ(resolve_image(l, m.digest.str()).manifest_descriptor.digest, m.digest);
    EXPECT_THROW(resolve_image(l, "missing"), Error);
}

TEST(Layout, ResolveIndexByPlatform) {
    TempDir dir("layout");
    Layout l = Layout::create(dir.path() + "/l");
    Descriptor host = add_image(l, "host-layer");
    host.platform = Platform::host();
    Descriptor other = add_image(l, "s390x-layer", "s390x");
    other.platform = Platform::parse("linux/s390x");
    Index idx;
    idx.media_type = media::oci_index;
    idx.manifests = {other, host};
    Descriptor idx_desc = l.write_blob(Json(idx).dump(), std::string(media::oci_index));
    l.tag("multi", idx_desc);
    EXPECT_EQ(resolve_image(l, "multi").manifest_descriptor.digest, host.digest);
    EXPECT_EQ(resolve_image(l, "multi", Platform::parse("linux/s390x")).manifest_descriptor.digest,
              other.digest);
    try {
        resolve_image(l, "multi", Platform::parse("linux/riscv64"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
        EXPECT_NE(std::string(e.what()).find("linux/riscv64"), std::string::npos);
    }
}

TEST(Layout, ReadBlobDetectsTampering) {
    TempDir dir("layout");
    Layout l = Layout::create(dir.path() + "/l");
    Descriptor d = l.write_blob("GOOD-bytes", "application/octet-stream");
    EXPECT_EQ(l.read_blob(d), "GOOD-bytes");
    // Same size, other bytes: the layout must notice.
    std::string p = l.blob_path(d.digest);
    ::chmod(p.c_str(), 0644);
    write_file_atomic(p, "EVIL-bytes");
    try {
        l.read_blob(d);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        EXPECT_NE(std::string(e.what()).find("digest mismatch"), std::string::npos);
    }
    Descriptor wrong_size = d;
    wrong_size.size = 3;
    EXPECT_THROW(l.read_blob(wrong_size), Error);
}

TEST(Layout, BlobWriterVerifiesBeforeCommit) {
    TempDir dir("layout");
    Layout l = Layout::create(dir.path() + "/l");
    Digest want = Digest::sha256_of("expected");
    {
        BlobWriter w = l.begin_blob();
        w.write("something else");
        EXPECT_THROW(w.commit(want), Error);
    }
    EXPECT_FALSE(l.has_blob(want));
    // No temporary file is left behind.
    for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/l"))
        EXPECT_EQ(e.path().filename().string().find(".tmp-blob"), std::string::npos) << e.path();
    {
        BlobWriter w = l.begin_blob();
        w.write("expected");
        EXPECT_EQ(w.commit(want, 8), want);
    }
    EXPECT_TRUE(l.has_blob(want));
}

TEST(Layout, ConcurrentTagsAreAllKept) {
    TempDir dir("layout");
    Layout l = Layout::create(dir.path() + "/l");
    Descriptor m = add_image(l, "x");
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 10; i++) l.tag("tag-" + std::to_string(t) + "-" + std::to_string(i), m);
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(l.read_index().manifests.size(), 80u);
}

TEST(Layout, SplitLayoutRef) {
    TempDir dir("layout");
    std::string path = dir.path() + "/a:b";
    Layout::create(path);
    EXPECT_EQ(split_layout_ref(path + ":latest"), std::make_pair(path, std::string("latest")));
    EXPECT_EQ(split_layout_ref(path + ":127.0.0.1:5000/tiny:latest"),
              std::make_pair(path, std::string("127.0.0.1:5000/tiny:latest")));
    EXPECT_EQ(split_layout_ref("nolayout:tag"), std::make_pair(std::string("nolayout"), std::string("tag")));
    EXPECT_EQ(split_layout_ref("plain"), std::make_pair(std::string("plain"), std::string()));
}

TEST(Layout, OpenRejectsNonLayouts) {
    TempDir dir("layout");
    EXPECT_THROW(Layout::open(dir.path()), Error);
    write_file_atomic(dir.path() + "/oci-layout", R"({"imageLayoutVersion":"2.0.0"})");
    EXPECT_THROW(Layout::open(dir.path()), Error);
}

TEST(Layout, ResumeBlobContinuesWhereTheLastWriterStopped) {
    TempDir dir("layout");
    Layout l = Layout::create(dir.path() + "/l");
    std::string data(100000, 'x');
    for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>('a' + i % 26);
    Digest d = Digest::sha256_of(data);
    {
        auto w = l.resume_blob(d, static_cast<int64_t>(data.size()));
        ASSERT_TRUE(w);
        EXPECT_EQ(w->size(), 0u);
        w->write(data.substr(0, 40000));
        // Destroyed without commit: an interrupted download.
    }
    EXPECT_TRUE(std::filesystem::exists(l.partial_path(d)));
    EXPECT_EQ(std::filesystem::file_size(l.partial_path(d)), 40000u);
    {
        auto w = l.resume_blob(d, static_cast<int64_t>(data.size()));
        ASSERT_TRUE(w);
        EXPECT_EQ(w->size(), 40000u);
        w->write(data.substr(40000));
        EXPECT_EQ(w->commit(d, static_cast<int64_t>(data.size())), d);
    }
    EXPECT_TRUE(l.has_blob(d));
    EXPECT_FALSE(std::filesystem::exists(l.partial_path(d)));
    EXPECT_EQ(read_file(l.blob_path(d)), data);
    // Present now: nothing to write, and no partial file is made.
    EXPECT_FALSE(l.resume_blob(d, static_cast<int64_t>(data.size())));
    EXPECT_FALSE(std::filesystem::exists(l.partial_path(d)));
}

TEST(Layout, ResumeBlobDropsAnOversizePartialAndRestartsAfterMismatch) {
    TempDir dir("layout");
    Layout l = Layout::create(dir.path() + "/l");
    std::string data = "the real content";
    Digest d = Digest::sha256_of(data);
    write_file_atomic(l.partial_path(d), std::string(100, 'z'));
    auto w = l.resume_blob(d, static_cast<int64_t>(data.size()));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->size(), 0u);
    w->write("the fake content");
    try {
        w->verify(d, static_cast<int64_t>(data.size()));
        FAIL() << "verify accepted the wrong bytes";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
    }
    EXPECT_FALSE(l.has_blob(d));
    w->restart();
    w->write(data);
    w->commit(d, static_cast<int64_t>(data.size()));
    EXPECT_EQ(read_file(l.blob_path(d)), data);
}

TEST(Layout, ResumeBlobDiscardRemovesThePartialFile) {
    TempDir dir("layout");
    Layout l = Layout::create(dir.path() + "/l");
    Digest d = Digest::sha256_of("abc");
    auto w = l.resume_blob(d, 3);
    ASSERT_TRUE(w);
    w->write("ab");
    w->discard();
    EXPECT_FALSE(std::filesystem::exists(l.partial_path(d)));
}

TEST(Layout, SecondResumeWriterWaitsAndFindsTheBlobCommitted) {
    TempDir dir("layout");
    Layout l = Layout::create(dir.path() + "/l");
    std::string data = "shared layer";
    Digest d = Digest::sha256_of(data);
    auto first = l.resume_blob(d, static_cast<int64_t>(data.size()));
    ASSERT_TRUE(first);
    std::atomic<bool> waited{false};
    std::optional<BlobWriter> second_result;
    bool second_returned = false;
    std::thread second([&] {
        second_result = l.resume_blob(d, static_cast<int64_t>(data.size()), [&] { waited = true; });
        second_returned = true;
    });
    while (!waited) std::this_thread::yield();
    first->write(data);
    first->commit(d, static_cast<int64_t>(data.size()));
    first.reset();
    second.join();
    EXPECT_TRUE(second_returned);
    EXPECT_FALSE(second_result);
    EXPECT_TRUE(l.has_blob(d));
    EXPECT_FALSE(std::filesystem::exists(l.partial_path(d)));
}
