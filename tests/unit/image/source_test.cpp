// Image sources: layouts (LAYOUT:REF, the store, reg-fetch's JSON) and
// docker save archives, down to the bytes of each layer.
#include "image/source.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "oci/layout.hpp"
#include "tar_builder.hpp"

using namespace ctk;
using namespace ctk::image;
using ctk::test::TarBuilder;

namespace {

std::string layer_bytes(const ImageSource& s, size_t i) {
    ImageSource::Blob b = s.open_layer(i);
    LayerStream stream(b.range, s.layers[i].compression, "layer");
    std::string out;
    for (auto c = stream.next(); !c.empty(); c = stream.next())
        out.append(reinterpret_cast<const char*>(c.data()), c.size());
    StreamDigests d = stream.finish();
    EXPECT_EQ(d.diff_id, s.layers[i].diff_id);
    if (!s.layers[i].descriptor.digest.empty()) {
        EXPECT_EQ(d.blob, s.layers[i].descriptor.digest);
    }
    return out;
}

struct Built {
    oci::Descriptor manifest;
    std::string tar1, tar2;
};

Built build_layout(const std::string& dir, const std::string& tag) {
    oci::Layout l = oci::Layout::create(dir);
    Built b;
    b.tar1 = TarBuilder().file("one", "1").str();
    b.tar2 = TarBuilder().file("two", "2").str();
    oci::Descriptor d1 = l.write_blob(ctk::test::gzip(b.tar1), std::string(oci::media::oci_layer_gzip));
    oci::Descriptor d2 = l.write_blob(ctk::test::zstd(b.tar2), std::string(oci::media::oci_layer_zstd));
    oci::ImageConfig cfg;
    cfg.os = "linux";
    cfg.architecture = oci::Platform::host().architecture;
    cfg.config.cmd = std::vector<std::string>{"sh"};
    cfg.diff_ids = {Digest::sha256_of(b.tar1), Digest::sha256_of(b.tar2)};
    oci::Manifest m;
    m.media_type = oci::media::oci_manifest;
    m.config = l.write_blob(Json(cfg).dump(), std::string(oci::media::oci_config));
    m.layers = {d1, d2};
    b.manifest = l.write_blob(Json(m).dump(), std::string(oci::media::oci_manifest));
    l.tag(tag, b.manifest);
    return b;
}

} // namespace

TEST(ImageSource, Layouts) {
    TempDir dir("source");
    std::string layout = dir.path() + "/my:layout";
    Built b = build_layout(layout, "latest");
    for (const auto& arg : {layout + ":latest", layout}) {
        ImageSource s = ImageSource::from_argument(arg, dir.path() + "/none", std::nullopt);
        EXPECT_EQ(s.manifest_digest, b.manifest.digest);
        ASSERT_EQ(s.layers.size(), 2u);
        EXPECT_EQ(s.layers[0].compression, oci::Compression::gzip);
        EXPECT_EQ(s.layers[1].compression, oci::Compression::zstd);
        EXPECT_EQ(layer_bytes(s, 0), b.tar1);
        EXPECT_EQ(layer_bytes(s, 1), b.tar2);
    }
    EXPECT_THROW(ImageSource::from_argument(layout + ":nope", dir.path(), std::nullopt), Error);
    // reg-fetch's JSON: layout + manifest digest, with or without the descriptor
    Json pulled = {{"reference", "127.0.0.1:5000/x:latest"}, {"layout", layout}, {"digest", b.manifest.digest.str()},
                   {"unknown", 1}};
    ImageSource s = ImageSource::from_pull_json(pulled, std::nullopt);
    EXPECT_EQ(s.reference, "127.0.0.1:5000/x:latest");
    EXPECT_EQ(s.manifest_digest, b.manifest.digest);
    pulled["manifest"] = b.manifest;
    EXPECT_EQ(ImageSource::from_pull_json(pulled, std::nullopt).layers.size(), 2u);
    EXPECT_THROW(ImageSource::from_pull_json(Json{{"layout", layout}}, std::nullopt), Error);

    // reg-fetch pull --all-platforms: one object a line, the host's is taken
    Json other = pulled, host = pulled;
    other["platform"] = "linux/s390x";
    other["reference"] = "other";
    host["platform"] = oci::Platform::host().str();
    host["reference"] = "host";
    std::string lines = other.dump() + "\n" + host.dump() + "\n\n";
    EXPECT_EQ(ImageSource::from_pull_output(lines, std::nullopt).reference, "host");
    EXPECT_EQ(ImageSource::from_pull_output(lines, oci::Platform::parse("linux/s390x")).reference, "other");
    try {
        ImageSource::from_pull_output(lines, oci::Platform::parse("linux/riscv64"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
    }
    EXPECT_EQ(ImageSource::from_pull_output(pulled.dump(), std::nullopt).reference, "127.0.0.1:5000/x:latest");
    EXPECT_THROW(ImageSource::from_pull_output("  \n", std::nullopt), Error);
}

// Docker's image manifest v2 schema 2 in a layout (skopeo copies keep it),
// with every layer media type but the OCI gzip/zstd ones above.
TEST(ImageSource, DockerSchema2AndEveryLayerMediaType) {
    TempDir dir("schema2");
    oci::Layout l = oci::Layout::create(dir.path() + "/layout");
    struct Layer {
        std::string_view media_type;
        oci::Compression compression;
    };
    const std::vector<Layer> kinds = {
        {oci::media::docker_layer_gzip, oci::Compression::gzip},
        {oci::media::docker_layer, oci::Compression::none},
        {oci::media::docker_layer_zstd, oci::Compression::zstd},
        {oci::media::docker_layer_foreign_gzip, oci::Compression::gzip},
        {oci::media::oci_layer, oci::Compression::none},
        {oci::media::oci_layer_nondist_gzip, oci::Compression::gzip},
        {oci::media::oci_layer_nondist_zstd, oci::Compression::zstd},
        {oci::media::oci_layer_nondist, oci::Compression::none},
    };
    oci::ImageConfig cfg;
    cfg.os = "linux";
    cfg.architecture = oci::Platform::host().architecture;
    oci::Manifest m;
    m.media_type = oci::media::docker_manifest;
    std::vector<std::string> tars;
    for (size_t i = 0; i < kinds.size(); ++i) {
        tars.push_back(TarBuilder().file("layer" + std::to_string(i), std::string(i + 1, 'x')).str());
        std::string blob = kinds[i].compression == oci::Compression::gzip   ? ctk::test::gzip(tars[i])
                           : kinds[i].compression == oci::Compression::zstd ? ctk::test::zstd(tars[i])
                                                                            : tars[i];
        m.layers.push_back(l.write_blob(blob, std::string(kinds[i].media_type)));
        cfg.diff_ids.push_back(Digest::sha256_of(tars[i]));
    }
    m.config = l.write_blob(Json(cfg).dump(), std::string(oci::media::docker_config));
    oci::Descriptor md = l.write_blob(Json(m).dump(), std::string(oci::media::docker_manifest));
    l.tag("v2", md);

    ImageSource s = ImageSource::from_argument(dir.path() + "/layout:v2", dir.path() + "/none", std::nullopt);
    EXPECT_EQ(s.manifest_digest, md.digest);
    ASSERT_EQ(s.layers.size(), kinds.size());
    for (size_t i = 0; i < kinds.size(); ++i) {
        EXPECT_EQ(s.layers[i].compression, kinds[i].compression) << kinds[i].media_type;
        EXPECT_EQ(layer_bytes(s, i), tars[i]) << kinds[i].media_type;
    }

    // a layer type ctk does not know is refused, not guessed
    oci::Manifest odd = m;
    odd.layers[0].media_type = "application/vnd.example.layer.v1.tar+lz4";
    l.tag("odd", l.write_blob(Json(odd).dump(), std::string(oci::media::docker_manifest)));
    try {
        ImageSource::from_argument(dir.path() + "/layout:odd", dir.path() + "/none", std::nullopt);
        FAIL() << "an unknown layer media type was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("lz4"), std::string::npos) << e.what();
    }
}

TEST(ImageSource, StoreNamesAreNormalised) {
    TempDir dir("store");
    std::string images = dir.path() + "/images";
    build_layout(images, "docker.io/library/busybox:latest");
    ImageSource s = ImageSource::from_argument("busybox", images, std::nullopt);
    EXPECT_EQ(s.reference, "docker.io/library/busybox:latest");
    EXPECT_EQ(ImageSource::from_argument("docker.io/library/busybox", images, std::nullopt).layers.size(), 2u);
    try {
        ImageSource::from_argument("alpine", images, std::nullopt);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
    }
}

TEST(ImageSource, DockerSaveArchive) {
    TempDir dir("archive");
    std::string tar1 = TarBuilder().file("etc/one", "1").str();
    std::string tar2 = TarBuilder().file("etc/two", "2").str();
    std::string gz2 = ctk::test::gzip(tar2);
    oci::ImageConfig cfg;
    cfg.os = "linux";
    cfg.architecture = oci::Platform::host().architecture;
    cfg.diff_ids = {Digest::sha256_of(tar1), Digest::sha256_of(tar2)};
    std::string config = Json(cfg).dump();
    Digest config_digest = Digest::sha256_of(config);
    std::string long_dir(120, 'x'); // a member name that needs a PAX header
    std::string layer1 = long_dir + "/layer.tar";
    std::string layer2 = "blobs/sha256/" + Digest::sha256_of(gz2).encoded();
    Json manifest = Json::array({{{"Config", config_digest.encoded() + ".json"},
                                  {"RepoTags", {"example.com/app:1.0"}},
                                  {"Layers", {layer1, layer2}}}});
    std::string archive = TarBuilder()
                              .file("repositories", "{}")
                              .file(layer1, tar1)
                              .file(layer2, gz2)
                              .file(config_digest.encoded() + ".json", config)
                              .file("manifest.json", manifest.dump())
                              .str();
    std::string file = dir.path() + "/save.tar";
    write_file_atomic(file, archive);
    for (const auto& arg : {file, file + ":example.com/app:1.0"}) {
        ImageSource s = ImageSource::from_archive_argument(arg, std::nullopt);
        EXPECT_EQ(s.config_digest, config_digest);
        EXPECT_FALSE(s.manifest_digest.has_value());
        EXPECT_EQ(s.reference, "example.com/app:1.0");
        ASSERT_EQ(s.layers.size(), 2u);
        EXPECT_EQ(s.layers[0].compression, oci::Compression::none);
        EXPECT_TRUE(s.layers[0].descriptor.digest.empty());
        EXPECT_EQ(s.layers[1].compression, oci::Compression::gzip);
        EXPECT_EQ(s.layers[1].descriptor.digest, Digest::sha256_of(gz2));
        EXPECT_EQ(layer_bytes(s, 0), tar1);
        EXPECT_EQ(layer_bytes(s, 1), tar2);
    }
    EXPECT_THROW(ImageSource::from_archive_argument(file + ":other:tag", std::nullopt), Error);
    // a config whose bytes do not match its name
    std::string bad = TarBuilder()
                          .file(config_digest.encoded() + ".json", config + " ")
                          .file("manifest.json", manifest.dump())
                          .str();
    write_file_atomic(file, bad);
    EXPECT_THROW(ImageSource::from_archive_argument(file, std::nullopt), Error);
    write_file_atomic(file, ctk::test::gzip(archive));
    try {
        ImageSource::from_archive_argument(file, std::nullopt);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("gzip-compressed"), std::string::npos);
    }
}
