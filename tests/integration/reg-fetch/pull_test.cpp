// reg-fetch pull against the fixture registry: the contract JSON, the store
// layout, interop with skopeo and umoci, platforms, zstd, refusals that leave
// the layout alone, concurrency, interruption and resume, retries.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "core/digest.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "reg_fetch_test.hpp"

using namespace ctk;
using namespace ctk::test;
using namespace std::chrono_literals;

namespace {
bool has_partial(const std::string& dir) {
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().string().starts_with(".ctk-partial")) return true;
    return false;
}
} // namespace

TEST_F(RegFetchTest, PullIntoTheStorePrintsTheContractObject) {
    ToolResult r = reg_fetch({"pull", "--quiet", image("tiny:latest")});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.err, "") << "--quiet prints nothing on stderr";
    Json j = r.json();
    std::string store = ctk_root() + "/images";
    EXPECT_EQ(j["reference"], image("tiny:latest"));
    EXPECT_EQ(j["ref_name"], image("tiny:latest"));
    EXPECT_EQ(j["layout"], store);
    EXPECT_EQ(j["platform"], "linux/amd64");
    EXPECT_FALSE(j.contains("index_digest"));
    // The same manifest the fixture layout holds (the registry serves those bytes).
    std::string want = tagged_digest(fixture_layout("tiny"), "latest");
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(j["digest"], want);
    EXPECT_EQ(j["manifest"]["digest"], want);
    EXPECT_EQ(j["manifest"]["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    EXPECT_EQ(j["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
    ASSERT_EQ(j["layers"].size(), 1u);
    EXPECT_EQ(tagged_digest(store, image("tiny:latest")), want);
    for (const auto& d : {j["manifest"], j["config"], j["layers"][0]}) {
        std::string blob = store + "/blobs/sha256/" + d["digest"].get<std::string>().substr(7);
        ASSERT_TRUE(std::filesystem::exists(blob)) << blob;
        EXPECT_EQ(std::filesystem::file_size(blob), d["size"].get<uint64_t>());
    }
    expect_blobs_intact(store);
    EXPECT_FALSE(has_partial(store));
}

TEST_F(RegFetchTest, BlobsAlreadyPresentAreNotFetchedAgain) {
    pull(image("tiny:latest"));
    // Without --quiet and with stderr not a terminal: JSON progress lines.
    ToolResult r = reg_fetch({"pull", image("tiny:latest")});
    ASSERT_EQ(r.status, 0) << r;
    std::istringstream in(r.err);
    std::string line;
    int exists = 0, downloading = 0;
    while (std::getline(in, line)) {
        Json j = Json::parse(line); // every line is JSON
        std::string s = j["status"];
        exists += s == "exists";
        downloading += s == "downloading";
    }
    EXPECT_EQ(exists, 1) << r.err;
    EXPECT_EQ(downloading, 0) << r.err;
}

TEST_F(RegFetchTest, ProgressOnATerminalIsOneLinePerLayer) {
    if (!have_program("script")) GTEST_SKIP() << "needs script(1) for a pseudo-terminal";
    std::string cmd = tool_path("reg-fetch") + " pull --layout " + layout("l") + " " + image("layered:latest") +
                      " >" + tmp() + "/out.json";
    ToolResult r = command({"script", "-qec", cmd, "/dev/null"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find("Pull complete"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Digest: sha256:"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("{\"id\""), std::string::npos) << "no JSON progress on a terminal";
    // The stdout JSON is untouched by the progress lines.
    Json j = Json::parse(read_file(tmp() + "/out.json"));
    EXPECT_EQ(j["layers"].size(), 4u);
}

TEST_F(RegFetchTest, LayoutIsAcceptedBySkopeoAndUmoci) {
    std::string l = layout("l");
    Json j = pull(image("tiny:latest"), {"--layout", l, "--tag", "latest"});
    EXPECT_EQ(j["ref_name"], "latest");
    EXPECT_EQ(j["layout"], l);
    ToolResult u = command({"umoci", "unpack", "--image", l + ":latest", tmp() + "/bundle"});
    ASSERT_EQ(u.status, 0) << u;
    EXPECT_TRUE(std::filesystem::exists(tmp() + "/bundle/rootfs/bin/busybox"));
    ToolResult s = command({"skopeo", "copy", "-q", "oci:" + l + ":latest", "oci:" + layout("copy") + ":x"});
    ASSERT_EQ(s.status, 0) << s;
    EXPECT_EQ(tagged_digest(layout("copy"), "x"), j["digest"]);
}

TEST_F(RegFetchTest, PlatformIsChosenFromAnIndex) {
    std::string l = layout("l");
    Json amd = pull(image("tiny:multiarch"), {"--layout", l});
    EXPECT_EQ(amd["platform"], "linux/amd64");
    EXPECT_EQ(amd["digest"], tagged_digest(fixture_layout("tiny"), "latest"));
    EXPECT_TRUE(amd.contains("index_digest"));
    Json arm = pull(image("tiny:multiarch"), {"--layout", l, "--platform", "linux/arm64/v8", "--tag", "arm"});
    EXPECT_EQ(arm["platform"], "linux/arm64/v8");
    EXPECT_EQ(arm["index_digest"], amd["index_digest"]);
    // skopeo picks the same image for the same platform.
    ToolResult s = command({"skopeo", "copy", "-q", "--src-tls-verify=false", "--override-arch", "arm64",
                            "--override-variant", "v8", "docker://" + image("tiny:multiarch"),
                            "oci:" + layout("sk") + ":arm"});
    ASSERT_EQ(s.status, 0) << s;
    EXPECT_EQ(arm["digest"], tagged_digest(layout("sk"), "arm"));

    std::string before = listing(l);
    ToolResult r = reg_fetch({"pull", "--quiet", "--layout", l, "--platform", "linux/s390x", image("tiny:multiarch")});
    EXPECT_EQ(r.status, 4) << r;
    EXPECT_EQ(error_line(r), "reg-fetch: registry " + registry() +
                                 ": repository tiny: index \"multiarch\": no image for platform linux/s390x "
                                 "(it has linux/amd64, linux/arm64/v8)");
    EXPECT_EQ(listing(l), before);

    r = reg_fetch({"pull", "--quiet", "--layout", l, "--all-platforms", "--tag", "all", image("tiny:multiarch")});
    ASSERT_EQ(r.status, 0) << r;
    auto lines = r.json_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["platform"], "linux/amd64");
    EXPECT_EQ(lines[1]["platform"], "linux/arm64/v8");
    EXPECT_EQ(tagged_digest(l, "all"), amd["index_digest"]);
    expect_blobs_intact(l);
}

TEST_F(RegFetchTest, ZstdLayersArePulledVerbatim) {
    std::string l = layout("l");
    Json j = pull(image("tiny:zstd"), {"--layout", l});
    ASSERT_EQ(j["layers"].size(), 1u);
    EXPECT_EQ(j["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd");
    EXPECT_EQ(j["digest"], tagged_digest(fixture_layout("zstd"), "tiny"));
    expect_blobs_intact(l);
    ToolResult s = command({"skopeo", "copy", "-q", "oci:" + l + ":" + image("tiny:zstd"), "oci:" + layout("copy") + ":x"});
    EXPECT_EQ(s.status, 0) << s;
}

TEST_F(RegFetchTest, ABadDigestIsRefusedAndTheLayoutStaysAsItWas) {
    std::string l = layout("l");
    pull(image("tiny:latest"), {"--layout", l});
    std::string before = listing(l);
    std::string index = read_file(l + "/index.json");
    ToolResult r = reg_fetch({"pull", "--quiet", "--layout", l, image("evil:baddigest")});
    EXPECT_EQ(r.status, 3) << r;
    std::string e = error_line(r);
    EXPECT_TRUE(e.starts_with("reg-fetch: registry " + registry() +
                              ": repository evil: blob sha256:92fe0c9b232f58095e2855f8e4d24f299c3d32b4a5354c9a2fcc55cea8ee5651: "
                              "digest mismatch: expected sha256:92fe0c9b"))
        << e;
    EXPECT_EQ(listing(l), before);
    EXPECT_EQ(read_file(l + "/index.json"), index);

    // Into a layout the pull would make: nothing is left, not even an empty layout.
    r = reg_fetch({"pull", "--quiet", "--layout", layout("fresh"), image("evil:baddigest")});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_FALSE(std::filesystem::exists(layout("fresh")));
}

TEST_F(RegFetchTest, InvalidReferencesAreRefusedBeforeAnythingIsWritten) {
    for (const std::string& ref : {image("Tiny:latest"), image("tiny:la$t"), image("tiny@sha256:abc"), std::string("")}) {
        ToolResult r = reg_fetch({"pull", "--quiet", "--layout", layout("l"), ref});
        EXPECT_EQ(r.status, 3) << ref << "\n" << r;
        EXPECT_NE(error_line(r).find("invalid reference"), std::string::npos) << r;
        EXPECT_FALSE(std::filesystem::exists(layout("l"))) << ref;
    }
}

TEST_F(RegFetchTest, RegistryErrorsNameRegistryRepositoryAndObject) {
    ToolResult r = reg_fetch({"pull", "--quiet", "--layout", layout("l"), image("tiny:no-such-tag")});
    EXPECT_EQ(r.status, 4) << r;
    EXPECT_EQ(error_line(r), "reg-fetch: registry " + registry() +
                                 ": repository tiny: manifest \"no-such-tag\": HTTP 404 Not Found "
                                 "(MANIFEST_UNKNOWN: manifest unknown)");
    EXPECT_FALSE(std::filesystem::exists(layout("l")));

    set_registry_config({{"retries", 1}});
    std::string dead = "127.0.0.1:" + std::to_string(pick_port());
    r = reg_fetch({"pull", "--quiet", "--layout", layout("l"), dead + "/tiny:latest"});
    EXPECT_EQ(r.status, 6) << r;
    EXPECT_TRUE(error_line(r).starts_with("reg-fetch: registry " + dead + ": repository tiny: manifest \"latest\": "))
        << r;
    EXPECT_NE(error_line(r).find("(is the registry running?)"), std::string::npos) << r;

    for (int code : {429, 403}) {
        int port = pick_port();
        Daemon proxy = start_helper({"proxy", "--manifest-status", std::to_string(code)}, port, "proxy.log");
        std::string host = "127.0.0.1:" + std::to_string(port);
        r = reg_fetch({"pull", "--quiet", "--layout", layout("l"), host + "/tiny:latest"});
        EXPECT_EQ(r.status, 6) << r;
        std::string want = "reg-fetch: registry " + host + ": repository tiny: manifest \"latest\": HTTP " +
                           std::to_string(code) +
                           (code == 429 ? " Too Many Requests (TOOMANYREQUESTS: refused by the test proxy): retry after 30 s"
                                        : " Forbidden (DENIED: refused by the test proxy)");
        EXPECT_EQ(error_line(r), want);
    }
}

TEST_F(RegFetchTest, MalformedOversizeAndUnknownManifestsAreRefused) {
    std::string l = layout("l");
    pull(image("tiny:latest"), {"--layout", l});
    std::string before = listing(l);
    write_file_atomic(tmp() + "/big.json",
                      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","pad":")" +
                          std::string(5u << 20, 'x') + "\"}");
    write_file_atomic(tmp() + "/broken.json", R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)");
    write_file_atomic(tmp() + "/odd.json", R"({"schemaVersion":2,"mediaType":"application/vnd.example.thing+json"})");
    const std::string oci = "application/vnd.oci.image.manifest.v1+json";
    int port = pick_port();
    Daemon proxy = start_helper({"proxy", "--serve", "/v2/tiny/manifests/big=" + oci + "=" + tmp() + "/big.json",
                                 "--serve", "/v2/tiny/manifests/broken=" + oci + "=" + tmp() + "/broken.json",
                                 "--serve", "/v2/tiny/manifests/odd=application/vnd.example.thing+json=" + tmp() + "/odd.json"},
                                port, "proxy.log");
    std::string host = "127.0.0.1:" + std::to_string(port);
    struct Case {
        const char* tag;
        const char* message;
    };
    for (Case c : {Case{"big", "manifest \"big\": larger than 4194304 bytes, refused"},
                   Case{"broken", "manifest \"broken\": malformed JSON"},
                   Case{"odd", "manifest \"odd\": unsupported media type \"application/vnd.example.thing+json\""}}) {
        ToolResult r = reg_fetch({"pull", "--quiet", "--layout", l, host + "/tiny:" + c.tag});
        EXPECT_EQ(r.status, 3) << r;
        EXPECT_NE(error_line(r).find("registry " + host + ": repository tiny: " + c.message), std::string::npos) << r;
        EXPECT_EQ(listing(l), before) << c.tag;
    }
}

TEST_F(RegFetchTest, TwoConcurrentPullsIntoOneLayoutBothSucceed) {
    std::string l = layout("l");
    auto one = [&] { return reg_fetch({"pull", "--quiet", "--layout", l, image("layered:latest")}); };
    auto a = std::async(std::launch::async, one);
    auto b = std::async(std::launch::async, one);
    ToolResult ra = a.get(), rb = b.get();
    ASSERT_EQ(ra.status, 0) << ra;
    ASSERT_EQ(rb.status, 0) << rb;
    EXPECT_EQ(ra.json()["digest"], rb.json()["digest"]);
    // One copy of each blob (4 layers, config, manifest) and nothing else.
    size_t blobs = 0;
    for (const auto& e : std::filesystem::directory_iterator(l + "/blobs/sha256")) {
        (void)e;
        blobs++;
    }
    EXPECT_EQ(blobs, 6u);
    EXPECT_FALSE(has_partial(l));
    expect_blobs_intact(l);
    Json index = Json::parse(read_file(l + "/index.json"));
    EXPECT_EQ(index["manifests"].size(), 1u);
}

TEST_F(RegFetchTest, AKilledPullResumesWhereItStopped) {
    // The proxy sends 4 MiB of each big blob, then holds the connection: the
    // pull is caught mid-layer, every time.
    const uint64_t stall = 4u << 20;
    int port = pick_port();
    std::string host = "127.0.0.1:" + std::to_string(port);
    std::string l = layout("l");
    {
        Daemon proxy = start_helper({"proxy", "--stall-blob-after", std::to_string(stall)}, port, "stall.log");
        Daemon pull_process({tool_path("reg-fetch"), "pull", "--quiet", "--layout", l, host + "/layered:latest"},
                            tool_env(env()), tmp() + "/pull.out");
        std::string partial;
        auto deadline = std::chrono::steady_clock::now() + 60s;
        while (partial.empty() && std::chrono::steady_clock::now() < deadline) {
            if (std::filesystem::exists(l))
                for (const auto& e : std::filesystem::directory_iterator(l))
                    if (e.path().filename().string().starts_with(".ctk-partial") &&
                        std::filesystem::file_size(e.path()) >= stall)
                        partial = e.path().string();
            std::this_thread::sleep_for(10ms);
        }
        ASSERT_FALSE(partial.empty()) << read_file_if_exists(tmp() + "/pull.out").value_or("");
        pull_process.kill_now();
        EXPECT_EQ(std::filesystem::file_size(partial), stall);
    }
    EXPECT_EQ(tagged_digest(l, host + "/layered:latest"), "");

    // Again, through a proxy that behaves: the big layer continues at 4 MiB.
    int port2 = pick_port();
    Daemon proxy = start_helper({"proxy"}, port2, "plain.log");
    std::string host2 = "127.0.0.1:" + std::to_string(port2);
    Json j = pull(host2 + "/layered:latest", {"--layout", l});
    EXPECT_EQ(j["digest"], tagged_digest(fixture_layout("layered"), "latest"));
    bool resumed = false;
    for (const auto& e : read_log("plain.log"))
        resumed |= e["range"].is_string() && e["range"] == "bytes=" + std::to_string(stall) + "-";
    EXPECT_TRUE(resumed) << read_file(tmp() + "/plain.log");
    EXPECT_FALSE(has_partial(l));
    expect_blobs_intact(l);
    ToolResult s = command({"skopeo", "copy", "-q", "oci:" + l + ":" + host2 + "/layered:latest", "oci:" + layout("copy") + ":x"});
    EXPECT_EQ(s.status, 0) << s;
}

TEST_F(RegFetchTest, TransientFailuresAreRetriedAndCutTransfersResume) {
    int port = pick_port();
    Daemon proxy = start_helper({"proxy", "--fail-blob-gets", "2", "--cut-blob-after", "300000"}, port, "proxy.log");
    std::string host = "127.0.0.1:" + std::to_string(port);
    ToolResult r = reg_fetch({"pull", "--layout", layout("l"), host + "/tiny:latest"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.err.find("\"status\":\"retrying\""), std::string::npos) << r.err;
    int unavailable = 0;
    bool ranged = false;
    for (const auto& e : read_log("proxy.log")) {
        if (e["method"] == "GET" && e["path"].get<std::string>().find("/blobs/") != std::string::npos) unavailable++;
        ranged |= e["range"] == "bytes=300000-";
    }
    EXPECT_GE(unavailable, 4); // two 503s, the cut one, the ranged one (and the config)
    EXPECT_TRUE(ranged) << read_file(tmp() + "/proxy.log");
    expect_blobs_intact(layout("l"));
}

TEST_F(RegFetchTest, DockerSchema2ManifestsAndListsArePulled) {
    std::string repo = unique_repository("docker");
    ToolResult s = command({"skopeo", "copy", "-q", "--all", "--format", "v2s2", "--src-tls-verify=false",
                            "--dest-tls-verify=false", "docker://" + image("tiny:multiarch"),
                            "docker://" + image(repo + ":multi")});
    ASSERT_EQ(s.status, 0) << s;
    std::string l = layout("l");
    Json j = pull(image(repo + ":multi"), {"--layout", l, "--platform", "linux/arm64/v8"});
    EXPECT_EQ(j["manifest"]["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    EXPECT_EQ(j["config"]["mediaType"], "application/vnd.docker.container.image.v1+json");
    EXPECT_EQ(j["platform"], "linux/arm64/v8");
    ToolResult raw = reg_fetch({"inspect", "--raw", image(repo + ":multi")});
    ASSERT_EQ(raw.status, 0) << raw;
    EXPECT_EQ(Json::parse(raw.out)["mediaType"], "application/vnd.docker.distribution.manifest.list.v2+json");
    EXPECT_EQ(j["index_digest"], "sha256:" + Digest::sha256_of(raw.out).encoded());
    // Kept as served (the digest is the image's identity), not converted to OCI
    // as skopeo does; skopeo 1.9's oci: transport lists only OCI media types.
    EXPECT_EQ(tagged_digest(l, image(repo + ":multi")), j["digest"]);
    Json m = Json::parse(read_file(l + "/blobs/sha256/" + j["digest"].get<std::string>().substr(7)));
    EXPECT_EQ(m["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    expect_blobs_intact(l);
}

TEST_F(RegFetchTest, APullByDigestIsTaggedByNameAndDigest) {
    std::string digest = tagged_digest(fixture_layout("tiny"), "latest");
    Json j = pull(image("tiny@" + digest), {"--layout", layout("l")});
    EXPECT_EQ(j["reference"], image("tiny@" + digest));
    EXPECT_EQ(j["ref_name"], image("tiny@" + digest));
    EXPECT_EQ(tagged_digest(layout("l"), image("tiny@" + digest)), digest);
    // A digest the registry serves other bytes for would be refused; a digest
    // it does not know is not found.
    ToolResult r = reg_fetch({"pull", "--quiet", "--layout", layout("l"),
                              image("tiny@sha256:" + std::string(64, '0'))});
    EXPECT_EQ(r.status, 4) << r;
}

TEST_F(RegFetchTest, AFullDiskKeepsNoPartialBlobAndTheNextPullSucceeds) {
    // debian's 47 MiB layer cannot fit in 8 MiB; tiny's 1 MiB can, once the
    // failed pull's bytes are gone.
    std::string small = tmp() + "/small";
    make_dirs(small);
    ToolResult m = command({"mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", small});
    ASSERT_EQ(m.status, 0) << m;
    defer([this, small] { command({"umount", "-l", small}); });
    std::string l = small + "/l";
    ToolResult r = reg_fetch({"pull", "--quiet", "--layout", l, image("debian:bookworm")});
    EXPECT_EQ(r.status, 1) << r;
    std::string e = error_line(r);
    EXPECT_TRUE(e.starts_with("reg-fetch: registry " + registry() + ": repository debian: blob sha256:bc7de646"))
        << e;
    EXPECT_NE(e.find("ENOSPC"), std::string::npos) << e;
    if (std::filesystem::exists(l))
        for (const auto& f : std::filesystem::directory_iterator(l)) {
            std::string n = f.path().filename();
            EXPECT_FALSE(n.starts_with(".ctk-partial") || n.starts_with(".tmp-blob")) << n;
        }
    for (int i = 0; i < 2; i++) {
        Json j = pull(image("tiny:latest"), {"--layout", l});
        EXPECT_EQ(j["digest"], tagged_digest(fixture_layout("tiny"), "latest"));
    }
    expect_blobs_intact(l);
}

TEST_F(RegFetchTest, ACorruptPartialBlobIsFetchedAgainInTheSamePull) {
    std::string l = layout("l");
    Json want = Json::parse(read_file(fixture_layout("tiny") + "/blobs/sha256/" +
                                      tagged_digest(fixture_layout("tiny"), "latest").substr(7)));
    std::string layer = want["layers"][0]["digest"];
    make_dirs(l);
    // 1000 bytes that are not the blob's first 1000: the resumed download cannot verify.
    write_file_atomic(l + "/.ctk-partial-sha256-" + layer.substr(7), std::string(1000, 'x'));
    ToolResult r = reg_fetch({"pull", "--layout", l, image("tiny:latest")});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.err.find("\"status\":\"resuming\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("starting it over"), std::string::npos) << r.err;
    EXPECT_FALSE(has_partial(l));
    expect_blobs_intact(l);
    EXPECT_EQ(tagged_digest(l, image("tiny:latest")), tagged_digest(fixture_layout("tiny"), "latest"));
}

TEST_F(RegFetchTest, StalePartialsAreCollectedByTheNextPull) {
    std::string l = layout("l");
    pull(image("tiny:latest"), {"--layout", l});
    std::string old_partial = l + "/.ctk-partial-sha256-" + std::string(64, 'a');
    std::string old_temp = l + "/.tmp-blob-0123456789abcdef";
    std::string young = l + "/.ctk-partial-sha256-" + std::string(64, 'b');
    for (const auto& p : {old_partial, old_temp, young}) write_file_atomic(p, std::string(4096, 'x'));
    std::string held = l + "/.ctk-partial-sha256-" + std::string(64, 'c');
    write_file_atomic(held, "x");
    // two hours old; `held` is old too but locked, as a live pull holds its partial
    for (const auto& p : {old_partial, old_temp, held})
        ASSERT_EQ(command({"touch", "-d", "2 hours ago", p}).status, 0);
    Daemon holder({"flock", held, "sleep", "60"}, tool_env(env()), tmp() + "/flock.out");
    for (int i = 0; i < 100 && command({"flock", "-n", held, "true"}).status == 0; i++)
        std::this_thread::sleep_for(10ms);
    pull(image("tiny:latest"), {"--layout", l});
    EXPECT_FALSE(std::filesystem::exists(old_partial));
    EXPECT_FALSE(std::filesystem::exists(old_temp));
    EXPECT_TRUE(std::filesystem::exists(young)) << "a partial of the last hour is kept for a resume";
    EXPECT_TRUE(std::filesystem::exists(held)) << "a locked partial belongs to a live pull";
}
