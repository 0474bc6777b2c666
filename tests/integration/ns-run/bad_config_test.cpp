// Hostile or broken config.json (issue 16): ns-run refuses it with exit 3 and
// one line naming the field, before it makes anything, as runc does.
#include <algorithm>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class BadConfig : public NsRunTest {
protected:
    // `run` of a bundle whose config.json is `text`.
    ToolResult run_text(const std::string& text) {
        std::string b = bundle(base_config());
        write_file_atomic(b + "/config.json", text);
        std::string id = new_id();
        delete_at_end(id);
        return ns({"run", "--bundle", b, id});
    }
    static void expect_refused(const ToolResult& r, const std::string& words) {
        EXPECT_EQ(r.status, 3) << r;
        EXPECT_NE(r.err.find(words), std::string::npos) << r;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r;
        EXPECT_EQ(r.out, "");
    }
};
} // namespace

// 100 000 nested arrays (200 KB) overflowed ns-run's stack (exit 139).
TEST_F(BadConfig, DeepNestingIsRefused) {
    CTK_REQUIRE_ROOT();
    Json c = base_config();
    c["annotations"] = Json::object();
    std::string text = c.dump();
    std::string deep = std::string(100000, '[') + std::string(100000, ']');
    text.insert(text.rfind('}'), R"(,"x-deep":)" + deep);
    expect_refused(run_text(text), "JSON nests deeper than 1000 levels");
}
