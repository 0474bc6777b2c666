#include <gtest/gtest.h>

#include <sched.h>

#include "core/error.hpp"
#include "linux/namespace.hpp"

using namespace ctk;
using namespace ctk::linux;

TEST(Namespaces, SpecNamesProcNamesAndFlags) {
    EXPECT_EQ(parse_namespace("network"), Namespace::network);
    EXPECT_STREQ(proc_name(Namespace::network), "net");
    EXPECT_STREQ(proc_name(Namespace::mount), "mnt");
    EXPECT_EQ(clone_flag(Namespace::mount), static_cast<uint64_t>(CLONE_NEWNS));
    EXPECT_EQ(clone_flag(Namespace::cgroup), static_cast<uint64_t>(CLONE_NEWCGROUP));
    EXPECT_FALSE(parse_namespace("net"));
    for (auto ns : all_namespaces) EXPECT_EQ(parse_namespace(spec_name(ns)), ns);
}

TEST(Namespaces, OpenChecksTheType) {
    auto fd = open_namespace("/proc/self/ns/net", Namespace::network);
    EXPECT_TRUE(fd);
    try {
        open_namespace("/proc/self/ns/uts", Namespace::network);
        FAIL() << "a uts namespace is not a network namespace";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
    }
    EXPECT_THROW(open_namespace("/etc/hostname", Namespace::uts), Error);
    EXPECT_TRUE(same_namespace("/proc/self/ns/net", "/proc/self/ns/net"));
}

TEST(Namespaces, IdMapsTranslate) {
    std::vector<IdMap> maps = {{0, 100000, 65536}, {70000, 5000, 10}};
    EXPECT_EQ(map_to_host(maps, 0), 100000u);
    EXPECT_EQ(map_to_host(maps, 65535), 165535u);
    EXPECT_EQ(map_to_host(maps, 70003), 5003u);
    EXPECT_FALSE(map_to_host(maps, 65536));
}
