#include "store/paths.hpp"

#include <cstdlib>

#include <gtest/gtest.h>

using namespace ctk::store;

TEST(StorePaths, DefaultsAndOverrides) {
    ::unsetenv("CTK_ROOT");
    ::unsetenv("CTK_RUN");
    Paths d = Paths::from_env();
    EXPECT_EQ(d.root, "/var/lib/ctk");
    EXPECT_EQ(d.run, "/run/ctk");
    ::setenv("CTK_ROOT", "/tmp/r/", 1);
    ::setenv("CTK_RUN", "/tmp/run", 1);
    Paths p = Paths::from_env();
    EXPECT_EQ(p.root, "/tmp/r");
    EXPECT_EQ(p.images(), "/tmp/r/images");
    EXPECT_EQ(p.layer("abc"), "/tmp/r/layers/abc");
    EXPECT_EQ(p.container("id"), "/tmp/r/containers/id");
    EXPECT_EQ(p.volume("v"), "/tmp/r/volumes/v");
    EXPECT_EQ(p.network("n"), "/tmp/r/networks/n.json");
    EXPECT_EQ(p.daemon_socket(), "/tmp/run/ctld.sock");
    ::setenv("CTK_ROOT", "rel", 1);
    EXPECT_EQ(Paths::from_env().root.front(), '/');
    ::unsetenv("CTK_ROOT");
    ::unsetenv("CTK_RUN");
}

#include "core/error.hpp"
#include "core/fs.hpp"
#include "store/config.hpp"

TEST(StoreConfig, MissingFileIsEmptyAndSectionsAreRead) {
    ctk::TempDir dir("config");
    std::string p = dir.path() + "/ctk.json";
    ::setenv("CTK_CONFIG", p.c_str(), 1);
    EXPECT_EQ(load_config(), ctk::Json::object());
    ctk::write_file_atomic(p, R"({"network":{"default_subnet":"10.1.0.0/16"},"registry":[]})");
    ctk::Json c = load_config();
    EXPECT_EQ(config_section(c, "network")["default_subnet"], "10.1.0.0/16");
    EXPECT_EQ(config_section(c, "volume"), ctk::Json::object());
    EXPECT_THROW(config_section(c, "registry"), ctk::Error);
    ctk::write_file_atomic(p, "{broken");
    EXPECT_THROW(load_config(), ctk::Error);
    ::unsetenv("CTK_CONFIG");
}
