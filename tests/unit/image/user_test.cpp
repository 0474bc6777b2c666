#include "image/user.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/fs.hpp"

using namespace ctk;
using namespace ctk::image;

namespace {
const char* passwd_text =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "\n"
    "broken line\n"
    "bad:x:notanumber:1:::\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const char* group_text =
    "root:x:0:\n"
    "app:x:1000:\n"
    "staff:x:50:app, other\n"
    "audio:x:29:app\n"
    "nogroup:x:65534:\n";
} // namespace

TEST(User, ParsesFiles) {
    auto p = parse_passwd(passwd_text);
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[1].name, "app");
    EXPECT_EQ(p[1].uid, 1000u);
    EXPECT_EQ(p[1].home, "/home/app");
    auto g = parse_group(group_text);
    ASSERT_EQ(g.size(), 5u);
    EXPECT_EQ(g[2].members, (std::vector<std::string>{"app", "other"}));
}

// runc's libcontainer/user refuses numeric ids above 2^31-1 (issue 16: -u 2147483648 ran)
TEST(User, NumericIdsAboveInt31AreRefused) {
    auto p = parse_passwd(passwd_text);
    auto g = parse_group(group_text);
    for (const char* spec : {"2147483648", "4294967295", "0:2147483648", "app:4294967296"}) {
        try {
            resolve_user(spec, p, g);
            ADD_FAILURE() << spec << " accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid);
            EXPECT_EQ(std::string(e.what()),
                      "invalid user \"" + std::string(spec) + "\": uids and gids must be in range 0-2147483647");
        }
    }
    EXPECT_EQ(resolve_user("2147483647:2147483647", p, g).uid, 2147483647u);
}

TEST(User, Resolves) {
    auto p = parse_passwd(passwd_text);
    auto g = parse_group(group_text);
    ResolvedUser r = resolve_user("", p, g);
    EXPECT_EQ(r.uid, 0u);
    EXPECT_EQ(r.home, "/root");
    r = resolve_user("app", p, g);
    EXPECT_EQ(r.uid, 1000u);
    EXPECT_EQ(r.gid, 1000u);
    EXPECT_EQ(r.additional_gids, (std::vector<uint32_t>{50, 29}));
    // conversion.md: no additional groups for a numeric user or an explicit group
    r = resolve_user("1000", p, g);
    EXPECT_EQ(r.gid, 1000u);
    EXPECT_TRUE(r.additional_gids.empty());
    r = resolve_user("app:staff", p, g);
    EXPECT_EQ(r.gid, 50u);
    EXPECT_TRUE(r.additional_gids.empty());
    r = resolve_user("nobody:4321", p, g);
    EXPECT_EQ(r.uid, 65534u);
    EXPECT_EQ(r.gid, 4321u);
    // a numeric uid without an entry: gid 0, home /
    r = resolve_user("4242", p, g);
    EXPECT_EQ(r.uid, 4242u);
    EXPECT_EQ(r.gid, 0u);
    EXPECT_EQ(r.home, "/");
    try {
        resolve_user("ghost", p, g);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
        EXPECT_STREQ(e.what(), "user \"ghost\" not found in the image's /etc/passwd");
    }
    EXPECT_THROW(resolve_user("app:ghosts", p, g), Error);
}

TEST(User, ReadsInsideTheRootfs) {
    TempDir dir("user");
    std::string root = dir.path() + "/rootfs";
    make_dirs(root + "/etc");
    make_dirs(root + "/real");
    write_file_atomic(root + "/real/passwd", "inside:x:77:88::/home/inside:/bin/sh\n");
    // An absolute symlink resolves inside the rootfs, never to the host's /etc/passwd.
    ASSERT_EQ(::symlink("/real/passwd", (root + "/etc/passwd").c_str()), 0);
    UniqueFd fd = open_dir(root);
    ResolvedUser r = resolve_user_in_root("inside", fd.get());
    EXPECT_EQ(r.uid, 77u);
    EXPECT_THROW(resolve_user_in_root("root", fd.get()), Error);
    // without /etc/passwd, numeric users still work
    ::unlink((root + "/etc/passwd").c_str());
    EXPECT_EQ(resolve_user_in_root("5:6", fd.get()).gid, 6u);
    // a FIFO must not hang the unpack
    ASSERT_EQ(::mkfifo((root + "/etc/passwd").c_str(), 0644), 0);
    try {
        resolve_user_in_root("app", fd.get());
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
}
