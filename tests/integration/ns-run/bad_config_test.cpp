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

// A uid or gid of -1 or 2^32 ran the process as root with the default
// capabilities; runc refuses both ("cannot unmarshal number -1 ... of type uint32").
TEST_F(BadConfig, UidAndGidOutsideUint32AreRefused) {
    CTK_REQUIRE_ROOT();
    const std::vector<std::pair<const char*, Json>> cases = {
        {"uid", -1}, {"uid", 4294967296u}, {"gid", -1}, {"gid", 4294967296u}};
    for (const auto& [field, value] : cases) {
        SCOPED_TRACE(std::string(field) + "=" + value.dump());
        Json c = shell_config("id -u; id -g");
        c["process"]["user"][field] = value;
        expect_refused(run_text(c.dump()), std::string("process.user.") + field + ": " + value.dump() +
                                               " is out of range for uint32");
        if (have_program("runc")) {
            std::string b = bundle(c);
            std::string id = new_id();
            auto r = run_command({"runc", "--root", tmp() + "/runc", "run", "--bundle", b, id});
            EXPECT_NE(r.status, 0) << "runc refuses it too: " << r;
            run_command({"runc", "--root", tmp() + "/runc", "delete", "--force", id});
        }
    }
    Json ok = shell_config("id -u; id -g");
    ok["process"]["user"] = {{"uid", 4294967294u}, {"gid", 65534}};
    auto r = run_text(ok.dump());
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "4294967294\n65534\n") << "the largest valid ids still run";
}
