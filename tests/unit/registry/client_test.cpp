#include "registry/client.hpp"

#include <fcntl.h>

#include <gtest/gtest.h>

#include "core/fs.hpp"
#include "fake_registry.hpp"
#include "oci/media_types.hpp"

using namespace ctk;
using namespace ctk::registry;

namespace {

class ClientTest : public ::testing::Test {
protected:
    Endpoint endpoint() {
        Endpoint e;
        e.domain = "registry.test:5000";
        e.base_url = reg.origin;
        return e;
    }
    std::unique_ptr<Client> client(const std::string& repo = "tiny",
                                   std::optional<Credentials> creds = std::nullopt) {
        RetryPolicy retry;
        retry.attempts = 3;
        retry.sleep = [this](std::chrono::milliseconds d) { slept.push_back(d); };
        auto auth = std::make_shared<Authenticator>("registry.test:5000", creds,
                                                    std::vector<std::string>{"repository:" + repo + ":pull"});
        return std::make_unique<Client>(endpoint(), repo, auth, reg.factory()(), retry);
    }
    std::string expect_error(const std::function<void()>& f, ErrorKind kind) {
        try {
            f();
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), kind) << e.what();
            return e.what();
        }
        ADD_FAILURE() << "no error";
        return "";
    }

    test::FakeRegistry reg;
    std::vector<std::chrono::milliseconds> slept;
};

const std::string manifest_json =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[]})";

} // namespace

TEST_F(ClientTest, ManifestIsVerifiedAgainstADigestReference) {
    std::string digest = reg.add_manifest("tiny", manifest_json, std::string(oci::media::oci_manifest), "latest");
    auto c = client();
    Document d = c->get_manifest("latest");
    EXPECT_EQ(d.digest.str(), digest);
    EXPECT_EQ(d.media_type, oci::media::oci_manifest);
    EXPECT_EQ(d.bytes, manifest_json);
    EXPECT_EQ(reg.requests.back().header("Accept"), manifest_accept());
    EXPECT_EQ(c->get_manifest(digest).bytes, manifest_json);

    // The registry serves other bytes under a digest: refused.
    std::string other = Digest::sha256_of("x").str();
    reg.manifests["tiny"][other] = {manifest_json, std::string(oci::media::oci_manifest)};
    std::string m = expect_error([&] { c->get_manifest(other); }, ErrorKind::invalid);
    EXPECT_NE(m.find("digest mismatch"), std::string::npos) << m;
    EXPECT_NE(m.find("registry registry.test:5000: repository tiny: manifest " + other), std::string::npos) << m;
}

TEST_F(ClientTest, BadManifestsAreRefused) {
    auto c = client();
    reg.manifests["tiny"]["big"] = {std::string(5u << 20, ' '), std::string(oci::media::oci_manifest)};
    std::string m = expect_error([&] { c->get_manifest("big"); }, ErrorKind::invalid);
    EXPECT_NE(m.find("larger than 4194304 bytes"), std::string::npos) << m;

    reg.manifests["tiny"]["broken"] = {"{\"schemaVersion\": 2,", std::string(oci::media::oci_manifest)};
    m = expect_error([&] { c->get_manifest("broken"); }, ErrorKind::invalid);
    EXPECT_NE(m.find("malformed JSON"), std::string::npos) << m;

    reg.manifests["tiny"]["odd"] = {R"({"schemaVersion":2,"mediaType":"application/vnd.example+json"})",
                                    "application/vnd.example+json"};
    m = expect_error([&] { c->get_manifest("odd"); }, ErrorKind::invalid);
    EXPECT_NE(m.find("unsupported media type \"application/vnd.example+json\""), std::string::npos) << m;
}

TEST_F(ClientTest, ErrorsNameRegistryRepositoryAndObject) {
    auto c = client();
    std::string m = expect_error([&] { c->get_manifest("nope"); }, ErrorKind::not_found);
    EXPECT_EQ(m, "registry registry.test:5000: repository tiny: manifest \"nope\": HTTP 404 Not Found "
                 "(MANIFEST_UNKNOWN: manifest unknown)");
    reg.auth = "basic";
    m = expect_error([&] { c->get_manifest("nope"); }, ErrorKind::remote);
    EXPECT_NE(m.find("HTTP 401 Unauthorized"), std::string::npos) << m;
    EXPECT_NE(m.find("credentials needed (reg-fetch login registry.test:5000)"), std::string::npos) << m;
}

TEST_F(ClientTest, ServerErrorsAreRetriedWithBackoff) {
    std::string blob = std::string(5000, 'b');
    std::string digest = reg.add_blob("tiny", blob);
    reg.fail_blob_gets = 2;
    auto c = client();
    oci::Descriptor d;
    d.digest = Digest::parse(digest);
    d.size = static_cast<int64_t>(blob.size());
    EXPECT_EQ(c->get_blob(d), blob);
    ASSERT_EQ(slept.size(), 2u);
    EXPECT_LT(slept[0], slept[1]);

    reg.fail_blob_gets = 5;
    std::string m = expect_error([&] { c->get_blob(d); }, ErrorKind::remote);
    EXPECT_NE(m.find("HTTP 503"), std::string::npos) << m;
}

TEST_F(ClientTest, CredentialsNeverFollowARedirectToAnotherHost) {
    reg.auth = "basic";
    reg.redirect_blobs = true;
    std::string blob = "layer bytes";
    std::string digest = reg.add_blob("tiny", blob);
    auto c = client("tiny", Credentials{"alice", "secret", ""});
    oci::Descriptor d;
    d.digest = Digest::parse(digest);
    d.size = static_cast<int64_t>(blob.size());
    EXPECT_EQ(c->get_blob(d), blob);
    bool saw_cdn = false;
    for (const auto& r : reg.requests) {
        if (r.url.starts_with(reg.redirect_origin)) {
            saw_cdn = true;
            EXPECT_TRUE(r.header("Authorization").empty()) << r.url;
        } else if (r.url.find("/blobs/") != std::string::npos && &r != &reg.requests.front()) {
            EXPECT_FALSE(r.header("Authorization").empty()) << r.url;
        }
    }
    EXPECT_TRUE(saw_cdn);
}

TEST_F(ClientTest, DownloadResumesWithRangeAfterAReset) {
    std::string blob(30000, '\0');
    for (size_t i = 0; i < blob.size(); i++) blob[i] = static_cast<char>(i * 7);
    std::string digest = reg.add_blob("tiny", blob);
    reg.cut_next_blob_after = 12000;
    TempDir dir("ctk-client");
    oci::Layout layout = oci::Layout::create(dir.path() + "/l");
    oci::Descriptor d;
    d.digest = Digest::parse(digest);
    d.size = static_cast<int64_t>(blob.size());
    auto w = layout.resume_blob(d.digest, d.size);
    ASSERT_TRUE(w);
    auto c = client();
    c->download_blob(d, *w);
    EXPECT_EQ(w->verify(d.digest, d.size), d.digest);
    ASSERT_GE(reg.requests.size(), 2u);
    EXPECT_EQ(reg.requests.back().header("Range"), "bytes=12000-");
    EXPECT_EQ(slept.size(), 1u);
}

TEST_F(ClientTest, DownloadStartsOverWhenTheRegistryIgnoresRange) {
    std::string blob(10000, 'q');
    std::string digest = reg.add_blob("tiny", blob);
    reg.ignore_range = true;
    TempDir dir("ctk-client");
    oci::Layout layout = oci::Layout::create(dir.path() + "/l");
    Digest dg = Digest::parse(digest);
    {
        auto w = layout.resume_blob(dg, 10000);
        w->write(blob.substr(0, 4000));
    }
    auto w = layout.resume_blob(dg, 10000);
    ASSERT_EQ(w->size(), 4000u);
    oci::Descriptor d;
    d.digest = dg;
    d.size = 10000;
    client()->download_blob(d, *w);
    EXPECT_EQ(w->size(), 10000u);
    EXPECT_EQ(w->verify(dg, 10000), dg);
}

TEST_F(ClientTest, DownloadRefusesMoreBytesThanTheDescriptorSays) {
    std::string blob(10000, 'z');
    std::string digest = reg.add_blob("tiny", blob);
    TempDir dir("ctk-client");
    oci::Layout layout = oci::Layout::create(dir.path() + "/l");
    oci::Descriptor d;
    d.digest = Digest::parse(digest);
    d.size = 5000;
    auto w = layout.resume_blob(d.digest, d.size);
    std::string m = expect_error([&] { client()->download_blob(d, *w); }, ErrorKind::invalid);
    EXPECT_NE(m.find("size mismatch: more than 5000 bytes"), std::string::npos) << m;
}

TEST_F(ClientTest, TagsFollowTheLinkHeader) {
    for (const char* t : {"a", "b", "c", "d", "e"})
        reg.add_manifest("tiny", manifest_json, std::string(oci::media::oci_manifest), t);
    reg.tags_page = 2;
    auto c = client();
    reg.requests.clear();
    std::vector<std::string> all = c->tags();
    EXPECT_EQ(all, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
    EXPECT_EQ(reg.requests.size(), 3u);
}

TEST_F(ClientTest, PushUploadsMonolithicOrInChunksAndMounts) {
    TempDir dir("ctk-client");
    std::string small = "small blob", big(25000, 'B');
    write_file_atomic(dir.path() + "/small", small);
    write_file_atomic(dir.path() + "/big", big);
    auto c = client("dest");
    Digest ds = Digest::sha256_of(small), db = Digest::sha256_of(big);
    EXPECT_FALSE(c->blob_exists(ds));
    UniqueFd fs = open_path(dir.path() + "/small", O_RDONLY);
    c->upload_blob(ds, fs.get(), small.size(), 10000);
    EXPECT_TRUE(c->blob_exists(ds));
    size_t patches = 0;
    UniqueFd fb = open_path(dir.path() + "/big", O_RDONLY);
    reg.requests.clear();
    c->upload_blob(db, fb.get(), big.size(), 10000);
    for (const auto& r : reg.requests) patches += r.method == "PATCH";
    EXPECT_EQ(patches, 3u);
    EXPECT_EQ(reg.blobs.at(db.str()), big);

    auto other = client("other");
    EXPECT_TRUE(other->mount_blob(db, "dest"));
    EXPECT_TRUE(reg.repo_has_blob("other", db.str()));
    EXPECT_FALSE(other->mount_blob(Digest::sha256_of("unknown"), "dest"));
}
