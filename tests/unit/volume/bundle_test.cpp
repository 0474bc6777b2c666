// apply / release on a bundle, without root: named and anonymous volumes, binds, tmpfs,
// copy-up, the users record, and that bad input changes nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "volume/bundle.hpp"

using namespace ctk;
using namespace ctk::volume;

namespace {

struct BundleTest : ::testing::Test {
    TempDir tmp{"volbundle"};
    VolumeStore store{store::Paths{tmp.path() + "/root", tmp.path() + "/run"}};
    std::string bundle = tmp.path() + "/c1";

    void SetUp() override {
        const char* data = std::getenv("CTK_TEST_DATA");
        std::string spec = read_file(std::string(data ? data : "tests/data") + "/runc-spec.json");
        make_dirs(bundle + "/rootfs/etc");
        make_dirs(bundle + "/rootfs/srv/empty");
        write_file_atomic(bundle + "/config.json", spec);
        write_file_atomic(bundle + "/rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644);
        write_file_atomic(bundle + "/rootfs/etc/group", "root:x:0:\n", 0640);
        ASSERT_EQ(::chmod((bundle + "/rootfs/etc").c_str(), 0751), 0);
    }

    std::vector<MountRequest> specs(const std::vector<std::string>& args) { return parse_spec_args(args); }
    oci::Spec config() { return oci::Spec::load(bundle + "/config.json"); }
    const oci::Mount* mount_at(const oci::Spec& s, const std::string& dest) {
        for (const auto& m : s.mounts)
            if (m.destination == dest) return &m;
        return nullptr;
    }
    ErrorKind apply_error(const std::vector<std::string>& args) {
        try {
            apply_to_bundle(store, bundle, specs(args));
        } catch (const Error& e) {
            return e.kind();
        }
        ADD_FAILURE() << "applied";
        return ErrorKind::failed;
    }
};

} // namespace

TEST_F(BundleTest, NamedVolumeWithCopyUp) {
    ApplyResult r = apply_to_bundle(store, bundle, specs({"-v", "etc:/etc"}));
    EXPECT_EQ(r.id, "c1");
    ASSERT_EQ(r.resolution.volumes.size(), 1u);
    EXPECT_TRUE(r.resolution.volumes[0].created);
    EXPECT_TRUE(r.resolution.volumes[0].copied_up);

    Volume v = store.get("etc");
    EXPECT_EQ(read_file(v.mountpoint() + "/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    struct stat st;
    ASSERT_EQ(::stat((v.mountpoint() + "/group").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    ASSERT_EQ(::stat(v.mountpoint().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0751u) << "the volume root takes the image directory's mode";
    EXPECT_TRUE(v.copied_up);
    ASSERT_EQ(v.users.size(), 1u);
    EXPECT_EQ(v.users[0].id, "c1");
    EXPECT_EQ(store.live_users(v).size(), 1u);

    oci::Spec s = config();
    const oci::Mount* m = mount_at(s, "/etc");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->type, "bind");
    EXPECT_EQ(m->source, v.mountpoint());
    EXPECT_EQ(m->options, (std::vector<std::string>{"rbind"}));
}

TEST_F(BundleTest, CopyUpHappensOnce) {
    apply_to_bundle(store, bundle, specs({"-v", "etc:/etc"}));
    Volume v = store.get("etc");
    ASSERT_EQ(::unlink((v.mountpoint() + "/passwd").c_str()), 0);
    ASSERT_EQ(::unlink((v.mountpoint() + "/group").c_str()), 0);
    ApplyResult again = apply_to_bundle(store, bundle, specs({"-v", "etc:/etc"}));
    EXPECT_FALSE(again.resolution.volumes[0].copied_up);
    UniqueFd d = open_dir(v.mountpoint());
    EXPECT_FALSE(::access((v.mountpoint() + "/passwd").c_str(), F_OK) == 0) << "no second copy-up";
}

TEST_F(BundleTest, NoCopyAndNonEmptyVolume) {
    apply_to_bundle(store, bundle, specs({"-v", "v1:/etc:nocopy"}));
    EXPECT_NE(::access((store.get("v1").mountpoint() + "/passwd").c_str(), F_OK), 0);
    Volume v2 = store.create("v2", {});
    write_file_atomic(v2.mountpoint() + "/mine", "x");
    apply_to_bundle(store, bundle, specs({"-v", "v2:/etc"}));
    EXPECT_NE(::access((v2.mountpoint() + "/passwd").c_str(), F_OK), 0) << "a volume with files is not copied into";
}

TEST_F(BundleTest, ReadOnlyBindAndTmpfsEntries) {
    std::string host = tmp.path() + "/host/new/dir";
    ApplyResult r = apply_to_bundle(store, bundle,
                                    specs({"-v", host + ":/h:ro", "--tmpfs", "/run:size=1m", "-v", "/anon"}));
    struct stat st;
    ASSERT_EQ(::stat(host.c_str(), &st), 0) << "-v makes a missing host directory";
    oci::Spec s = config();
    const oci::Mount* h = mount_at(s, "/h");
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->source, host);
    EXPECT_EQ(h->options, (std::vector<std::string>{"rbind", "ro", "rro", "rprivate"}));
    const oci::Mount* t = mount_at(s, "/run");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->type, "tmpfs");
    EXPECT_EQ(t->options, (std::vector<std::string>{"noexec", "nosuid", "nodev", "rprivate", "size=1m"}));
    ASSERT_EQ(r.resolution.volumes.size(), 1u);
    Volume anon = store.get(r.resolution.volumes[0].name);
    EXPECT_TRUE(anon.anonymous());
    EXPECT_EQ(anon.name.size(), 64u);
}

TEST_F(BundleTest, DockerMountPoints) {
    std::string host = tmp.path() + "/h";
    ApplyResult r = apply_to_bundle(store, bundle, specs({"-v", "mp:/m:ro,z", "-v", host + ":/h", "--tmpfs", "/t"}));
    const auto& p = r.resolution.mount_points;
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0], (Json{{"Type", "volume"}, {"Name", "mp"}, {"Source", store.get("mp").mountpoint()},
                          {"Destination", "/m"}, {"Driver", "local"}, {"Mode", "ro,z"}, {"RW", false},
                          {"Propagation", ""}}));
    EXPECT_EQ(p[1], (Json{{"Type", "bind"}, {"Source", host}, {"Destination", "/h"}, {"Mode", ""}, {"RW", true},
                          {"Propagation", "rprivate"}}));
    EXPECT_EQ(p[2]["Type"], "tmpfs");
    EXPECT_EQ(p[2]["Source"], "");
}

TEST_F(BundleTest, BindSourceIsCanonical) {
    make_dirs(tmp.path() + "/real");
    ASSERT_EQ(::symlink((tmp.path() + "/real").c_str(), (tmp.path() + "/link").c_str()), 0);
    apply_to_bundle(store, bundle, specs({"-v", tmp.path() + "/link:/x"}));
    EXPECT_EQ(mount_at(config(), "/x")->source, tmp.path() + "/real");
}

TEST_F(BundleTest, ReplacesMountForSameTarget) {
    apply_to_bundle(store, bundle, specs({"-v", "one:/data"}));
    apply_to_bundle(store, bundle, specs({"-v", "two:/data/"}));
    oci::Spec s = config();
    int n = 0;
    for (const auto& m : s.mounts) n += m.destination == "/data";
    EXPECT_EQ(n, 1);
    EXPECT_EQ(mount_at(s, "/data")->source, store.get("two").mountpoint());
    EXPECT_TRUE(store.get("one").users.empty()) << "the replaced volume is no longer used by c1";
    EXPECT_EQ(store.get("two").users.size(), 1u);
    // A runtime default is replaced too, not duplicated.
    apply_to_bundle(store, bundle, specs({"--tmpfs", "/dev/shm:size=2m"}));
    s = config();
    n = 0;
    for (const auto& m : s.mounts) n += m.destination == "/dev/shm";
    EXPECT_EQ(n, 1);
}

TEST_F(BundleTest, ParentsBeforeChildren) {
    apply_to_bundle(store, bundle, specs({"-v", "sub:/data/sub", "-v", "top:/data"}));
    oci::Spec s = config();
    size_t top = 0, sub = 0;
    for (size_t i = 0; i < s.mounts.size(); i++) {
        if (s.mounts[i].destination == "/data") top = i;
        if (s.mounts[i].destination == "/data/sub") sub = i;
    }
    EXPECT_LT(top, sub);
    // /dev is replaced: the new /dev goes before /dev/pts and the other children.
    apply_to_bundle(store, bundle, specs({"--tmpfs", "/dev"}));
    s = config();
    size_t dev = 99, pts = 0;
    for (size_t i = 0; i < s.mounts.size(); i++) {
        if (s.mounts[i].destination == "/dev") dev = i;
        if (s.mounts[i].destination == "/dev/pts") pts = i;
    }
    EXPECT_LT(dev, pts);
}

TEST_F(BundleTest, BadInputChangesNothing) {
    std::string before = read_file(bundle + "/config.json");
    // Fails in the checks: a --mount bind of a missing path.
    EXPECT_EQ(apply_error({"-v", "fresh:/a", "--mount", "type=bind,src=" + tmp.path() + "/nope,dst=/b"}),
              ErrorKind::not_found);
    // Fails while making things: the bind device of a volume does not exist.
    EXPECT_EQ(apply_error({"-v", "fresh:/a", "-v", tmp.path() + "/made:/m", "--mount",
                           "type=volume,src=bv,dst=/c,volume-opt=type=none,volume-opt=o=bind,"
                           "volume-opt=device=" + tmp.path() + "/nope"}),
              ErrorKind::not_found);
    // A volume over a file of the image; a -v source for a file target.
    EXPECT_EQ(apply_error({"-v", "fresh:/a", "-v", "pw:/etc/passwd"}), ErrorKind::invalid);
    EXPECT_EQ(apply_error({"-v", "fresh:/a", "-v", tmp.path() + "/hosts:/etc/passwd"}), ErrorKind::not_found);
    EXPECT_EQ(read_file(bundle + "/config.json"), before);
    EXPECT_TRUE(store.list().empty()) << "no volume left behind";
    EXPECT_NE(::access((tmp.path() + "/made").c_str(), F_OK), 0) << "no host directory left behind";
    EXPECT_NE(::access((tmp.path() + "/hosts").c_str(), F_OK), 0);
    // A bad id.
    try {
        apply_to_bundle(store, bundle, specs({"-v", "fresh:/a"}), "../x");
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
    }
    EXPECT_TRUE(store.list().empty());
}

TEST_F(BundleTest, FailedApplyKeepsExistingVolumeRecord) {
    apply_to_bundle(store, bundle, specs({"-v", "keep:/k"}));
    std::string record = read_file(store.get("keep").path + "/volume.json");
    EXPECT_EQ(apply_error({"-v", "keep:/k2", "--mount", "type=bind,src=" + tmp.path() + "/nope,dst=/b"}),
              ErrorKind::not_found);
    EXPECT_EQ(read_file(store.get("keep").path + "/volume.json"), record);
}

TEST_F(BundleTest, UsersReleaseAndRemove) {
    apply_to_bundle(store, bundle, specs({"-v", "shared:/s", "-v", "/anon"}), "box");
    Volume v = store.get("shared");
    ASSERT_EQ(store.live_users(v).size(), 1u);
    EXPECT_EQ(store.live_users(v)[0].id, "box");

    RemoveResult r = store.remove({"shared"}, false);
    ASSERT_EQ(r.failed.size(), 1u);
    EXPECT_EQ(r.failed[0].second.kind(), ErrorKind::conflict);
    EXPECT_NE(std::string(r.failed[0].second.what()).find("in use by box"), std::string::npos);
    EXPECT_TRUE(store.prune(true).deleted.empty()) << "prune keeps used volumes";

    ReleaseResult rel = release_bundle(store, bundle, "box", true);
    EXPECT_EQ(rel.released.size(), 2u);
    EXPECT_EQ(rel.removed.size(), 1u) << "release -v removes the anonymous volume";
    EXPECT_TRUE(store.get("shared").users.empty());
    EXPECT_EQ(store.remove({"shared"}, false).removed, std::vector<std::string>{"shared"});
}

TEST_F(BundleTest, ListingsWithUsers) {
    apply_to_bundle(store, bundle, specs({"-v", "used:/u"}), "box");
    store.create("idle", {});
    auto all = store.list_with_users();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].volume.name, "idle");
    EXPECT_TRUE(all[0].users.empty());
    ASSERT_EQ(all[1].users.size(), 1u);
    Json j = all[1].to_json();
    EXPECT_EQ(j["Users"][0]["Id"], "box");
    EXPECT_EQ(j["Name"], "used");
    Json d = store.docker_list_json();
    EXPECT_EQ(d["Volumes"].size(), 2u);
    EXPECT_EQ(d["Warnings"], Json::array());
}

TEST_F(BundleTest, ForceRemoveWhileUsed) {
    apply_to_bundle(store, bundle, specs({"-v", "busy:/b"}));
    EXPECT_EQ(store.remove({"busy"}, true).removed, std::vector<std::string>{"busy"});
    EXPECT_FALSE(store.find("busy").has_value());
}

TEST_F(BundleTest, RemovedBundleNoLongerUses) {
    apply_to_bundle(store, bundle, specs({"-v", "gone:/g"}));
    EXPECT_TRUE(store.in_use(store.get("gone")));
    remove_tree(bundle);
    EXPECT_FALSE(store.in_use(store.get("gone"))) << "a deleted container does not hold its volumes";
}

TEST_F(BundleTest, MergeMountsOrder) {
    auto mk = [](const std::string& d) {
        oci::Mount m;
        m.destination = d;
        return m;
    };
    auto out = merge_mounts({mk("/proc"), mk("/a/b"), mk("/c")}, {mk("/a"), mk("/c"), mk("/a/b/c")});
    std::vector<std::string> dests;
    for (const auto& m : out) dests.push_back(m.destination);
    EXPECT_EQ(dests, (std::vector<std::string>{"/proc", "/a", "/a/b", "/c", "/a/b/c"}));
}

TEST(ContainerId, Rule) {
    EXPECT_NO_THROW(check_container_id("c1"));
    EXPECT_NO_THROW(check_container_id("a.b-c_d"));
    EXPECT_THROW(check_container_id(""), Error);
    EXPECT_THROW(check_container_id("-x"), Error);
    EXPECT_THROW(check_container_id("a/b"), Error);
}
