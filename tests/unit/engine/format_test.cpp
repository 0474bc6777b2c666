#include <gtest/gtest.h>

#include "core/error.hpp"
#include "engine/format.hpp"

using namespace ctk;
using namespace ctk::engine;

namespace {
std::string run(const std::string& tpl, const Json& dot) { return Template::parse(tpl).execute(dot); }
Json inspect() {
    return Json::parse(R"({"Id":"7af36f","State":{"Status":"running","Pid":1627,"Running":true},
        "Config":{"Env":["A=1","B=2"],"Labels":{"com.x":"y"},"Cmd":null},
        "NetworkSettings":{"Networks":{"bridge":{"IPAddress":"10.210.0.2"},"n2":{"IPAddress":"10.211.0.3"}}},
        "Created":1795814083})");
}
} // namespace

TEST(Template, FieldsAndNesting) {
    Json d = inspect();
    EXPECT_EQ(run("{{.State.Status}}", d), "running");
    EXPECT_EQ(run("{{.State.Pid}} {{.State.Running}}", d), "1627 true");
    EXPECT_EQ(run("id={{.Id}}", d), "id=7af36f");
    EXPECT_EQ(run("{{.Created}}", d), "1795814083");
    EXPECT_EQ(run("{{.Config.Cmd}}", d), "<nil>");
    EXPECT_EQ(run("{{.Config.Nope}}", d), "<no value>");
    EXPECT_EQ(run("{{.Config.Env}}", d), "[A=1 B=2]");
    EXPECT_EQ(run("{{.Config.Labels}}", d), "map[com.x:y]");
    EXPECT_EQ(run("{{$.Id}}", d), "7af36f");
}

TEST(Template, FunctionsScriptsUse) {
    Json d = inspect();
    EXPECT_EQ(run("{{json .State}}", d), R"({"Pid":1627,"Running":true,"Status":"running"})");
    EXPECT_EQ(run("{{json .}}", Json{{"a", 1}}), R"({"a":1})");
    EXPECT_EQ(run(R"({{index .Config.Labels "com.x"}})", d), "y");
    EXPECT_EQ(run(R"({{(index .NetworkSettings.Networks "n2").IPAddress}})", d), "10.211.0.3");
    EXPECT_EQ(run(R"({{join .Config.Env ","}})", d), "A=1,B=2");
    EXPECT_EQ(run("{{len .Config.Env}}", d), "2");
    EXPECT_EQ(run("{{.State.Status | upper}}", d), "RUNNING");
    EXPECT_EQ(run("{{lower \"ABC\"}} {{title \"hello world\"}}", d), "abc Hello World");
    EXPECT_EQ(run(R"({{printf "%s-%d" .Id .State.Pid}})", d), "7af36f-1627");
    EXPECT_EQ(run(R"({{if eq .State.Status "running"}}up{{else}}down{{end}})", d), "up");
    EXPECT_EQ(run(R"({{if not .State.Running}}down{{else}}up{{end}})", d), "up");
    EXPECT_EQ(run("{{with .State}}{{.Pid}}{{end}}", d), "1627");
}

TEST(Template, RangeOverMapsAndArrays) {
    Json d = inspect();
    EXPECT_EQ(run("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", d), "10.210.0.2 10.211.0.3 ");
    EXPECT_EQ(run("{{range .Config.Env}}[{{.}}]{{end}}", d), "[A=1][B=2]");
    EXPECT_EQ(run("{{range .Config.Cmd}}x{{else}}none{{end}}", d), "none");
    EXPECT_EQ(run("a {{- \" b \" -}} c", d), "a b c");
}

TEST(Template, ErrorsAreUsageErrors) {
    for (const char* bad : {"{{.A", "{{range .A}}x", "{{end}}", "{{nosuch .A}}", "{{.A.B \"x\"}}"}) {
        try {
            Template::parse(bad).execute(Json{{"A", Json{{"B", 1}}}});
            ADD_FAILURE() << "accepted " << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::usage) << bad;
        }
    }
}

// Found by tests/fuzz/template: a number literal stoll could not read ("-",
// "1.2.3", beyond int64) and pad's non-integer widths escaped as std::invalid_argument
// and nlohmann's type_error instead of a usage error.
TEST(Template, BadNumbersAndArgumentTypesAreUsageErrors) {
    for (const char* bad : {"{{json .S-ate}}", "{{print - 1}}", "{{print 99999999999999999999}}", "{{print 1.2.3}}",
                            "{{pad .A \"x\" 1}}", "{{pad .A 1 1.5}}"}) {
        try {
            Template::parse(bad).execute(Json{{"A", "a"}});
            ADD_FAILURE() << "accepted " << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::usage) << bad;
        }
    }
    try {
        Template::parse("{{print - 1}}");
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "template: bad number syntax: \"-\"");
    }
    EXPECT_EQ(Template::parse("{{print -3 2.5}}").execute(Json::object()), "-3 2.5");
}

// Found by tests/fuzz/template (UBSan): a whole float beyond int64 was cast
// to int64 (undefined); Go's %v prints whole numbers below 1e21 in full.
TEST(GoPrint, LargeWholeFloats) {
    EXPECT_EQ(go_print(Json(1e20)), "100000000000000000000");
    EXPECT_EQ(go_print(Json(-1e20)), "-100000000000000000000");
    EXPECT_EQ(go_print(Json(6.66687e+37)), "6.66687e+37");
    EXPECT_EQ(go_print(Json(1e21)), "1e+21");
    EXPECT_EQ(go_print(Json(42.0)), "42");
    EXPECT_EQ(go_print(Json(2.5)), "2.5");
}

TEST(Tabulate, DockerColumns) {
    std::string t = tabulate({"CONTAINER ID\tIMAGE\tCOMMAND\tNAMES", "7af36f3b844b\ttiny\t\"sh -c 'echo started…\"\tw1"});
    EXPECT_EQ(t,
              "CONTAINER ID   IMAGE     COMMAND                  NAMES\n"
              "7af36f3b844b   tiny      \"sh -c 'echo started…\"   w1\n");
}

TEST(Listing, TableJsonAndTemplates) {
    Listing l;
    l.default_table = "table {{.ID}}\\t{{.Name}}";
    l.headers = {{"ID", "VOLUME ID"}, {"Name", "NAME"}};
    std::vector<Json> rows = {Json{{"ID", "a1"}, {"Name", "x"}}, Json{{"ID", "b2"}, {"Name", "y"}}};
    EXPECT_EQ(render_listing(l, "", rows), "VOLUME ID   NAME\na1          x\nb2          y\n");
    EXPECT_EQ(render_listing(l, "{{.Name}}", rows), "x\ny\n");
    EXPECT_EQ(render_listing(l, "json", rows), "{\"ID\":\"a1\",\"Name\":\"x\"}\n{\"ID\":\"b2\",\"Name\":\"y\"}\n");
    EXPECT_EQ(render_listing(l, "table {{.Name}}\\t{{.ID}}", rows), "NAME      VOLUME ID\nx         a1\ny         b2\n");
    EXPECT_EQ(render_listing(l, "", {}), "VOLUME ID   NAME\n");
}
