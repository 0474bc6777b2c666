#include "registry/pull.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "fake_registry.hpp"
#include "oci/layout.hpp"
#include "oci/media_types.hpp"
#include "registry/push.hpp"

using namespace ctk;
using namespace ctk::registry;

namespace {

struct TestImage {
    std::string manifest_digest;
    std::string manifest;
    std::vector<std::string> layers;
};

// An image of `layers` (bytes that need not be tar: the registry does not care).
TestImage add_image(test::FakeRegistry& reg, const std::string& repo, const std::string& tag,
                    const std::vector<std::string>& layers, const std::string& arch = "") {
    TestImage img;
    oci::ImageConfig cfg;
    cfg.architecture = arch.empty() ? oci::Platform::host().architecture : arch;
    cfg.os = "linux";
    oci::Manifest m;
    m.media_type = oci::media::oci_manifest;
    for (const auto& l : layers) {
        oci::Descriptor d;
        d.media_type = oci::media::oci_layer_gzip;
        d.digest = Digest::parse(reg.add_blob(repo, l));
        d.size = static_cast<int64_t>(l.size());
        m.layers.push_back(d);
        cfg.diff_ids.push_back(Digest::sha256_of("diff " + l));
        img.layers.push_back(d.digest.str());
    }
    std::string config = Json(cfg).dump();
    m.config.media_type = oci::media::oci_config;
    m.config.digest = Digest::parse(reg.add_blob(repo, config));
    m.config.size = static_cast<int64_t>(config.size());
    img.manifest = Json(m).dump();
    img.manifest_digest = reg.add_manifest(repo, img.manifest, std::string(oci::media::oci_manifest), tag);
    return img;
}

std::string listing(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        names.push_back(e.path().string().substr(dir.size()));
    std::sort(names.begin(), names.end());
    return join(names, "\n");
}

class PullTest : public ::testing::Test {
protected:
    PullTest() : session(settings()) {
        session.transport = reg.factory();
        session.credentials = [](std::string_view) { return std::optional<Credentials>(); };
        session.retry.sleep = [](std::chrono::milliseconds) {};
    }
    static Settings settings() {
        Settings s;
        s.hosts["registry.test:5000"].plain_http = true;
        return s;
    }
    std::string layout() const { return dir.path() + "/layout"; }
    size_t blob_gets() const {
        size_t n = 0;
        for (const auto& r : reg.requests) n += r.method == "GET" && r.url.find("/blobs/") != std::string::npos;
        return n;
    }

    test::FakeRegistry reg;
    Session session;
    TempDir dir{"ctk-pull"};
};

} // namespace

TEST_F(PullTest, PullsVerifiesAndTagsTheFullReference) {
    TestImage img = add_image(reg, "app", "v1", {std::string(50000, 'a'), std::string(70000, 'b'), "c"});
    PullOptions o;
    o.layout = layout();
    o.max_concurrent = 2;
    auto out = pull(session, "registry.test:5000/app:v1", o);
    ASSERT_EQ(out.size(), 1u);
    const Json& j = out[0];
    EXPECT_EQ(j["reference"], "registry.test:5000/app:v1");
    EXPECT_EQ(j["ref_name"], "registry.test:5000/app:v1");
    EXPECT_EQ(j["digest"], img.manifest_digest);
    EXPECT_EQ(j["manifest"]["digest"], img.manifest_digest);
    EXPECT_EQ(j["layers"].size(), 3u);
    EXPECT_EQ(j["platform"], oci::Platform::host().str());
    EXPECT_FALSE(j.contains("index_digest"));
    oci::Layout l = oci::Layout::open(layout());
    auto tagged = l.find("registry.test:5000/app:v1");
    ASSERT_TRUE(tagged);
    EXPECT_EQ(tagged->digest.str(), img.manifest_digest);
    oci::ResolvedImage r = oci::resolve_image(l, "registry.test:5000/app:v1");
    for (const auto& layer : r.manifest.layers) EXPECT_TRUE(l.has_blob(layer.digest));
    EXPECT_EQ(listing(layout()).find(".ctk-partial"), std::string::npos) << listing(layout());

    // Again: nothing is downloaded twice.
    size_t before = blob_gets();
    pull(session, "registry.test:5000/app:v1", o);
    EXPECT_EQ(blob_gets(), before);
}

TEST_F(PullTest, ADigestMismatchLeavesTheLayoutAsItWas) {
    add_image(reg, "app", "good", {"fine"});
    TestImage bad = add_image(reg, "app", "bad", {"good layer", "the real bytes"});
    PullOptions o;
    o.layout = layout();
    pull(session, "registry.test:5000/app:good", o);
    std::string before = listing(layout());
    std::string index_before = read_file(layout() + "/index.json");
    reg.blobs[bad.layers[1]] = "evil bytes!!!!"; // same size, other content
    try {
        pull(session, "registry.test:5000/app:bad", o);
        FAIL() << "the bad layer was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        std::string m = e.what();
        EXPECT_NE(m.find("registry registry.test:5000: repository app: blob " + bad.layers[1]), std::string::npos) << m;
        EXPECT_NE(m.find("digest mismatch"), std::string::npos) << m;
    }
    EXPECT_EQ(listing(layout()), before);
    EXPECT_EQ(read_file(layout() + "/index.json"), index_before);
}

TEST_F(PullTest, IndexPlatformsAreSelected) {
    TestImage amd = add_image(reg, "multi", "", {"amd64 layer"}, "amd64");
    TestImage arm = add_image(reg, "multi", "", {"arm64 layer"}, "arm64");
    Json index = {{"schemaVersion", 2},
                  {"mediaType", oci::media::oci_index},
                  {"manifests",
                   {{{"mediaType", oci::media::oci_manifest}, {"digest", amd.manifest_digest},
                     {"size", amd.manifest.size()}, {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}},
                    {{"mediaType", oci::media::oci_manifest}, {"digest", arm.manifest_digest},
                     {"size", arm.manifest.size()},
                     {"platform", {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}}}}}}};
    std::string index_digest = reg.add_manifest("multi", index.dump(), std::string(oci::media::oci_index), "m");
    PullOptions o;
    o.layout = layout();
    o.platform = oci::Platform::parse("linux/arm64");
    auto out = pull(session, "registry.test:5000/multi:m", o);
    EXPECT_EQ(out.at(0)["digest"], arm.manifest_digest);
    EXPECT_EQ(out.at(0)["index_digest"], index_digest);
    EXPECT_EQ(out.at(0)["platform"], "linux/arm64/v8");

    std::string before = listing(layout());
    o.platform = oci::Platform::parse("linux/s390x");
    try {
        pull(session, "registry.test:5000/multi:m", o);
        FAIL() << "a missing platform was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
        EXPECT_NE(std::string(e.what()).find("no image for platform linux/s390x (it has linux/amd64, linux/arm64/v8)"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(listing(layout()), before);

    o.platform.reset();
    o.all_platforms = true;
    o.tag = "both";
    out = pull(session, "registry.test:5000/multi:m", o);
    ASSERT_EQ(out.size(), 2u);
    oci::Layout l = oci::Layout::open(layout());
    EXPECT_EQ(l.find("both")->digest.str(), index_digest);
    EXPECT_TRUE(l.has_blob(Digest::parse(amd.layers[0])));
    EXPECT_TRUE(l.has_blob(Digest::parse(arm.layers[0])));
}

TEST_F(PullTest, AnInterruptedPullResumesWithRange) {
    std::string big(100000, 'x');
    for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i % 251);
    TestImage img = add_image(reg, "app", "v1", {big});
    reg.cut_next_blob_after = 40000;
    session.retry.attempts = 1;
    PullOptions o;
    o.layout = layout();
    EXPECT_THROW(pull(session, "registry.test:5000/app:v1", o), Error);
    oci::Layout l = oci::Layout::open(layout());
    Digest layer = Digest::parse(img.layers[0]);
    EXPECT_FALSE(l.has_blob(layer));
    EXPECT_EQ(std::filesystem::file_size(l.partial_path(layer)), 40000u);
    EXPECT_FALSE(l.find("registry.test:5000/app:v1"));

    session.retry.attempts = 3;
    pull(session, "registry.test:5000/app:v1", o);
    EXPECT_TRUE(l.has_blob(layer));
    bool ranged = false;
    for (const auto& r : reg.requests) ranged |= r.header("Range") == "bytes=40000-";
    EXPECT_TRUE(ranged);
    EXPECT_FALSE(std::filesystem::exists(l.partial_path(layer)));
}

TEST_F(PullTest, PushSendsAPulledImageBackWithMounts) {
    TestImage img = add_image(reg, "app", "v1", {"layer one", "layer two"});
    PullOptions o;
    o.layout = layout();
    pull(session, "registry.test:5000/app:v1", o);
    PushOptions p;
    Json out = push(session, layout() + ":registry.test:5000/app:v1", "registry.test:5000/copy:v2", p);
    EXPECT_EQ(out["digest"], img.manifest_digest);
    EXPECT_EQ(out["reference"], "registry.test:5000/copy:v2");
    // Every blob came from app by cross-repository mount; nothing was uploaded.
    EXPECT_EQ(out["blobs"]["mounted"], 3);
    EXPECT_EQ(out["blobs"]["pushed"], 0);
    EXPECT_EQ(reg.manifests["copy"].at("v2").bytes, img.manifest);
    for (const auto& l : img.layers) EXPECT_TRUE(reg.repo_has_blob("copy", l));

    // Under another tag name the layout offers no mount source: uploads.
    oci::Layout l = oci::Layout::open(layout());
    oci::Layout fresh = oci::Layout::create(dir.path() + "/fresh");
    for (const auto& e : std::filesystem::directory_iterator(layout() + "/blobs/sha256"))
        std::filesystem::copy_file(e.path(), dir.path() + "/fresh/blobs/sha256/" + e.path().filename().string());
    fresh.tag("x", *l.find("registry.test:5000/app:v1"));
    out = push(session, dir.path() + "/fresh:x", "registry.test:5000/third:v1", p);
    EXPECT_EQ(out["blobs"]["pushed"], 3);
    out = push(session, dir.path() + "/fresh:x", "registry.test:5000/third:v2", p);
    EXPECT_EQ(out["blobs"]["existing"], 3);
}
