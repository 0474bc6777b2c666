#include "core/error.hpp"

#include <gtest/gtest.h>

using namespace ctk;

TEST(Error, ErrnoMessageNamesOperationObjectAndErrno) {
    try {
        throw_errno("mount \"proc\" on", "/proc", EPERM);
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "mount \"proc\" on \"/proc\": EPERM (Operation not permitted)");
        EXPECT_EQ(e.error_number(), EPERM);
        EXPECT_EQ(e.kind(), ErrorKind::failed);
    }
}

TEST(Error, KindFollowsErrno) {
    try {
        throw_errno("open", "x", ENOENT);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
        EXPECT_EQ(exit_code(e.kind()), 4);
    }
    try {
        throw_errno("mkdir", "x", EEXIST);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::conflict);
    }
}

TEST(Error, WrapKeepsKindAndErrno) {
    Error inner("digest mismatch", ErrorKind::invalid, 0);
    Error outer = inner.wrap("layer sha256:ab");
    EXPECT_STREQ(outer.what(), "layer sha256:ab: digest mismatch");
    EXPECT_EQ(outer.kind(), ErrorKind::invalid);
}

TEST(Error, ExitCodesAreStable) {
    EXPECT_EQ(exit_code(ErrorKind::failed), 1);
    EXPECT_EQ(exit_code(ErrorKind::usage), 2);
    EXPECT_EQ(exit_code(ErrorKind::invalid), 3);
    EXPECT_EQ(exit_code(ErrorKind::not_found), 4);
    EXPECT_EQ(exit_code(ErrorKind::conflict), 5);
    EXPECT_EQ(exit_code(ErrorKind::remote), 6);
}

TEST(Error, QuoteEscapesControlCharacters) {
    EXPECT_EQ(quote("a b"), "\"a b\"");
    EXPECT_EQ(quote("x\ny"), "\"x\\x0ay\"");
    EXPECT_EQ(quote("q\"q"), "\"q\\\"q\"");
}
