#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include "container/channel.hpp"

using namespace ctk;
using namespace ctk::container;

TEST(Channel, MessagesAndFds) {
    auto [a, b] = Channel::pair();
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    a.send(Msg::ready, "payload", p[1]);
    ::close(p[1]);
    Message m = b.expect(Msg::ready, "test");
    EXPECT_EQ(m.payload, "payload");
    ASSERT_TRUE(m.fd);
    ASSERT_EQ(::write(m.fd.get(), "x", 1), 1);
    char c = 0;
    ASSERT_EQ(::read(p[0], &c, 1), 1);
    EXPECT_EQ(c, 'x');
    ::close(p[0]);
    a.close();
    EXPECT_EQ(b.receive().type, Msg::eof);
}

TEST(Channel, ErrorsCrossIntact) {
    auto [a, b] = Channel::pair();
    a.send_error(Error("exec \"x\": no such file", ErrorKind::not_found, ENOENT));
    try {
        b.expect(Msg::ready, "test");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
        EXPECT_EQ(e.error_number(), ENOENT);
        EXPECT_STREQ(e.what(), "exec \"x\": no such file");
    }
    Error back = error_from_payload(error_payload(Error("a: b: c", ErrorKind::invalid, 0)));
    EXPECT_EQ(back.kind(), ErrorKind::invalid);
    EXPECT_STREQ(back.what(), "a: b: c");
    a.close();
    EXPECT_THROW(b.expect_any("test"), Error) << "end-of-file while waiting is an error";
}
