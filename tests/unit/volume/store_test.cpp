#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "volume/spec.hpp"
#include "volume/store.hpp"

using namespace ctk;
using namespace ctk::volume;

namespace {

struct StoreTest : ::testing::Test {
    TempDir tmp{"volstore"};
    VolumeStore store{store::Paths{tmp.path() + "/root", tmp.path() + "/run"}};

    template <typename F> ErrorKind kind_of(F f) {
        try {
            f();
        } catch (const Error& e) {
            return e.kind();
        }
        ADD_FAILURE() << "no error";
        return ErrorKind::failed;
    }
};

} // namespace

TEST_F(StoreTest, CreateNamed) {
    Volume v = store.create("data", {{{"a", "b"}}, {}});
    EXPECT_EQ(v.name, "data");
    EXPECT_EQ(v.path, tmp.path() + "/root/volumes/data");
    struct stat st;
    ASSERT_EQ(::stat(v.mountpoint().c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    Json j = parse_json(read_file(v.path + "/volume.json"), "volume.json");
    EXPECT_EQ(j["Name"], "data");
    EXPECT_EQ(j["Labels"]["a"], "b");
    EXPECT_EQ(j["Users"], Json::array());

    Json d = store.get("data").docker_json();
    EXPECT_EQ(d["Name"], "data");
    EXPECT_EQ(d["Driver"], "local");
    EXPECT_EQ(d["Scope"], "local");
    EXPECT_EQ(d["Mountpoint"], v.mountpoint());
    EXPECT_EQ(d["Labels"], (Json{{"a", "b"}}));
    EXPECT_EQ(d["Options"], Json::object());
    std::string created = d["CreatedAt"];
    EXPECT_EQ(created.size(), 20u);
    EXPECT_EQ(created.back(), 'Z');
    EXPECT_EQ(d.size(), 7u) << d.dump();
}

TEST_F(StoreTest, CreateGeneratedName) {
    Volume v = store.create("", {});
    EXPECT_EQ(v.name.size(), 64u);
    EXPECT_FALSE(v.anonymous()) << "create without a name is a named volume with a generated name";
    EXPECT_TRUE(store.find(v.name).has_value());
}

TEST_F(StoreTest, CreateRejects) {
    store.create("data", {});
    EXPECT_EQ(kind_of([&] { store.create("data", {}); }), ErrorKind::conflict);
    EXPECT_EQ(kind_of([&] { store.create("a", {}); }), ErrorKind::invalid);
    EXPECT_EQ(kind_of([&] { store.create("../x", {}); }), ErrorKind::invalid);
    EXPECT_EQ(kind_of([&] { store.create("v2", {{}, {{"bogus", "1"}}}); }), ErrorKind::invalid);
    EXPECT_EQ(kind_of([&] { store.create("v2", {{}, {{"type", "tmpfs"}}}); }), ErrorKind::invalid);
    EXPECT_EQ(kind_of([&] { store.create("v2", {{}, {{"o", "size=1m"}}}); }), ErrorKind::invalid);
    EXPECT_EQ(kind_of([&] { store.create("v2", {{}, {{"type", "tmpfs"}, {"device", "tmpfs"}, {"size", "1g"}}}); }),
              ErrorKind::invalid);
    EXPECT_EQ(kind_of([&] { store.create("v2", {{}, {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "bogus=1"}}}); }),
              ErrorKind::invalid);
    EXPECT_EQ(kind_of([&] { store.create("v2", {{}, {{"type", "none"}, {"device", "rel"}, {"o", "bind"}}}); }),
              ErrorKind::invalid);
    EXPECT_EQ(kind_of([&] { store.create("v2", {{}, {{"type", "none"}, {"device", "/x"}}}); }), ErrorKind::invalid);
    EXPECT_FALSE(store.find("v2").has_value()) << "a rejected create leaves nothing";
    EXPECT_EQ(store.list().size(), 1u);
}

TEST_F(StoreTest, DriverOptionsAccepted) {
    Volume t = store.create("tmp", {{}, {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m,mode=1777,uid=1"}}});
    EXPECT_EQ(store.get("tmp").docker_json()["Options"]["o"], "size=1m,mode=1777,uid=1");
    store.create("bnd", {{}, {{"type", "none"}, {"device", "/srv/x"}, {"o", "bind"}}});
    EXPECT_EQ(store.list().size(), 2u);
}

TEST_F(StoreTest, OptArguments) {
    EXPECT_EQ(parse_opt_args({"type=tmpfs", "device=tmpfs", "o=size=64m,mode=1777"}),
              (std::map<std::string, std::string>{{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=64m,mode=1777"}}));
    EXPECT_EQ(parse_opt_args({"type=tmpfs,device=tmpfs,o=size=64m,uid=1000"}),
              (std::map<std::string, std::string>{{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=64m,uid=1000"}}));
    EXPECT_EQ(parse_opt_args({"o=bind,type=none,device=/srv/x"}),
              (std::map<std::string, std::string>{{"type", "none"}, {"device", "/srv/x"}, {"o", "bind"}}));
    EXPECT_THROW(parse_opt_args({"novalue"}), Error);
    EXPECT_EQ(parse_label_args({"a=b", "c"}), (std::map<std::string, std::string>{{"a", "b"}, {"c", ""}}));
}

TEST_F(StoreTest, ListSortedAndIgnoresStrays) {
    store.create("zz", {});
    store.create("aa", {});
    make_dirs(tmp.path() + "/root/volumes/.new-half-done");
    auto all = store.list();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].name, "aa");
    EXPECT_EQ(all[1].name, "zz");
}

TEST_F(StoreTest, RemoveAndPrune) {
    store.create("named", {});
    Volume anon = store.create("", {{{anonymous_label, ""}}, {}});
    write_file_atomic(anon.mountpoint() + "/f", std::string(1000, 'x'));
    auto r = store.remove({"missing"}, false);
    ASSERT_EQ(r.failed.size(), 1u);
    EXPECT_EQ(r.failed[0].second.kind(), ErrorKind::not_found);
    EXPECT_TRUE(store.remove({"missing"}, true).failed.empty()) << "-f: a missing volume is no error";

    PruneResult p = store.prune(false);
    EXPECT_EQ(p.deleted, std::vector<std::string>{anon.name}) << "prune removes only anonymous volumes";
    EXPECT_EQ(p.space_reclaimed, 1000u);
    EXPECT_TRUE(store.find("named").has_value());
    EXPECT_EQ(store.prune(true).deleted, std::vector<std::string>{"named"});
    EXPECT_TRUE(store.list().empty());
    Json j = p.docker_json();
    EXPECT_TRUE(j.contains("VolumesDeleted"));
    EXPECT_TRUE(j.contains("SpaceReclaimed"));
}
