#include "oci/image.hpp"

#include <gtest/gtest.h>

#include "core/fs.hpp"
#include "oci/media_types.hpp"

using namespace ctk;
using namespace ctk::oci;

static std::string data_path(const std::string& name) {
    const char* d = std::getenv("CTK_TEST_DATA");
    return std::string(d ? d : "tests/data") + "/" + name;
}

// Documents written by skopeo (an OCI layout of the fixture image `tiny`) read
// and written back unchanged.
TEST(ImageJson, SkopeoDocumentsRoundTrip) {
    for (const char* file : {"skopeo-tiny/index.json", "skopeo-tiny/manifest.json"}) {
        SCOPED_TRACE(file);
        std::string text = read_file(data_path(file));
        Json in = parse_json(text, file);
        Json out = std::string(file).find("index") != std::string::npos
                       ? Json(Index::parse(text, file))
                       : Json(Manifest::parse(text, file));
        EXPECT_EQ(out, in);
    }
    std::string text = read_file(data_path("skopeo-tiny/config.json"));
    ImageConfig c = ImageConfig::parse(text, "config");
    EXPECT_EQ(Json(c), parse_json(text, "config"));
    EXPECT_EQ(c.config.cmd, std::vector<std::string>{"sh"});
    EXPECT_EQ(c.diff_ids.size(), 1u);
}

TEST(ImageJson, DockerManifestListSelectsPlatform) {
    std::string text = read_file(data_path("docker-manifest-list.json"));
    Index idx = Index::parse(text, "list");
    EXPECT_EQ(idx.media_type, media::docker_manifest_list);
    Json round = idx;
    EXPECT_EQ(round, parse_json(text, "list"));
    const Descriptor* amd = idx.select(Platform::parse("linux/amd64"));
    ASSERT_TRUE(amd);
    EXPECT_EQ(amd->platform->architecture, "amd64");
    const Descriptor* arm = idx.select(Platform::parse("linux/arm64"));
    ASSERT_TRUE(arm);
    EXPECT_EQ(arm->platform->variant, "v8");
    const Descriptor* armv7 = idx.select(Platform::parse("linux/arm/v7"));
    ASSERT_TRUE(armv7);
    EXPECT_EQ(armv7->platform->variant, "v7");
    EXPECT_EQ(idx.select(Platform::parse("linux/s390x")), nullptr);
    EXPECT_EQ(idx.select(Platform::parse("windows/amd64")), nullptr);
}

TEST(ImageJson, ManifestRejectsUnknownLayerType) {
    std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
                    std::string(64, 'a') + R"(","size":2},
      "layers":[{"mediaType":"application/x-unknown","digest":"sha256:)" +
                    std::string(64, 'b') + R"(","size":3}]})";
    try {
        Manifest::parse(m, "manifest x");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("unsupported media type"), std::string::npos);
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
    }
    EXPECT_THROW(Manifest::parse(R"({"schemaVersion":1,"config":{},"layers":[]})", "m"), Error);
    EXPECT_THROW(Manifest::parse("{", "m"), Error);
}

TEST(ImageJson, DescriptorRequiresValidDigest) {
    EXPECT_THROW(parse_json(R"({"mediaType":"x","digest":"sha256:zz","size":1})", "d").get<Descriptor>(), Error);
    EXPECT_THROW(parse_json(R"({"mediaType":"x","size":1})", "d").get<Descriptor>(), Error);
}

TEST(ImageJson, MediaTypes) {
    EXPECT_EQ(layer_compression(media::oci_layer_gzip), Compression::gzip);
    EXPECT_EQ(layer_compression(media::oci_layer_zstd), Compression::zstd);
    EXPECT_EQ(layer_compression(media::docker_layer_gzip), Compression::gzip);
    EXPECT_EQ(layer_compression(media::oci_layer), Compression::none);
    EXPECT_FALSE(layer_compression(media::oci_manifest));
    EXPECT_TRUE(is_index_type(media::docker_manifest_list));
    EXPECT_TRUE(is_manifest_type(media::docker_manifest));
}

TEST(ImageJson, ChainIdFollowsTheSpec) {
    Digest a = Digest::sha256_of("a"), b = Digest::sha256_of("b"), c = Digest::sha256_of("c");
    EXPECT_EQ(chain_id({a}), a);
    Digest ab = Digest::sha256_of(a.str() + " " + b.str());
    EXPECT_EQ(chain_id({a, b}), ab);
    EXPECT_EQ(chain_id({a, b, c}), Digest::sha256_of(ab.str() + " " + c.str()));
    EXPECT_EQ(chain_ids({a, b, c}).size(), 3u);
}

TEST(Platform, ParseAndNormalise) {
    EXPECT_EQ(Platform::parse("linux/x86_64").str(), "linux/amd64");
    EXPECT_EQ(Platform::parse("linux/aarch64").str(), "linux/arm64/v8");
    EXPECT_EQ(Platform::parse("linux/arm64/v8").str(), "linux/arm64/v8");
    EXPECT_THROW(Platform::parse("linux"), Error);
    EXPECT_THROW(Platform::parse("linux/"), Error);
    EXPECT_EQ(Platform::host().os, "linux");
    EXPECT_FALSE(Platform::host().architecture.empty());
}

// Issue 16: an image config (or manifest, index) nesting 100 000 arrays crashed
// reg-fetch and img-unpack (stack overflow); it is refused as invalid before parsing.
TEST(ImageJson, DeepNestingIsInvalid) {
    std::string deep = std::string(100000, '[') + std::string(100000, ']');
    std::string doc = R"({"schemaVersion":2,"x":)" + deep + "}";
    for (int kind = 0; kind < 3; kind++) {
        try {
            if (kind == 0) ImageConfig::parse(doc, "config sha256:ab");
            if (kind == 1) Manifest::parse(doc, "manifest sha256:ab");
            if (kind == 2) Index::parse(doc, "index sha256:ab");
            ADD_FAILURE() << kind << ": accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid);
            EXPECT_NE(std::string(e.what()).find("sha256:ab: JSON nests deeper than 1000 levels"), std::string::npos)
                << e.what();
        }
    }
}
