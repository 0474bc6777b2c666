#include "image/entry_path.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace ctk;
using namespace ctk::image;

using Parts = std::vector<std::string>;

TEST(EntryPath, Normalises) {
    EXPECT_EQ(EntryPath::parse("a/b/c").parts(), (Parts{"a", "b", "c"}));
    EXPECT_EQ(EntryPath::parse("./a//b/").parts(), (Parts{"a", "b"}));
    EXPECT_EQ(EntryPath::parse("./a/./b").str(), "a/b");
    // tar's behaviour: an absolute name lands inside the root
    EXPECT_EQ(EntryPath::parse("/etc/evil").parts(), (Parts{"etc", "evil"}));
    EXPECT_TRUE(EntryPath::parse(".").is_root());
    EXPECT_TRUE(EntryPath::parse("./").is_root());
    EXPECT_TRUE(EntryPath::parse("/").is_root());
    EntryPath p = EntryPath::parse("usr/bin/env");
    EXPECT_EQ(p.base(), "env");
    EXPECT_EQ(p.parent_str(), "usr/bin");
    EXPECT_EQ(EntryPath::parse("top").parent_str(), "");
}

TEST(EntryPath, RefusesDotDot) {
    auto message = [](const char* name) {
        try {
            EntryPath::parse(name);
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid);
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_EQ(message("../../escape"), "entry \"../../escape\" escapes the rootfs");
    EXPECT_EQ(message("a/../../b"), "entry \"a/../../b\" escapes the rootfs");
    EXPECT_EQ(message("/.."), "entry \"/..\" escapes the rootfs");
    EXPECT_EQ(message("a/../b"), "entry \"a/../b\": a \"..\" component is not allowed");
    EXPECT_EQ(message(""), "entry with an empty name");
    // ".." as part of a name is just a name
    EXPECT_EQ(EntryPath::parse("a/..b/c..").parts(), (Parts{"a", "..b", "c.."}));
}

TEST(Whiteout, Classifies) {
    EXPECT_EQ(classify_whiteout("file").kind, WhiteoutKind::none);
    EXPECT_EQ(classify_whiteout(".wh").kind, WhiteoutKind::none);
    Whiteout w = classify_whiteout(".wh.deleted.txt");
    EXPECT_EQ(w.kind, WhiteoutKind::file);
    EXPECT_EQ(w.hidden, "deleted.txt");
    EXPECT_EQ(classify_whiteout(".wh..wh..opq").kind, WhiteoutKind::opaque);
    EXPECT_EQ(classify_whiteout(".wh..wh.plnk").kind, WhiteoutKind::meta);
    EXPECT_EQ(classify_whiteout(".wh..hidden").hidden, ".hidden");
    EXPECT_THROW(classify_whiteout(".wh."), Error);
    EXPECT_THROW(classify_whiteout(".wh.."), Error);
    EXPECT_THROW(classify_whiteout(".wh..."), Error);
}
