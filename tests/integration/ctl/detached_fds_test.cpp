// A detached container keeps none of its caller's descriptors: ns-run's
// monitor, which lives as long as the container, closes what it inherited
// beyond stdio, so a pipe handed to `ctl run -d` ends when ctl does.
#include <gtest/gtest.h>

#include <unistd.h>

#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class CtlDetachedFds : public CtlTest {};
} // namespace

TEST_F(CtlDetachedFds, APipeGivenToRunDetachedClosesWhenCtlExits) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    // fd 3 is the pipe to `cat`: while anyone holds it open, cat waits; the
    // container sleeps 1000 s, so cat ending (status 0, not timeout's 124)
    // means the pipe closed with ctl.
    std::string script = "( " + tool_path("ctl") + " run -d --name fds --network none " + tiny() +
                         " sleep 1000 3>&1 >/dev/null ) | { timeout 20 cat >/dev/null; echo \"cat=$?\"; }";
    auto r = sh(script);
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(trim(r.out), "cat=0") << r;
    EXPECT_EQ(ctl({"inspect", "-f", "{{.State.Status}}", "fds"}).out, "running\n");
    EXPECT_EQ(ctl({"rm", "-f", "fds"}).status, 0);
}
