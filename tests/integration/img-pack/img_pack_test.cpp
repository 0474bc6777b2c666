// img-pack, the image object's write side: every subcommand against the
// fixture images of the loopback registry, what peers make of its output
// (umoci unpack, skopeo), what it makes of theirs, and bad input that must
// leave the layout exactly as it was.
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "core/digest.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "tool_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class ImgPack : public ToolTest {
protected:
    int uppers_ = 0;
    std::string layout() const { return ctk_root() + "/images"; }
    std::string tiny() const { return registry() + "/tiny:latest"; }

    ToolResult pack(const std::vector<std::string>& args, const std::string& input = "",
                    const std::vector<std::string>& env = {}) {
        return run("img-pack", args, input, env);
    }
    Json pack_ok(const std::vector<std::string>& args, const std::string& input = "") {
        ToolResult r = pack(args, input);
        EXPECT_EQ(r.status, 0) << r;
        if (r.status != 0) return Json();
        return r.json();
    }
    void pull_tiny() {
        ToolResult r = run("reg-fetch", {"pull", "--quiet", tiny()});
        ASSERT_EQ(r.status, 0) << r;
    }
    std::string sh(const std::string& script) {
        ToolResult r = run_command({"sh", "-c", script});
        EXPECT_EQ(r.status, 0) << script << "\n" << r;
        return r.out;
    }
    // Every path, type, mode, size and file content of a tree: equal hashes, equal trees.
    std::string tree_hash(const std::string& dir) {
        return sh("cd '" + dir + "' && { find . -printf '%p %y %m %s %l\\n' | LC_ALL=C sort; "
                  "find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum; } | sha256sum");
    }
    std::string blob(const std::string& digest) const { return layout() + "/blobs/sha256/" + digest.substr(7); }
    Json blob_json(const std::string& digest) { return read_json_file(blob(digest)); }
    // `tar -tv` of a gzip'd layer blob, names only.
    std::string layer_names(const std::string& digest) {
        return sh("gzip -dc '" + blob(digest) + "' | tar -t | LC_ALL=C sort");
    }
    // An overlay bundle `ob` and a flat one `fb` of tiny, released at the end.
    void unpack_both(const std::string& ob, const std::string& fb) {
        pull_tiny();
        ToolResult o = run("img-unpack", {"--mode", "overlay", "--image", tiny(), ob});
        ASSERT_EQ(o.status, 0) << o;
        defer([this, ob] { run("img-unpack", {"--release", ob}); });
        ToolResult f = run("img-unpack", {"--mode", "flat", "--image", tiny(), fb});
        ASSERT_EQ(f.status, 0) << f;
        defer([this, fb] { run("img-unpack", {"--release", fb}); });
    }
    // A directory tree to commit: /etc/motd added, /bin/true deleted (an overlay whiteout).
    std::string make_upper() {
        std::string up = tmp() + "/upper-" + std::to_string(uppers_++);
        sh("mkdir -p " + up + "/etc " + up + "/bin && echo hello > " + up + "/etc/motd && mknod " + up +
           "/bin/true c 0 0");
        return up;
    }
};

} // namespace

TEST_F(ImgPack, HelpVersionAndUsage) {
    CTK_REQUIRE_ROOT();
    ToolResult h = pack({"--help"});
    EXPECT_EQ(h.status, 0);
    for (const char* verb : {"layer", "commit", "tag", "untag", "rm", "import", "save", "load"})
        EXPECT_NE(h.out.find(std::string("img-pack ") + verb), std::string::npos) << verb << "\n" << h.out;
    EXPECT_EQ(pack({"--version"}).out.rfind("img-pack ", 0), 0u);
    EXPECT_EQ(pack({}).status, 2);
    EXPECT_EQ(pack({"layer"}).status, 2);                                         // no source
    EXPECT_EQ(pack({"layer", "--upper", "a", "--diff", "b", "c"}).status, 2);     // two sources
    EXPECT_EQ(pack({"commit", "--upper", tmp()}).status, 2);                      // no --base
    EXPECT_TRUE(exists(source_dir() + "/man/img-pack.1"));
}

TEST_F(ImgPack, LayerFromAnUpperDirAndADiff) {
    CTK_REQUIRE_ROOT();
    std::string up = make_upper();
    Json l = pack_ok({"layer", "--upper", up});
    ASSERT_TRUE(l.is_object());
    EXPECT_EQ(l["entries"], 4);
    EXPECT_EQ(l["media_type"], "application/vnd.oci.image.layer.v1.tar+gzip");
    EXPECT_EQ(layer_names(l["digest"]), "bin/\nbin/.wh.true\netc/\netc/motd\n");
    // its digest is the blob's sha256, its diff_id the tar's
    EXPECT_EQ("sha256:" + sh("sha256sum < " + blob(l["digest"]) + " | cut -c1-64").substr(0, 64), l["digest"]);
    EXPECT_EQ("sha256:" + sh("gzip -dc " + blob(l["digest"]) + " | sha256sum | cut -c1-64").substr(0, 64),
              l["diff_id"]);
    // nothing changed: no blob
    sh("mkdir -p " + tmp() + "/empty");
    std::string before = tree_hash(layout());
    Json e = pack_ok({"layer", "--upper", tmp() + "/empty"});
    EXPECT_EQ(e["entries"], 0);
    EXPECT_TRUE(e["digest"].is_null());
    EXPECT_EQ(tree_hash(layout()), before);
    // a diff: added, changed and removed paths; --exclude leaves one out
    sh("mkdir -p " + tmp() + "/lo/a " + tmp() + "/hi/a && echo 1 > " + tmp() + "/lo/a/f && echo 2 > " + tmp() +
       "/hi/a/f && echo x > " + tmp() + "/lo/gone && echo n > " + tmp() + "/hi/new && echo s > " + tmp() +
       "/hi/secret && touch -d @100 " + tmp() + "/lo/a/f && touch -d @200 " + tmp() + "/hi/a/f && touch -d @0 " +
       tmp() + "/lo/a " + tmp() + "/hi/a");
    Json d = pack_ok({"layer", "--diff", tmp() + "/lo", tmp() + "/hi", "--exclude", "/secret"});
    EXPECT_EQ(layer_names(d["digest"]), ".wh.gone\na/\na/f\nnew\n");
}

TEST_F(ImgPack, CommitOfAnUpperDirIsReadByUmociAndSkopeo) {
    CTK_REQUIRE_ROOT();
    pull_tiny();
    std::string up = make_upper();
    std::string name = registry() + "/motd:1";
    Json c;
    ToolResult bad = pack({"commit", "--base", "nosuch", "--upper", up});
    EXPECT_EQ(bad.status, 4) << bad;
    EXPECT_EQ(bad.err, "img-pack: No such image: nosuch\n");
    c = pack_ok({"commit", "--base", tiny(), "--upper", up, "--tag", name, "--created", "2026-01-02T03:04:05Z"});
    ASSERT_TRUE(c.is_object());
    EXPECT_EQ(c["tags"], Json({name}));
    EXPECT_EQ(c["layer"]["entries"], 4);
    Json m = blob_json(c["manifest"]["digest"]);
    EXPECT_EQ(m["layers"].size(), 2u);
    EXPECT_EQ(m["config"]["digest"], c["id"]);
    Json cfg = blob_json(c["id"]);
    EXPECT_EQ(cfg["created"], "2026-01-02T03:04:05Z");
    EXPECT_EQ(cfg["rootfs"]["diff_ids"][1], c["layer"]["diff_id"]);

    // umoci applies the layer: the file is there, the whiteout took /bin/true away
    ToolResult u = run_command({"umoci", "unpack", "--image", layout() + ":" + name, tmp() + "/u"});
    ASSERT_EQ(u.status, 0) << u;
    EXPECT_EQ(read_file(tmp() + "/u/rootfs/etc/motd"), "hello\n");
    EXPECT_FALSE(exists(tmp() + "/u/rootfs/bin/true"));
    EXPECT_TRUE(exists(tmp() + "/u/rootfs/bin/sh"));
    // img-unpack makes the same tree
    ToolResult f = run("img-unpack", {"--image", layout() + ":" + name, tmp() + "/f"});
    ASSERT_EQ(f.status, 0) << f;
    EXPECT_EQ(tree_hash(tmp() + "/u/rootfs"), tree_hash(tmp() + "/f/rootfs"));
    run("img-unpack", {"--release", tmp() + "/f"});

    // skopeo copies it (checking every digest) to a docker-archive; the same files come out
    ToolResult s = run_command({"skopeo", "copy", "-q", "oci:" + layout() + ":" + name,
                                "docker-archive:" + tmp() + "/sk.tar:x/motd:1"});
    ASSERT_EQ(s.status, 0) << s;
    ToolResult back = run("img-pack", {"--layout", tmp() + "/other", "load", "-i", tmp() + "/sk.tar"});
    ASSERT_EQ(back.status, 0) << back;
    EXPECT_EQ(back.json()["loaded"][0]["id"], c["id"]);
    EXPECT_EQ(back.json()["loaded"][0]["tags"], Json({"x/motd:1"}));
    ToolResult u2 = run_command({"umoci", "unpack", "--image", tmp() + "/other:docker.io/x/motd:1", tmp() + "/u2"});
    ASSERT_EQ(u2.status, 0) << u2;
    EXPECT_EQ(tree_hash(tmp() + "/u/rootfs"), tree_hash(tmp() + "/u2/rootfs"));
}

TEST_F(ImgPack, CommitConfigChangesAndHistory) {
    CTK_REQUIRE_ROOT();
    pull_tiny();
    write_file_atomic(tmp() + "/config.json",
                      R"({"Cmd":["sleep","1"],"Env":["A=1","PATH=/bin"],"Labels":{"k":"v"},"User":null})");
    Json c = pack_ok({"commit", "--base", tiny(), "--upper", make_upper(), "--config", tmp() + "/config.json",
                      "--change", "ENV B=$A-2", "--change", "EXPOSE 80 53/udp", "--change", "WORKDIR srv",
                      "--change", "LABEL k=w", "--author", "me", "--message", "a commit"});
    Json cfg = blob_json(c["id"]);
    EXPECT_EQ(cfg["config"]["Cmd"], Json({"sleep", "1"}));
    EXPECT_EQ(cfg["config"]["Env"], Json({"A=1", "PATH=/bin", "B=1-2"}));
    EXPECT_TRUE(cfg["config"]["ExposedPorts"].contains("80/tcp"));
    EXPECT_TRUE(cfg["config"]["ExposedPorts"].contains("53/udp"));
    EXPECT_EQ(cfg["config"]["WorkingDir"], "/srv");
    EXPECT_EQ(cfg["config"]["Labels"]["k"], "w");
    EXPECT_EQ(cfg["author"], "me");
    Json h = cfg["history"].back();
    EXPECT_EQ(h["created_by"], "sleep 1");
    EXPECT_EQ(h["comment"], "a commit");
    EXPECT_EQ(h["author"], "me");
    EXPECT_FALSE(h.value("empty_layer", false));
    // no layer: an empty_layer entry with Docker's #(nop) form; untagged but listed
    Json n = pack_ok({"commit", "--base", c["id"], "--change", "CMD [\"true\"]"});
    EXPECT_TRUE(n["layer"].is_null());
    EXPECT_EQ(n["tags"], Json::array());
    Json ncfg = blob_json(n["id"]);
    EXPECT_EQ(ncfg["history"].back()["created_by"], "/bin/sh -c #(nop)  CMD [\"true\"]");
    EXPECT_EQ(ncfg["history"].back()["empty_layer"], true);
    EXPECT_EQ(ncfg["rootfs"]["diff_ids"], cfg["rootfs"]["diff_ids"]);
    Json index = read_json_file(layout() + "/index.json");
    bool listed = false;
    for (const auto& d : index["manifests"]) listed |= d["digest"] == n["manifest"]["digest"];
    EXPECT_TRUE(listed);
    // a bad --change: 3, naming the instruction, nothing written
    std::string before = tree_hash(layout());
    ToolResult r = pack({"commit", "--base", tiny(), "--upper", make_upper(), "--change", "RUN make"});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(r.err, "img-pack: \"RUN\" is not a valid change command\n");
    r = pack({"commit", "--base", tiny(), "--change", "EXPOSE"});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_NE(r.err.find("EXPOSE"), std::string::npos) << r.err;
    EXPECT_EQ(tree_hash(layout()), before);
}

TEST_F(ImgPack, SameInputsAndTimeGiveTheSameImage) {
    CTK_REQUIRE_ROOT();
    pull_tiny();
    std::string up = make_upper();
    std::vector<std::string> args = {"commit", "--base", tiny(), "--upper", up, "--change", "CMD [\"cat\"]",
                                     "--created", "2026-01-02T03:04:05.5Z"};
    Json a = pack_ok(args);
    Json b = pack_ok(args);
    EXPECT_EQ(a["id"], b["id"]);
    EXPECT_EQ(a["manifest"], b["manifest"]);
    // SOURCE_DATE_EPOCH stands in for --created
    std::vector<std::string> noc(args.begin(), args.end() - 2);
    ToolResult c = pack(noc, "", {"SOURCE_DATE_EPOCH=1767323045"});
    ToolResult d = pack(noc, "", {"SOURCE_DATE_EPOCH=1767323045"});
    ASSERT_EQ(c.status, 0) << c;
    EXPECT_EQ(c.json()["id"], d.json()["id"]);
    EXPECT_EQ(blob_json(c.json()["id"])["created"], "2026-01-02T03:04:05Z");
    // from scratch with the layer blob of the first commit: the same diff_id
    Json s = pack_ok({"commit", "--base", "scratch", "--platform", "linux/arm64", "--layer",
                      a["layer"]["digest"], "--created", "2026-01-02T03:04:05Z"});
    Json scfg = blob_json(s["id"]);
    EXPECT_EQ(scfg["architecture"], "arm64");
    EXPECT_EQ(scfg["rootfs"]["diff_ids"], Json({a["layer"]["diff_id"]}));
}

TEST_F(ImgPack, BundlesOverlayAndFlat) {
    CTK_REQUIRE_ROOT();
    std::string ob = tmp() + "/ob", fb = tmp() + "/fb";
    ASSERT_NO_FATAL_FAILURE(unpack_both(ob, fb));
    for (const auto& b : {ob, fb})
        sh("echo hi > " + b + "/rootfs/etc/motd && echo box > " + b + "/rootfs/etc/hostname && rm " + b +
           "/rootfs/bin/true && mkdir -p " + b + "/rootfs/srv && touch " + b + "/rootfs/srv/x");
    Json lo = pack_ok({"layer", "--bundle", ob});
    Json lf = pack_ok({"layer", "--bundle", fb, "--exclude", "srv/x"});
    // the runtime's mount points stay out (etc/hostname), --exclude too
    EXPECT_EQ(layer_names(lo["digest"]), "bin/\nbin/.wh.true\netc/\netc/motd\nsrv/\nsrv/x\n");
    EXPECT_EQ(layer_names(lf["digest"]), "bin/\nbin/.wh.true\netc/\netc/motd\nsrv/\n");
    Json c = pack_ok({"commit", "--base", tiny(), "--bundle", ob, "--tag", "ob:1"});
    EXPECT_EQ(c["layer"]["diff_id"], lo["diff_id"]);
}

TEST_F(ImgPack, DiffListsABundlesChangesAsDockerDiff) {
    CTK_REQUIRE_ROOT();
    std::string ob = tmp() + "/ob", fb = tmp() + "/fb";
    ASSERT_NO_FATAL_FAILURE(unpack_both(ob, fb));
    // nothing changed yet (img-unpack's own mount points are not changes)
    EXPECT_EQ(pack_ok({"diff", ob}), Json::array());
    EXPECT_EQ(pack_ok({"diff", fb}), Json::array());
    for (const auto& b : {ob, fb})
        sh("cd " + b + "/rootfs && echo hi > etc/motd && echo x >> etc/passwd && echo box > etc/hostname && "
           "rm bin/true && mkdir -p tmp/new/sub && touch tmp/new/sub/f && rm -r root && chmod 700 var && "
           "mkdir srv");
    auto text = [](const Json& changes) {
        std::string s;
        for (const auto& c : changes) s += std::string(1, "CAD"[c["Kind"].get<int>()]) + " " + c["Path"].get<std::string>() + "\n";
        return s;
    };
    // Docker's kinds and order: parents first; a touched directory is changed, not the ones on the way
    EXPECT_EQ(text(pack_ok({"diff", ob})),
              "C /bin\nD /bin/true\nC /etc\nA /etc/motd\nC /etc/passwd\nD /root\nA /srv\nC /tmp\nA /tmp/new\n"
              "A /tmp/new/sub\nA /tmp/new/sub/f\nC /var\n");
    EXPECT_EQ(text(pack_ok({"diff", fb})),
              "C /bin\nD /bin/true\nC /etc\nA /etc/motd\nC /etc/passwd\nD /root\nA /srv\nC /tmp\nA /tmp/new\n"
              "A /tmp/new/sub\nA /tmp/new/sub/f\nC /var\n");
    ToolResult none = pack({"diff", tmp()});
    EXPECT_EQ(none.status, 3) << none;
    EXPECT_NE(none.err.find("has no ctk-bundle.json"), std::string::npos) << none;
}

TEST_F(ImgPack, TagUntagRmAndManifestDigests) {
    CTK_REQUIRE_ROOT();
    pull_tiny();
    Json a = pack_ok({"commit", "--base", tiny(), "--upper", make_upper(), "--tag", "a:1"});
    Json t = pack_ok({"tag", "a:1", "b", "127.0.0.1:5000/b:2"});
    EXPECT_EQ(t["id"], a["id"]);
    EXPECT_EQ(t["tags"], Json({"docker.io/library/b:latest", "127.0.0.1:5000/b:2"}));
    // a name moves: b now names tiny
    Json tt = pack_ok({"tag", tiny(), "b"});
    Json ids = pack_ok({"tag", a["id"].get<std::string>().substr(7, 12), "c"});
    EXPECT_EQ(ids["id"], a["id"]);
    EXPECT_EQ(pack({"tag", "nosuch", "x"}).status, 4);
    EXPECT_EQ(pack({"tag", "a:1", "Bad Name"}).status, 3);
    // untag removes names, refuses IDs
    EXPECT_EQ(pack_ok({"untag", "c", "127.0.0.1:5000/b:2"}), Json({{"untagged", {"docker.io/library/c:latest",
                                                                                  "127.0.0.1:5000/b:2"}}}));
    ToolResult r = pack({"untag", a["id"]});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(pack({"untag", "c"}).status, 4);
    // @sha256:<manifest>: an image no index entry lists is still a base
    EXPECT_EQ(pack_ok({"untag", "a:1"})["untagged"], Json({"docker.io/library/a:1"}));
    std::string at = "@" + a["manifest"]["digest"].get<std::string>();
    Json step = pack_ok({"commit", "--base", at, "--change", "ENV S=1", "--tag", "step:1"});
    EXPECT_EQ(blob_json(step["id"])["rootfs"]["diff_ids"], blob_json(a["id"])["rootfs"]["diff_ids"]);
    Json st = pack_ok({"tag", a["manifest"]["digest"], "again:1"});
    EXPECT_EQ(st["id"], a["id"]);
    // rm by ID with two names is a conflict without --force
    pack_ok({"tag", "again:1", "again:2"});
    r = pack({"rm", a["id"]});
    EXPECT_EQ(r.status, 5) << r;
    // rm by name: the name, then the image and the blobs only it used
    Json rm1 = pack_ok({"rm", "again:2"});
    EXPECT_EQ(rm1, Json::parse(R"([{"Untagged":"again:2"},{"Untagged":"again@)" +
                               a["manifest"]["digest"].get<std::string>() + R"("}])"));
    std::string layer_blob = blob(a["layer"]["digest"]);
    EXPECT_TRUE(exists(layer_blob));
    Json rm2 = pack_ok({"rm", "again:1", "step:1"});
    EXPECT_EQ(rm2[2], Json({{"Deleted", a["id"]}}));
    EXPECT_FALSE(exists(blob(a["manifest"]["digest"])));
    EXPECT_FALSE(exists(layer_blob));
    EXPECT_TRUE(exists(blob(tt["id"])));        // tiny's config stays
    EXPECT_EQ(pack({"rm", "again:1"}).status, 4);
}

TEST_F(ImgPack, ImportTarballsAndADirectory) {
    CTK_REQUIRE_ROOT();
    sh("mkdir -p " + tmp() + "/rootfs/etc " + tmp() + "/rootfs/bin && echo hi > " + tmp() +
       "/rootfs/etc/motd && ln -s motd " + tmp() + "/rootfs/etc/link && ln " + tmp() + "/rootfs/etc/motd " +
       tmp() + "/rootfs/bin/hard");
    sh("tar -C " + tmp() + "/rootfs -czf " + tmp() + "/r.tgz . && tar -C " + tmp() + "/rootfs -cJf " + tmp() +
       "/r.txz . && tar -C " + tmp() + "/rootfs -cf " + tmp() + "/r.tar . && zstd -q " + tmp() + "/r.tar -o " +
       tmp() + "/r.tzst");
    std::string id;
    for (const char* f : {"r.tgz", "r.txz", "r.tar", "r.tzst"}) {
        Json j = pack_ok({"import", tmp() + "/" + f, "--tag", "imp:1", "--change", "CMD [\"cat\",\"/etc/motd\"]",
                          "--created", "2026-01-01T00:00:00Z", "--message", "m"});
        ASSERT_TRUE(j.is_object()) << f;
        if (id.empty()) id = j["id"];
        EXPECT_EQ(j["id"], id) << f << ": the same tar whatever the compression";
        EXPECT_EQ(j["tags"], Json({"docker.io/library/imp:1"}));
    }
    Json cfg = blob_json(id);
    EXPECT_EQ(cfg["config"]["Cmd"], Json({"cat", "/etc/motd"}));
    EXPECT_EQ(cfg["history"][0]["comment"], "m");
    ToolResult in = pack({"import", "-", "--tag", "stdin:1"}, read_file(tmp() + "/r.tgz"));
    ASSERT_EQ(in.status, 0) << in;
    Json d = pack_ok({"import", tmp() + "/rootfs", "--tag", "dir:1"});
    ToolResult u = run_command({"umoci", "unpack", "--image", layout() + ":docker.io/library/dir:1", tmp() + "/u"});
    ASSERT_EQ(u.status, 0) << u;
    EXPECT_EQ(read_file(tmp() + "/u/rootfs/etc/motd"), "hi\n");
    EXPECT_EQ(read_file(tmp() + "/u/rootfs/bin/hard"), "hi\n");
    EXPECT_EQ(sh("readlink " + tmp() + "/u/rootfs/etc/link"), "motd\n");
    EXPECT_EQ(pack({"import", tmp() + "/nothing.tar"}).status, 4);
    std::string before = tree_hash(layout());
    write_file_atomic(tmp() + "/junk.tgz", "\x1f\x8b not really gzip");
    ToolResult bad = pack({"import", tmp() + "/junk.tgz"});
    EXPECT_EQ(bad.status, 3) << bad;
    EXPECT_EQ(tree_hash(layout()), before);
}

TEST_F(ImgPack, SaveIsReadBySkopeoAndLoadReadsSkopeosArchives) {
    CTK_REQUIRE_ROOT();
    pull_tiny();
    Json c = pack_ok({"commit", "--base", tiny(), "--upper", make_upper(), "--tag", "s:1"});
    ToolResult s = pack({"save", "s:1", tiny(), "-o", tmp() + "/s.tar"});
    ASSERT_EQ(s.status, 0) << s;
    EXPECT_EQ(s.out, "");
    // docker save's refusal of a terminal stdout (script(1) gives it one)
    ToolResult tty = run_command({"script", "-qec", tool_path("img-pack") + " save s:1", "/dev/null"});
    EXPECT_EQ(tty.status, 2) << tty;
    EXPECT_NE(tty.out.find("img-pack: cowardly refusing to save to a terminal"), std::string::npos) << tty;
    ToolResult i = run_command({"skopeo", "inspect", "--raw", "--config", "docker-archive:" + tmp() + "/s.tar:s:1"});
    ASSERT_EQ(i.status, 0) << i;
    EXPECT_EQ(Digest::sha256_of(i.out).str(), c["id"]);
    ToolResult cp = run_command({"skopeo", "copy", "-q", "docker-archive:" + tmp() + "/s.tar:s:1", "oci:" + tmp() + "/o:s"});
    ASSERT_EQ(cp.status, 0) << cp;
    // to stdout, and loaded from stdin (gzip'd) into another layout
    ToolResult out = pack({"save", "s:1"});
    ASSERT_EQ(out.status, 0);
    write_file_atomic(tmp() + "/stdout.tar", out.out);
    EXPECT_NE(sh("tar -tf " + tmp() + "/stdout.tar").find("manifest.json"), std::string::npos);
    sh("gzip -c " + tmp() + "/s.tar > " + tmp() + "/s.tgz");
    ToolResult l = run("img-pack", {"--layout", tmp() + "/l2", "load"}, read_file(tmp() + "/s.tgz"));
    ASSERT_EQ(l.status, 0) << l;
    Json loaded = l.json()["loaded"];
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded[0]["id"], c["id"]);
    EXPECT_EQ(loaded[0]["tags"], Json({"s:1"}));
    // skopeo's docker-archive of the fixture: the same image ID as the registry's
    ToolResult sk = run_command({"skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + tiny(),
                                 "docker-archive:" + tmp() + "/t.tar:" + tiny()});
    ASSERT_EQ(sk.status, 0) << sk;
    ToolResult lt = run("img-pack", {"--layout", tmp() + "/l3", "load", "-i", tmp() + "/t.tar"});
    ASSERT_EQ(lt.status, 0) << lt;
    Json tiny_manifest = blob_json(read_json_file(layout() + "/index.json")["manifests"][0]["digest"]);
    EXPECT_EQ(lt.json()["loaded"][0]["id"], tiny_manifest["config"]["digest"]);
    // img-unpack reads the same archive with the same reader
    ToolResult u = run("img-unpack", {"--archive", tmp() + "/s.tar:s:1", tmp() + "/ub"});
    ASSERT_EQ(u.status, 0) << u;
    EXPECT_EQ(read_file(tmp() + "/ub/rootfs/etc/motd"), "hello\n");
    run("img-unpack", {"--release", tmp() + "/ub"});
}

TEST_F(ImgPack, CorruptArchivesAndBlobsLeaveTheLayoutUnchanged) {
    CTK_REQUIRE_ROOT();
    pull_tiny();
    Json c = pack_ok({"commit", "--base", tiny(), "--upper", make_upper(), "--tag", "s:1"});
    ASSERT_EQ(pack({"save", "s:1", "-o", tmp() + "/s.tar"}).status, 0);
    std::string before = tree_hash(layout());
    auto load_fails = [&](const std::string& file, const std::string& why) {
        ToolResult r = pack({"load", "-i", file});
        EXPECT_EQ(r.status, 3) << why << "\n" << r;
        EXPECT_EQ(r.err.rfind("img-pack: ", 0), 0u) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
        EXPECT_EQ(tree_hash(layout()), before) << why;
    };
    // a layer whose bytes do not match its diff_id (one byte more)
    sh("mkdir -p " + tmp() + "/x && tar -C " + tmp() + "/x -xf " + tmp() + "/s.tar && for l in " + tmp() +
       "/x/*/layer.tar; do echo >> $l; done && tar -C " + tmp() + "/x -cf " + tmp() + "/bad-layer.tar .");
    load_fails(tmp() + "/bad-layer.tar", "layer digest");
    // no manifest.json, a truncated tar, not a tar at all
    sh("tar -C " + tmp() + "/x -cf " + tmp() + "/no-manifest.tar --exclude manifest.json .");
    load_fails(tmp() + "/no-manifest.tar", "no manifest.json");
    sh("head -c 3000 " + tmp() + "/s.tar > " + tmp() + "/short.tar");
    load_fails(tmp() + "/short.tar", "truncated");
    write_file_atomic(tmp() + "/text.tar", "hello, this is not a tar\n");
    load_fails(tmp() + "/text.tar", "not a tar");
    // a config that does not match the digest in its name
    sh("cd " + tmp() + "/x && f=$(ls *.json | grep -v manifest) && echo ' ' >> $f && tar -cf " + tmp() +
       "/bad-config.tar .");
    load_fails(tmp() + "/bad-config.tar", "config digest");

    // --layer of a blob whose bytes are not its name
    std::string fake = "sha256:" + std::string(64, 'a');
    sh("gzip -c /etc/hostname > " + blob(fake));
    before = tree_hash(layout());
    ToolResult r = pack({"commit", "--base", tiny(), "--layer", fake});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_EQ(tree_hash(layout()), before);
    EXPECT_EQ(pack({"commit", "--base", tiny(), "--layer", "sha256:" + std::string(64, 'b')}).status, 4);
    EXPECT_EQ(pack({"commit", "--base", tiny(), "--layer", "nodigest"}).status, 3);
    EXPECT_EQ(tree_hash(layout()), before);
}
