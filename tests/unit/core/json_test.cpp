#include "core/json.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

using namespace ctk;

namespace {
struct Thing {
    std::string name;
    int count = 0;
    std::optional<std::vector<std::string>> tags;
    Json extra = Json::object();
};
void from_json(const Json& j, Thing& t) {
    ObjectReader r(j, "thing");
    r.required("name", t.name);
    r.optional("count", t.count);
    r.optional("tags", t.tags);
    t.extra = r.rest();
}
void to_json(Json& j, const Thing& t) {
    j = t.extra;
    j["name"] = t.name;
    if (t.count) j["count"] = t.count;
    put_if(j, "tags", t.tags);
}
} // namespace

TEST(Json, UnknownFieldsSurviveRoundTrip) {
    Json in = parse_json(R"({"name":"a","count":2,"x-vendor":{"deep":[1,2]},"z":null})", "t");
    Thing t = in.get<Thing>();
    EXPECT_EQ(t.name, "a");
    EXPECT_FALSE(t.tags.has_value());
    Json out = t;
    EXPECT_EQ(out, in);
}

TEST(Json, ErrorsNameObjectAndField) {
    try {
        parse_json(R"({"count":1})", "t").get<Thing>();
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "thing: missing field \"name\"");
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
    }
    try {
        parse_json(R"({"name":"a","count":"many"})", "t").get<Thing>();
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("thing: field \"count\""), std::string::npos) << e.what();
    }
    try {
        parse_json("{not json", "config.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("config.json: malformed JSON", 0), 0u) << e.what();
    }
    EXPECT_THROW(parse_json("[]", "t").get<Thing>(), Error);
}

// Found by tests/fuzz/image_json: a number beyond a double is nlohmann's
// out_of_range, not a parse_error, and escaped as "internal error".
TEST(Json, NumberOverflowIsMalformedJson) {
    try {
        parse_json(R"({"size": 999999E99800000001})", "manifest");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        EXPECT_EQ(std::string(e.what()), "manifest: malformed JSON: number overflow parsing '999999E99800000001'");
    }
    EXPECT_TRUE(try_parse_json("[1e999]").is_discarded());
    // the variant that keeps nlohmann's syntax errors for ctld (found by the create_body fuzzer)
    try {
        parse_json_text(R"({"Cmd":99e0323784703 ["x"]})", "request body");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid) << e.what();
    }
}

namespace {
std::string nested(size_t depth, char open = '[', char close = ']') {
    return std::string(depth, open) + std::string(depth, close);
}
std::string invalid_message(std::string_view text, size_t max_size = json_max_size) {
    try {
        parse_json(text, "body", max_size);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid) << e.what();
        return e.what();
    }
    return "";
}
} // namespace

// Issue 16: 100 000 nested arrays overflowed the stack of ctld, reg-fetch, img-unpack and ns-run.
TEST(JsonLimits, DeepNestingIsRefusedBeforeParsing) {
    EXPECT_EQ(invalid_message(nested(100000)), "body: JSON nests deeper than 1000 levels");
    EXPECT_EQ(invalid_message(nested(1001, '{', '}')), "body: JSON nests deeper than 1000 levels");
    EXPECT_EQ(invalid_message(R"({"a":)" + nested(1000) + "}"), "body: JSON nests deeper than 1000 levels");
    // unclosed brackets count too: the parser never sees them
    EXPECT_EQ(invalid_message(std::string(200000, '[')), "body: JSON nests deeper than 1000 levels");
    EXPECT_THROW(parse_json_text(nested(5000), "body"), Error);
    EXPECT_TRUE(try_parse_json(nested(5000)).is_discarded());
}

TEST(JsonLimits, DepthAtTheLimitParses) {
    Json j = parse_json(nested(1000), "body");
    EXPECT_TRUE(j.is_array());
    // siblings do not add up: depth is what is open at once
    std::string wide = "[";
    for (int i = 0; i < 3000; i++) wide += (i ? "," : "") + nested(10);
    wide += "]";
    EXPECT_EQ(parse_json(wide, "body").size(), 3000u);
}

TEST(JsonLimits, BracketsInStringsDoNotCount) {
    std::string s = "\"" + std::string(5000, '[') + std::string(5000, '{') + "\"";
    EXPECT_EQ(parse_json("[" + s + "]", "body")[0].get<std::string>().size(), 10000u);
    // an escaped quote does not end the string, so the brackets after it are still inside
    std::string esc = R"(["\")" + std::string(5000, '[') + R"("])";
    EXPECT_EQ(parse_json(esc, "body")[0].get<std::string>(), "\"" + std::string(5000, '['));
    // an escaped backslash does end it: what follows is structure again
    std::string after = R"(["\\",)" + nested(1001) + "]";
    EXPECT_EQ(invalid_message(after), "body: JSON nests deeper than 1000 levels");
    // closing brackets inside strings do not lower the depth either
    std::string closers = std::string(999, '[') + "\"" + std::string(999, ']') + "\"" + nested(2) +
                          std::string(999, ']');
    EXPECT_EQ(invalid_message(closers), "body: JSON nests deeper than 1000 levels");
}

TEST(JsonLimits, SizeLimitIsTheCallers) {
    EXPECT_EQ(invalid_message(R"({"a":"0123456789"})", 10), "body: JSON text of 18 bytes is over the limit of 10 bytes");
    EXPECT_NO_THROW(parse_json(R"({"a":"0123456789"})", "body", 18));
    EXPECT_TRUE(try_parse_json("[1,2,3]", 3).is_discarded());
    EXPECT_EQ(try_parse_json("[1,2,3]").size(), 3u);
}

TEST(JsonLimits, SyntaxErrorsStayNlohmannsForParseJsonText) {
    EXPECT_THROW(parse_json_text("{not json", "body"), Json::parse_error);
    EXPECT_TRUE(try_parse_json("{not json").is_discarded());
}

// The limits hold only if nothing bypasses them: no Json::parse outside lib/core/json.cpp.
TEST(JsonLimits, EveryParserGoesThroughTheCheckedOne) {
    const char* src = std::getenv("CTK_SOURCE_DIR");
    ASSERT_NE(src, nullptr) << "CTK_SOURCE_DIR is not set";
    std::vector<std::string> offenders;
    for (const char* top : {"lib", "tools"}) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(src) + "/" + top)) {
            auto ext = entry.path().extension();
            if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
            if (entry.path().generic_string().ends_with("lib/core/json.cpp")) continue;
            std::ifstream in(entry.path());
            std::string line;
            for (int n = 1; std::getline(in, line); n++)
                if (line.find("Json::parse(") != std::string::npos || line.find("json::parse(") != std::string::npos ||
                    line.find("Json::sax_parse(") != std::string::npos || line.find("json::sax_parse(") != std::string::npos)
                    offenders.push_back(entry.path().string() + ":" + std::to_string(n));
        }
    }
    EXPECT_TRUE(offenders.empty()) << "unchecked JSON parse at:\n" << ::testing::PrintToString(offenders);
}

TEST(JsonLimits, SelectedParseBuildsOnlyTheMembersKeepAccepts) {
    std::vector<std::string> asked;
    auto keep = [&](const std::vector<std::string>& parents, const std::string& key) {
        std::string path;
        for (const auto& p : parents) path += p + ".";
        asked.push_back(path + key);
        if (parents.empty()) return key == "a" || key == "c";
        return key != "drop";
    };
    EXPECT_EQ(parse_json_selected(R"({"a": {"x": [1, {"drop": {"deep": [1]}, "y": null}], "drop": 2, "z": 1.5},
                                    "b": {"y": [3, {"k": 4}]}, "c": [true, "s", -1, 18446744073709551615], "d": 5})",
                                  "doc", keep),
              Json::parse(R"({"a": {"x": [1, {"y": null}], "z": 1.5}, "c": [true, "s", -1, 18446744073709551615]})"));
    // every key outside a refused member is asked, with the path of members above it
    EXPECT_EQ(asked, (std::vector<std::string>{"a", "a.x", "a.x.drop", "a.x.y", "a.drop", "a.z", "b", "c", "d"}));
    EXPECT_EQ(parse_json_selected("[1, {\"a\": 2}]", "doc", keep), Json::parse("[1, {\"a\": 2}]"));
    EXPECT_EQ(parse_json_selected("7", "doc", keep), Json(7));
    for (const char* bad : {"{\"a\": ", "{\"b\": [1,", "{\"a\": 1} x", "", "1e999"}) {
        try {
            parse_json_selected(bad, "doc", keep);
            FAIL() << "malformed JSON parsed: " << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid);
            EXPECT_NE(std::string(e.what()).find("doc: malformed JSON"), std::string::npos) << e.what();
        }
    }
    for (const std::string& deep : {std::string(2000, '['), std::string(1001, '[') + std::string(1001, ']'),
                                    "{\"b\": " + std::string(1500, '[') + std::string(1500, ']') + "}"}) {
        try {
            parse_json_selected(deep, "doc", keep);
            FAIL() << "JSON nested " << deep.size() / 2 << " deep parsed";
        } catch (const Error& e) {
            EXPECT_STREQ(e.what(), "doc: JSON nests deeper than 1000 levels");
        }
    }
    std::string deepest = std::string(1000, '[') + std::string(1000, ']');
    EXPECT_EQ(parse_json_selected(deepest, "doc", keep), Json::parse(deepest));
    EXPECT_THROW(parse_json_selected("[1, 2]", "doc", keep, 5), Error); // over max_size
}
