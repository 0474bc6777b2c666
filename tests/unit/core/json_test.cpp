#include "core/json.hpp"

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
