#include <gtest/gtest.h>

#include "container/log.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"

using namespace ctk;
using namespace ctk::container;

namespace {
std::string js(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}
} // namespace

TEST(JsonString, EscapesAndKeepsUtf8Valid) {
    EXPECT_EQ(js("a\"b\\c\n\t\x01"), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
    EXPECT_EQ(js("h\xc3\xa9llo \xe2\x9c\x93"), "\"h\xc3\xa9llo \xe2\x9c\x93\"");
    EXPECT_EQ(js("bad \xff end"), "\"bad \xef\xbf\xbd end\"");
    EXPECT_EQ(js("cut \xe2\x9c"), "\"cut \xef\xbf\xbd\xef\xbf\xbd\"");
    EXPECT_EQ(js("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"") << "surrogates are not UTF-8";
    // Whatever the bytes, the result parses as JSON.
    std::string all;
    for (int c = 0; c < 256; c++) all += static_cast<char>(c);
    EXPECT_NO_THROW(Json::parse(js(all)));
}

TEST(JsonFileLog, DockerLineFormat) {
    TempDir d("jsonlog");
    std::string path = d.path() + "/c.log";
    {
        JsonFileLog log(path);
        log.feed(JsonFileLog::stdout_stream, "hello\nwor");
        log.feed(JsonFileLog::stderr_stream, "oops\n");
        log.feed(JsonFileLog::stdout_stream, "ld\nno newline");
        log.flush(JsonFileLog::stdout_stream);
        log.flush(JsonFileLog::stderr_stream);
    }
    auto lines = split(read_file(path), '\n');
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[4], "");
    Json a = Json::parse(lines[0]), b = Json::parse(lines[1]), c = Json::parse(lines[2]), e = Json::parse(lines[3]);
    EXPECT_EQ(a["log"], "hello\n");
    EXPECT_EQ(a["stream"], "stdout");
    EXPECT_EQ(b["log"], "oops\n");
    EXPECT_EQ(b["stream"], "stderr");
    EXPECT_EQ(c["log"], "world\n");
    EXPECT_EQ(e["log"], "no newline");
    EXPECT_EQ(a["time"].get<std::string>().back(), 'Z');
}

TEST(JsonFileLog, LongLinesAreSplit) {
    TempDir d("jsonlog");
    std::string path = d.path() + "/c.log";
    {
        JsonFileLog log(path);
        log.feed(JsonFileLog::stdout_stream, std::string(40000, 'x') + "\n");
    }
    auto lines = split(read_file(path), '\n');
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(Json::parse(lines[0])["log"].get<std::string>().size(), 16384u);
    EXPECT_EQ(Json::parse(lines[1])["log"].get<std::string>().size(), 16384u);
    EXPECT_EQ(Json::parse(lines[2])["log"].get<std::string>(), std::string(40000 - 32768, 'x') + "\n");
}

TEST(RuntimeLog, JsonLines) {
    TempDir d("rtlog");
    RuntimeLog log(d.path() + "/l", true, false);
    log.error("bad \"thing\"");
    Json j = Json::parse(read_file(d.path() + "/l"));
    EXPECT_EQ(j["level"], "error");
    EXPECT_EQ(j["msg"], "bad \"thing\"");
}
