// img-unpack on the fixture images: flat and overlay bundles against the
// expectation lists, the bundle record, layer sharing, --release, and every
// way to name an image (layout, store, reg-fetch's JSON, docker save).
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "core/process.hpp"
#include "linux/mount.hpp"
#include "unpack_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

std::vector<std::string> layer_dirs(const std::string& layers) {
    std::vector<std::string> out;
    if (!std::filesystem::exists(layers)) return out;
    for (const auto& e : std::filesystem::directory_iterator(layers))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string mount_type(const std::string& path) {
    for (const auto& m : linux::read_mountinfo())
        if (m.mount_point == path) return m.fstype;
    return "";
}

} // namespace

class Bundle : public UnpackTest {};

TEST_F(Bundle, FlatTinyAndLayered) {
    std::string b = tmp() + "/tiny";
    Json j = unpack_ok({"--image", image("tiny", "latest")}, b);
    check_rootfs(b + "/rootfs", "tiny");
    EXPECT_EQ(j["bundle"], b);
    EXPECT_EQ(j["rootfs"], b + "/rootfs");
    EXPECT_EQ(j["config"], b + "/config.json");
    EXPECT_EQ(j["mode"], "flat");
    // the manifest named by the layout's index, the config, the chain
    Json index = read_json_file(fixture_layout("tiny") + "/index.json");
    EXPECT_EQ(j["image"], index["manifests"][0]["digest"]);
    EXPECT_EQ(j["image_id"], "sha256:ba84b042a97fff13cf3e886ac2987328aa38e851ae2d739d1f902e724f8bc40e");
    EXPECT_EQ(j["chain_id"], "sha256:01baeb3b4cc07c63c8424e609b009ccc52227a278f61abdbb369670d6b79a831");
    EXPECT_EQ(j["layers"].size(), 1u);
    EXPECT_EQ(j["reference"], "latest");
    EXPECT_EQ(read_json_file(b + "/ctk-bundle.json"), j);
    struct stat st;
    ASSERT_EQ(::stat(b.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u); // the rootfs holds setuid files
    EXPECT_FALSE(exists(ctk_root() + "/layers")); // flat needs no store

    std::string l = tmp() + "/layered";
    j = unpack_ok({"--image", image("layered", "latest")}, l);
    check_rootfs(l + "/rootfs", "layered");
    EXPECT_EQ(j["layers"].size(), 4u);
    EXPECT_EQ(j["chain_id"], j["layers"][3]);
    // nothing but the bundle's parts
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(l)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"config.json", "ctk-bundle.json", "rootfs"}));
}

TEST_F(Bundle, OverlaySharesLayersAndReleases) {
    std::string t = tmp() + "/tiny", l1 = tmp() + "/l1", l2 = tmp() + "/l2";
    Json j = unpack_ok({"--mode", "overlay", "--image", image("tiny", "latest")}, t);
    check_rootfs(t + "/rootfs", "tiny");
    EXPECT_EQ(j["mode"], "overlay");
    EXPECT_EQ(mount_type(t + "/rootfs"), "overlay");
    EXPECT_EQ(j["upper"], t + "/overlay/upper");
    std::string layers = ctk_root() + "/layers";
    std::string chain = j["chain_id"].get<std::string>().substr(7);
    Json record = read_json_file(layers + "/" + chain + "/layer.json");
    EXPECT_EQ(record["diff_id"], "sha256:01baeb3b4cc07c63c8424e609b009ccc52227a278f61abdbb369670d6b79a831");
    struct stat st;
    ASSERT_EQ(::stat(layers.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);

    // layered's first layer is tiny's blob: one more layer dir per other layer
    Json jl = unpack_ok({"--mode", "overlay", "--image", image("layered", "latest")}, l1);
    check_rootfs(l1 + "/rootfs", "layered");
    auto before = layer_dirs(layers);
    EXPECT_EQ(before.size(), 4u + 1u); // 4 chains and .locks
    Json jl2 = unpack_ok({"--mode", "overlay", "--image", image("layered", "latest")}, l2);
    EXPECT_EQ(layer_dirs(layers), before);
    EXPECT_EQ(jl2["chain_id"], jl["chain_id"]);
    check_rootfs(l2 + "/rootfs", "layered");

    // each bundle writes to its own upper layer
    write_file_atomic(l1 + "/rootfs/data/keep.txt", "changed\n");
    EXPECT_EQ(read_file(l2 + "/rootfs/data/keep.txt"), "keep\n");
    EXPECT_EQ(read_file(l1 + "/overlay/upper/data/keep.txt"), "changed\n");

    ToolResult r = unpack({"--release", l1});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.json()["released"], true);
    EXPECT_FALSE(exists(l1));
    EXPECT_EQ(mount_type(l1 + "/rootfs"), "");
    EXPECT_EQ(layer_dirs(layers), before); // layers stay for the next bundle
    check_rootfs(l2 + "/rootfs", "layered");
    r = unpack({"--release", l1});
    EXPECT_EQ(r.status, 4) << r;
}

TEST_F(Bundle, ReleaseFlatAndKeepsForeignFiles) {
    std::string b = tmp() + "/b";
    ASSERT_EQ(unpack({"--image", image("tiny", "latest"), b}).status, 0);
    write_file_atomic(b + "/container.json", "{}"); // ctl's own file
    ToolResult r = unpack({"--release", b});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_FALSE(exists(b + "/rootfs"));
    EXPECT_FALSE(exists(b + "/config.json"));
    EXPECT_TRUE(exists(b + "/container.json"));
    EXPECT_EQ(unpack({"--release", tmp() + "/nothing"}).status, 4);
}

TEST_F(Bundle, ReleaseRefusesABusyRootfs) {
    std::string b = tmp() + "/busy";
    unpack_ok({"--mode", "overlay", "--image", image("tiny", "latest")}, b);
    pid_t child = ::fork();
    if (child == 0) {
        if (::chdir((b + "/rootfs").c_str()) == 0) ::pause();
        ::_exit(1);
    }
    ASSERT_GT(child, 0);
    defer([child] {
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
    });
    ::usleep(200000); // the child is in the rootfs
    ToolResult r = unpack({"--release", b});
    EXPECT_EQ(r.status, 5) << r;
    EXPECT_NE(r.err.find("in use"), std::string::npos) << r;
    EXPECT_EQ(mount_type(b + "/rootfs"), "overlay");
}

TEST_F(Bundle, RefusesAnExistingBundle) {
    std::string b = tmp() + "/b";
    unpack_ok({"--image", image("tiny", "latest")}, b);
    ToolResult r = unpack({"--image", image("tiny", "latest"), b});
    EXPECT_EQ(r.status, 5) << r;
    EXPECT_NE(r.err.find("already has rootfs"), std::string::npos) << r;
    check_rootfs(b + "/rootfs", "tiny");
    // an existing empty directory is a fine bundle
    make_dirs(tmp() + "/empty");
    unpack_ok({"--image", image("tiny", "latest")}, tmp() + "/empty");
}

TEST_F(Bundle, ZstdAndPlatforms) {
    unpack_ok({"--image", image("zstd", "tiny")}, tmp() + "/z");
    check_rootfs(tmp() + "/z/rootfs", "tiny");
    unpack_ok({"--mode", "overlay", "--image", image("zstd", "tiny")}, tmp() + "/zo");
    check_rootfs(tmp() + "/zo/rootfs", "tiny");
    // an index: this host's platform by default, another on request
    unpack_ok({"--image", image("tiny", "multiarch")}, tmp() + "/host");
    check_rootfs(tmp() + "/host/rootfs", "tiny");
    Json j = unpack_ok({"--platform", "linux/arm64/v8", "--image", image("tiny", "multiarch")}, tmp() + "/arm");
    check_rootfs(tmp() + "/arm/rootfs", "arm64");
    EXPECT_EQ(j["platform"], "linux/arm64/v8");
    ToolResult r = unpack({"--platform", "linux/s390x", "--image", image("tiny", "multiarch"), tmp() + "/none"});
    EXPECT_EQ(r.status, 4) << r;
    EXPECT_FALSE(exists(tmp() + "/none"));
}

TEST_F(Bundle, ReadsRegFetchJsonOnStdin) {
    // What `reg-fetch pull 127.0.0.1:5000/tiny:multiarch` prints (CONTRACTS.md,
    // reg-fetch "pull: standard output"):
    // the manifest picked from the index, which index.json itself does not list.
    std::string layout = fixture_layout("tiny");
    Json index = read_json_file(layout + "/index.json");
    Json idx_desc;
    for (const auto& d : index["manifests"])
        if (d["annotations"]["org.opencontainers.image.ref.name"] == "multiarch") idx_desc = d;
    Json sub = Json::parse(read_file(layout + "/blobs/sha256/" + idx_desc["digest"].get<std::string>().substr(7)));
    Json manifest = sub["manifests"][0];
    ASSERT_EQ(manifest["platform"]["architecture"], "amd64");
    Json pulled = {{"reference", registry() + "/tiny:multiarch"},
                   {"ref_name", registry() + "/tiny:multiarch"},
                   {"layout", layout},
                   {"digest", manifest["digest"]},
                   {"index_digest", idx_desc["digest"]},
                   {"platform", "linux/amd64"},
                   {"manifest", manifest},
                   {"config", {{"mediaType", "x"}}},
                   {"layers", Json::array()},
                   {"some_future_field", true}};
    std::string b = tmp() + "/stdin";
    ToolResult r = unpack({"-", b}, pulled.dump() + "\n");
    ASSERT_EQ(r.status, 0) << r;
    defer([this, b] { run("img-unpack", {"--release", b}); });
    check_rootfs(b + "/rootfs", "tiny");
    EXPECT_EQ(r.json()["image"], manifest["digest"]);
    EXPECT_EQ(r.json()["reference"], registry() + "/tiny:multiarch");
    // the digest alone is enough; the command after the bundle still applies
    Json minimal = {{"layout", layout}, {"digest", manifest["digest"]}};
    r = unpack({"--mode", "overlay", "-", tmp() + "/stdin2", "echo", "hi"}, minimal.dump());
    ASSERT_EQ(r.status, 0) << r;
    defer([this] { run("img-unpack", {"--release", tmp() + "/stdin2"}); });
    EXPECT_EQ(read_json_file(tmp() + "/stdin2/config.json")["process"]["args"], Json({"echo", "hi"}));
    EXPECT_EQ(unpack({"-", tmp() + "/bad"}, "{\"layout\": 1}").status, 3);
    EXPECT_EQ(unpack({"-", tmp() + "/bad"}, "not json").status, 3);
}

TEST_F(Bundle, PipedFromRegFetchAllPlatforms) {
    // reg-fetch pull --all-platforms | img-unpack -: one object a line, the
    // host's image by default, --platform picks another.
    std::string layout = tmp() + "/pulled";
    ToolResult p = run("reg-fetch", {"pull", "-q", "--all-platforms", "--layout", layout, registry() + "/tiny:multiarch"});
    ASSERT_EQ(p.status, 0) << p;
    ASSERT_GE(std::count(p.out.begin(), p.out.end(), '\n'), 2) << p.out;
    ToolResult r = unpack({"-", tmp() + "/host"}, p.out);
    ASSERT_EQ(r.status, 0) << r;
    defer([this] { run("img-unpack", {"--release", tmp() + "/host"}); });
    check_rootfs(tmp() + "/host/rootfs", "tiny");
    EXPECT_EQ(r.json()["platform"], oci::Platform::host().str());
    r = unpack({"--platform", "linux/arm64", "--mode", "overlay", "-", tmp() + "/arm"}, p.out);
    ASSERT_EQ(r.status, 0) << r;
    defer([this] { run("img-unpack", {"--release", tmp() + "/arm"}); });
    check_rootfs(tmp() + "/arm/rootfs", "arm64");
    EXPECT_EQ(r.json()["platform"], "linux/arm64/v8");
    r = unpack({"--platform", "linux/s390x", "-", tmp() + "/none"}, p.out);
    EXPECT_EQ(r.status, 4) << r;
    EXPECT_NE(r.err.find("none for platform linux/s390x"), std::string::npos) << r.err;
    EXPECT_FALSE(exists(tmp() + "/none"));
}

TEST_F(Bundle, StoreLayoutAndShortNames) {
    // An image pulled into the store is named by its full normalised reference.
    oci::Layout src = oci::Layout::open(fixture_layout("tiny"));
    oci::Layout store = oci::Layout::create(ctk_root() + "/images");
    auto d = src.find("latest");
    ASSERT_TRUE(d.has_value());
    for (const auto& e : std::filesystem::directory_iterator(fixture_layout("tiny") + "/blobs/sha256"))
        std::filesystem::copy_file(e.path(), ctk_root() + "/images/blobs/sha256/" + e.path().filename().string(),
                                   std::filesystem::copy_options::skip_existing);
    store.tag(registry() + "/tiny:latest", *d);
    for (const auto& ref : {registry() + "/tiny:latest", registry() + "/tiny"}) {
        std::string b = tmp() + "/s" + std::to_string(ref.size());
        Json j = unpack_ok({"--image", ref}, b);
        check_rootfs(b + "/rootfs", "tiny");
        EXPECT_EQ(j["reference"], registry() + "/tiny:latest");
    }
    ToolResult r = unpack({"--image", registry() + "/absent", tmp() + "/absent"});
    EXPECT_EQ(r.status, 4) << r;
}

TEST_F(Bundle, DockerSaveArchives) {
    if (!have_program("skopeo")) GTEST_FAIL() << "skopeo is a declared peer (scripts/install-deps.sh)";
    // skopeo writes docker save's format: manifest.json, <id>.json, uncompressed layer tars
    std::string tiny = tmp() + "/tiny.tar", layered = tmp() + "/layered.tar";
    for (auto [src, dst, name] : {std::tuple{image("tiny", "latest"), tiny, "example/tiny:1"},
                                  std::tuple{image("layered", "latest"), layered, "example/layered:2"}}) {
        ToolResult r = run_command({"skopeo", "--insecure-policy", "copy", "--quiet", "oci:" + src,
                                    "docker-archive:" + dst + ":" + name});
        ASSERT_EQ(r.status, 0) << r;
    }
    Json j = unpack_ok({"--archive", tiny}, tmp() + "/a");
    check_rootfs(tmp() + "/a/rootfs", "tiny");
    EXPECT_EQ(j["reference"], "docker.io/example/tiny:1");
    EXPECT_EQ(j["image_id"], "sha256:ba84b042a97fff13cf3e886ac2987328aa38e851ae2d739d1f902e724f8bc40e");
    unpack_ok({"--archive", layered + ":example/layered:2"}, tmp() + "/l");
    check_rootfs(tmp() + "/l/rootfs", "layered");
    unpack_ok({"--mode", "overlay", "--archive", layered}, tmp() + "/lo");
    check_rootfs(tmp() + "/lo/rootfs", "layered");
    ToolResult r = unpack({"--archive", layered + ":example/other", tmp() + "/x"});
    EXPECT_EQ(r.status, 4) << r;
    // docker load takes gzip'd archives; img-unpack says what to do
    ToolResult gz = run_command({"gzip", "-k", tiny});
    ASSERT_EQ(gz.status, 0);
    r = unpack({"--archive", tiny + ".gz", tmp() + "/gz"});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_NE(r.err.find("gzip-compressed"), std::string::npos) << r;
}
