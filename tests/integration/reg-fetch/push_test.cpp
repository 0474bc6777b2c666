// reg-fetch push, inspect and tags against the fixture registry, with skopeo
// as the oracle: what reg-fetch pushes skopeo pulls back with the same
// digests; what reg-fetch inspects skopeo inspects the same.
#include <set>
#include <vector>

#include "core/digest.hpp"
#include "core/fs.hpp"
#include "reg_fetch_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
std::set<std::string> layer_digests(const std::string& layout_dir, const std::string& manifest_digest) {
    Json m = Json::parse(read_file(layout_dir + "/blobs/sha256/" + manifest_digest.substr(7)));
    std::set<std::string> out;
    for (const auto& l : m["layers"]) out.insert(l["digest"]);
    out.insert(m["config"]["digest"].get<std::string>());
    return out;
}
} // namespace

TEST_F(RegFetchTest, PushedImagesComeBackThroughSkopeoWithTheSameDigests) {
    // A layout that names no image of this registry: every blob is uploaded,
    // the 50 MiB layer in 8 MiB PATCH chunks.
    ToolResult s = command({"skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + image("layered:latest"),
                            "oci:" + layout("src") + ":x"});
    ASSERT_EQ(s.status, 0) << s;
    std::string digest = tagged_digest(layout("src"), "x");
    std::string repo = unique_repository("layered");
    ToolResult r = reg_fetch({"push", "--quiet", "--chunk-size", "8m", layout("src") + ":x", image(repo + ":v1")});
    ASSERT_EQ(r.status, 0) << r;
    Json j = r.json();
    EXPECT_EQ(j["digest"], digest);
    EXPECT_EQ(j["reference"], image(repo + ":v1"));
    EXPECT_EQ(j["blobs"]["pushed"], 5);

    s = command({"skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + image(repo + ":v1"),
                 "oci:" + layout("back") + ":y"});
    ASSERT_EQ(s.status, 0) << s;
    EXPECT_EQ(tagged_digest(layout("back"), "y"), digest);
    EXPECT_EQ(layer_digests(layout("back"), digest), layer_digests(layout("src"), digest));

    // Again: the registry has every blob now.
    r = reg_fetch({"push", "--quiet", layout("src") + ":x", image(repo + ":v2")});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.json()["blobs"]["existing"], 5);
}

TEST_F(RegFetchTest, LargeBlobsGoUpInPatchChunksSmallOnesInOnePut) {
    // A registry of our own, to read its access log: which requests the push made.
    auto reg = start_registry(tmp() + "/plain", "");
    Json pulled = pull(image("layered:latest"), {"--layout", layout("l")});
    const uint64_t chunk = 8u << 20;
    ToolResult r = reg_fetch({"push", "--quiet", "--chunk-size", "8m", layout("l") + ":" + image("layered:latest"),
                              reg->address() + "/layered:v1"});
    ASSERT_EQ(r.status, 0) << r;
    // Another registry: nothing to mount from, every blob is uploaded.
    EXPECT_EQ(r.json()["blobs"]["pushed"], 5);
    EXPECT_EQ(r.json()["blobs"]["mounted"], 0);

    size_t patches = 0, large = 0;
    std::vector<Json> blobs(pulled["layers"].begin(), pulled["layers"].end());
    blobs.push_back(pulled["config"]);
    for (const Json& b : blobs) {
        uint64_t size = b["size"];
        if (size > chunk) {
            patches += (size + chunk - 1) / chunk;
            large++;
        }
    }
    ASSERT_GT(large, 0u) << "the fixture should hold a layer over 8 MiB";
    std::string log = read_file(reg->dir + "/registry.log");
    auto count = [&](const std::string& needle) {
        size_t n = 0;
        for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) n++;
        return n;
    };
    EXPECT_EQ(count("\"PATCH /v2/layered/blobs/uploads/"), patches) << log;
    // One closing PUT per blob: with the data for small blobs, empty after the chunks.
    EXPECT_EQ(count("\"PUT /v2/layered/blobs/uploads/"), 5u) << log;
    EXPECT_EQ(count("\"POST /v2/layered/blobs/uploads/"), 5u) << log;

    ToolResult s = command({"skopeo", "inspect", "--raw", "--tls-verify=false",
                            "docker://" + reg->address() + "/layered:v1"});
    ASSERT_EQ(s.status, 0) << s;
    EXPECT_EQ("sha256:" + Digest::sha256_of(s.out).encoded(), pulled["digest"]);
    s = command({"skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + reg->address() + "/layered:v1",
                 "oci:" + layout("back") + ":y"});
    ASSERT_EQ(s.status, 0) << s;
    EXPECT_EQ(tagged_digest(layout("back"), "y"), pulled["digest"]);
}

TEST_F(RegFetchTest, PushMountsBlobsFromTheRepositoryTheyCameFrom) {
    Json pulled = pull(image("layered:latest"), {"--layout", layout("l")});
    std::string repo = unique_repository("copy");
    ToolResult r = reg_fetch({"push", layout("l") + ":" + image("layered:latest"), image(repo + ":v1")});
    ASSERT_EQ(r.status, 0) << r;
    Json j = r.json();
    EXPECT_EQ(j["blobs"]["mounted"], 5);
    EXPECT_EQ(j["blobs"]["pushed"], 0);
    EXPECT_NE(r.err.find("\"status\":\"mounted\""), std::string::npos) << r.err;
    ToolResult s = command({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + image(repo + ":v1")});
    ASSERT_EQ(s.status, 0) << s;
    EXPECT_EQ("sha256:" + Digest::sha256_of(s.out).encoded(), pulled["digest"]);
}

TEST_F(RegFetchTest, PushOfAnIndexKeepsItsDigest) {
    ToolResult r = reg_fetch({"pull", "--quiet", "--all-platforms", "--layout", layout("l"), image("tiny:multiarch")});
    ASSERT_EQ(r.status, 0) << r;
    std::string index_digest = r.json_lines().at(0)["index_digest"];
    std::string repo = unique_repository("multi");
    r = reg_fetch({"push", "--quiet", "--chunk-size", "100k", layout("l") + ":" + image("tiny:multiarch"),
                   image(repo + ":v1")});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.json()["digest"], index_digest);
    ToolResult s = command({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + image(repo + ":v1")});
    ASSERT_EQ(s.status, 0) << s;
    EXPECT_EQ("sha256:" + Digest::sha256_of(s.out).encoded(), index_digest);
    s = command({"skopeo", "copy", "-q", "--src-tls-verify=false", "--override-arch", "arm64", "--override-variant",
                 "v8", "docker://" + image(repo + ":v1"), "oci:" + layout("arm") + ":a"});
    EXPECT_EQ(s.status, 0) << s;
}

TEST_F(RegFetchTest, PushOfAStoreImageDefaultsToItsOwnName) {
    pull(image("tiny:latest"));
    std::string repo = unique_repository("tiny");
    ToolResult r = reg_fetch({"push", "--quiet", image("tiny:latest"), image(repo + ":latest")});
    ASSERT_EQ(r.status, 0) << r;
    r = reg_fetch({"push", "--quiet", layout("missing") + ":x"});
    EXPECT_NE(r.status, 0) << r;
    r = reg_fetch({"push", "--quiet", image("nothing:here"), image(repo + ":x")});
    EXPECT_EQ(r.status, 4) << r;
}

TEST_F(RegFetchTest, InspectAndTagsMatchSkopeo) {
    for (const std::string& ref : {image("tiny:latest"), image("tiny:multiarch"), image("debian:bookworm")}) {
        ToolResult ours = reg_fetch({"inspect", ref});
        ASSERT_EQ(ours.status, 0) << ours;
        ToolResult theirs = command({"skopeo", "inspect", "--tls-verify=false", "docker://" + ref});
        ASSERT_EQ(theirs.status, 0) << theirs;
        Json a = ours.json(), b = theirs.json();
        for (const char* k : {"Name", "Digest", "Created", "DockerVersion", "Labels", "Architecture", "Os", "Layers", "Env"})
            EXPECT_EQ(a[k], b[k]) << ref << " " << k;
        std::set<std::string> ta(a["RepoTags"].begin(), a["RepoTags"].end());
        std::set<std::string> tb(b["RepoTags"].begin(), b["RepoTags"].end());
        EXPECT_EQ(ta, tb) << ref;

        ToolResult raw = reg_fetch({"inspect", "--raw", ref});
        ToolResult sraw = command({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + ref});
        EXPECT_EQ(raw.out, sraw.out) << ref;
        ToolResult cfg = reg_fetch({"inspect", "--config", ref});
        ToolResult scfg = command({"skopeo", "inspect", "--config", "--raw", "--tls-verify=false", "docker://" + ref});
        EXPECT_EQ(cfg.out, scfg.out) << ref;
    }
    ToolResult ours = reg_fetch({"tags", image("tiny")});
    ToolResult theirs = command({"skopeo", "list-tags", "--tls-verify=false", "docker://" + image("tiny")});
    ASSERT_EQ(ours.status, 0) << ours;
    ASSERT_EQ(theirs.status, 0) << theirs;
    Json oj = ours.json(), tj = theirs.json();
    EXPECT_EQ(oj["Repository"], tj["Repository"]);
    std::set<std::string> a(oj["Tags"].begin(), oj["Tags"].end());
    std::set<std::string> b(tj["Tags"].begin(), tj["Tags"].end());
    EXPECT_EQ(a, b);
}
