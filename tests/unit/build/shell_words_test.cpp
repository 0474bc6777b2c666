// Variable expansion: the examples of the Dockerfile reference
// ("Environment replacement") and the shell rules Docker's lexer follows.
#include <gtest/gtest.h>

#include "build/shell_words.hpp"
#include "core/error.hpp"

using namespace ctk;
using namespace ctk::build;

TEST(ShellWords, ReferenceExamples) {
    ShellWords sw;
    VarMap env{{"FOO", "/bar"}};
    EXPECT_EQ(sw.word("${FOO}", env), "/bar");
    EXPECT_EQ(sw.word("$FOO", env), "/bar");
    EXPECT_EQ(sw.word("\\$FOO", env), "$FOO");
    EXPECT_EQ(sw.word("${FOO:-x}", env), "/bar");
    EXPECT_EQ(sw.word("${NOPE:-x}", env), "x");
    EXPECT_EQ(sw.word("${FOO:+x}", env), "x");
    EXPECT_EQ(sw.word("${NOPE:+x}", env), "");
    EXPECT_EQ(sw.word("a${NOPE}b", env), "ab");
}

TEST(ShellWords, EmptyVersusUnset) {
    ShellWords sw;
    VarMap env{{"E", ""}};
    EXPECT_EQ(sw.word("${E:-d}", env), "d");
    EXPECT_EQ(sw.word("${E-d}", env), "");
    EXPECT_EQ(sw.word("${U-d}", env), "d");
    EXPECT_EQ(sw.word("${E+s}", env), "s");
    EXPECT_EQ(sw.word("${E:+s}", env), "");
}

TEST(ShellWords, Quotes) {
    ShellWords sw;
    VarMap env{{"X", "v"}};
    EXPECT_EQ(sw.word("'$X a'", env), "$X a");
    EXPECT_EQ(sw.word("\"$X a\"", env), "v a");
    EXPECT_EQ(sw.word("\"a\\\"b\\$X\\n\"", env), "a\"b$X\\n");
    EXPECT_EQ(sw.word("a\\ b", env), "a b");
    EXPECT_EQ(sw.word("$", env), "$");
    EXPECT_EQ(sw.word("$1x", env), "x");
}

TEST(ShellWords, BacktickEscape) {
    ShellWords sw('`');
    VarMap env{{"X", "v"}};
    EXPECT_EQ(sw.word("c:\\dir`$X", env), "c:\\dir$X");
}

TEST(ShellWords, PatternsAndRequiredValues) {
    ShellWords sw;
    VarMap env{{"P", "/usr/local/bin/tool"}, {"V", "a-b-c"}};
    EXPECT_EQ(sw.word("${P#*/}", env), "usr/local/bin/tool");
    EXPECT_EQ(sw.word("${P##*/}", env), "tool");
    EXPECT_EQ(sw.word("${P%/*}", env), "/usr/local/bin");
    EXPECT_EQ(sw.word("${P%%/*}", env), "");
    EXPECT_EQ(sw.word("${V/-/+}", env), "a+b-c");
    EXPECT_EQ(sw.word("${V//-/+}", env), "a+b+c");
    EXPECT_EQ(sw.word("${V:?}", env), "a-b-c");
    try {
        sw.word("${NOPE:?must be set}", env);
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "failed to process \"${NOPE:?must be set}\": NOPE: must be set");
    }
}

TEST(ShellWords, Errors) {
    ShellWords sw;
    auto err = [&](const char* w) -> std::string {
        try {
            sw.word(w, {});
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid);
            return e.what();
        }
        return "";
    };
    EXPECT_EQ(err("${a"), "failed to process \"${a\": syntax error: missing '}'");
    EXPECT_EQ(err("${}"), "failed to process \"${}\": syntax error: bad substitution");
    EXPECT_EQ(err("${a:b}"), "failed to process \"${a:b}\": unsupported modifier (:b) in substitution");
    EXPECT_EQ(err("'open"), "failed to process \"'open\": unexpected end of statement while looking for matching single-quote");
    EXPECT_EQ(err("\"open"), "failed to process \"\"open\": unexpected end of statement while looking for matching double-quote");
}

TEST(ShellWords, WordsSplitAfterExpansion) {
    ShellWords sw;
    VarMap env{{"PORTS", "80 443/udp"}};
    EXPECT_EQ(sw.words("$PORTS 9000", env), (std::vector<std::string>{"80", "443/udp", "9000"}));
    EXPECT_EQ(sw.words("\"a b\" c", env), (std::vector<std::string>{"a b", "c"}));
}

TEST(ShellWords, VarMapLaterWins) {
    auto m = var_map({"A=1", "B", "A=2=3"});
    EXPECT_EQ(m["A"], "2=3");
    EXPECT_EQ(m["B"], "");
}

TEST(ShellWords, PatternMatch) {
    EXPECT_TRUE(shell_pattern_match("a*c", "abbc"));
    EXPECT_TRUE(shell_pattern_match("a?c", "abc"));
    EXPECT_FALSE(shell_pattern_match("a?c", "ac"));
    EXPECT_TRUE(shell_pattern_match("a\\*", "a*"));
    EXPECT_FALSE(shell_pattern_match("a\\*", "ab"));
}
