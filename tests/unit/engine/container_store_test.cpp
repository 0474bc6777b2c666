#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "engine/container_store.hpp"
#include "engine/names.hpp"

using namespace ctk;
using namespace ctk::engine;

namespace {
struct StoreTest : ::testing::Test {
    TempDir dir{"cstore"};
    store::Paths paths{dir.path() + "/root", dir.path() + "/run"};
    ContainerStore store{paths};
};
} // namespace

TEST_F(StoreTest, CreateLookupByIdNameAndPrefix) {
    auto a = store.create(Json{{"Created", "2026-01-01T00:00:00Z"}, {"Image", "tiny"}}, "web");
    auto b = store.create(Json{{"Created", "2026-01-01T00:00:01Z"}}, "");
    EXPECT_TRUE(is_full_id(a.id));
    EXPECT_EQ(a.name, "web");
    EXPECT_TRUE(valid_container_name(b.name));
    EXPECT_EQ(store.resolve(a.id), a.id);
    EXPECT_EQ(store.resolve("web"), a.id);
    EXPECT_EQ(store.resolve("/web"), a.id);
    EXPECT_EQ(store.resolve(a.id.substr(0, 12)), a.id);
    EXPECT_EQ(store.resolve(b.name), b.id);
    auto rec = store.lookup("web");
    EXPECT_EQ(rec.doc["Image"], "tiny");
    EXPECT_EQ(rec.doc["Name"], "/web");
    EXPECT_EQ(rec.doc["Id"], a.id);
    auto all = store.list();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].id, a.id);
    try {
        store.resolve("nosuch");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
        EXPECT_STREQ(e.what(), "No such container: nosuch");
    }
}

TEST_F(StoreTest, NamesAreUniqueAndRenameChecks) {
    auto a = store.create(Json::object(), "web");
    try {
        store.create(Json::object(), "web");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::conflict);
        EXPECT_NE(std::string(e.what()).find("The container name \"/web\" is already in use by container \"" + a.id),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW(store.create(Json::object(), "w"), Error);
    auto b = store.create(Json::object(), "db");
    EXPECT_THROW(store.rename(b.id, "web"), Error);
    store.rename(b.id, "db2");
    EXPECT_EQ(store.resolve("db2"), b.id);
    EXPECT_THROW(store.resolve("db"), Error);
}

TEST_F(StoreTest, AmbiguousPrefix) {
    std::set<char> firsts;
    std::vector<std::string> ids;
    // make two IDs that share the first character
    for (int i = 0; i < 40; i++) ids.push_back(store.create(Json::object(), "").id);
    std::map<char, int> count;
    for (const auto& id : ids) count[id[0]]++;
    for (auto [c, n] : count)
        if (n > 1) {
            try {
                store.resolve(std::string(1, c));
                FAIL();
            } catch (const Error& e) {
                EXPECT_EQ(e.kind(), ErrorKind::invalid);
            }
            return;
        }
}

TEST_F(StoreTest, RemoveDeletesTheDirectoryRecordLast) {
    auto a = store.create(Json::object(), "web");
    make_dirs(store.dir(a.id) + "/bundle/rootfs");
    write_file_atomic(store.dir(a.id) + "/bundle/config.json", "{}");
    store.remove(a.id);
    EXPECT_FALSE(store.try_load(a.id));
    EXPECT_TRUE(store.ids().empty());
    store.create(Json::object(), "web"); // the name is free again
}

TEST_F(StoreTest, ParallelCreatesFromProcessesGetDistinctNamesAndIds) {
    store.list(); // make the directory
    std::vector<pid_t> kids;
    for (int i = 0; i < 10; i++) {
        pid_t p = ::fork();
        if (p == 0) {
            try {
                ContainerStore s(paths);
                s.create(Json::object(), "");
                s.create(Json::object(), "same");
            } catch (...) {
            }
            ::_exit(0);
        }
        kids.push_back(p);
    }
    for (pid_t p : kids) ::waitpid(p, nullptr, 0);
    auto all = store.list();
    EXPECT_EQ(all.size(), 11u); // ten generated, one "same"
    std::set<std::string> names, ids;
    for (const auto& r : all) {
        names.insert(r.name);
        ids.insert(r.id);
    }
    EXPECT_EQ(names.size(), all.size());
    EXPECT_EQ(ids.size(), all.size());
    EXPECT_TRUE(names.count("same"));
}
