// .dockerignore rules, from the Dockerfile reference (".dockerignore file")
// and moby/patternmatcher's behaviour.
#include <gtest/gtest.h>

#include <chrono>

#include "build/dockerignore.hpp"

using namespace ctk::build;

TEST(DockerIgnore, ReferenceExample) {
    auto m = IgnoreMatcher::parse("# comment\n*/temp*\n*/*/temp*\ntemp?\n");
    EXPECT_TRUE(m.excluded("somedir/temporary.txt"));
    EXPECT_TRUE(m.excluded("somedir/temp"));
    EXPECT_TRUE(m.excluded("somedir/subdir/temporary.txt"));
    EXPECT_TRUE(m.excluded("tempa"));
    EXPECT_FALSE(m.excluded("temp"));
    EXPECT_FALSE(m.excluded("temporary.txt"));
    EXPECT_FALSE(m.excluded("a/b/c/temp"));
}

TEST(DockerIgnore, DoubleStarMatchesAnyDepth) {
    auto m = IgnoreMatcher::parse("**/*.go\n");
    EXPECT_TRUE(m.excluded("main.go"));
    EXPECT_TRUE(m.excluded("a/b/c.go"));
    EXPECT_FALSE(m.excluded("a/b/c.goo"));
    auto all = IgnoreMatcher::parse("docs/**\n");
    EXPECT_TRUE(all.excluded("docs/x/y"));
    EXPECT_FALSE(all.excluded("doc"));
}

TEST(DockerIgnore, ExceptionsAndLastMatchWins) {
    auto m = IgnoreMatcher::parse("*.md\n!README*.md\nREADME-secret.md\n");
    EXPECT_TRUE(m.excluded("CHANGES.md"));
    EXPECT_FALSE(m.excluded("README.md"));
    EXPECT_FALSE(m.excluded("README-x.md"));
    EXPECT_TRUE(m.excluded("README-secret.md"));
    EXPECT_TRUE(m.has_exclusions());
}

TEST(DockerIgnore, DirectoriesExcludeTheirContents) {
    auto m = IgnoreMatcher::parse("build\n!build/keep\n");
    EXPECT_TRUE(m.excluded("build"));
    EXPECT_TRUE(m.excluded("build/a/b"));
    EXPECT_FALSE(m.excluded("build/keep"));
    EXPECT_FALSE(m.excluded("builder"));
}

TEST(DockerIgnore, PatternsAreCleaned) {
    auto m = IgnoreMatcher::parse("  /abs/./x//  \n\n./rel\n!  spaced\n");
    ASSERT_EQ(m.patterns().size(), 3u);
    EXPECT_EQ(m.patterns()[0], "abs/x");
    EXPECT_EQ(m.patterns()[1], "rel");
    EXPECT_EQ(m.patterns()[2], "!spaced");
    EXPECT_TRUE(m.excluded("abs/x"));
    EXPECT_TRUE(m.excluded("rel/file"));
}

TEST(DockerIgnore, ClassesAndEscapes) {
    auto m = IgnoreMatcher::parse("f[0-9].txt\nq\\*\n");
    EXPECT_TRUE(m.excluded("f1.txt"));
    EXPECT_FALSE(m.excluded("fa.txt"));
    EXPECT_TRUE(m.excluded("q*"));
    EXPECT_FALSE(m.excluded("qq"));
}

TEST(DockerIgnore, CleanPath) {
    EXPECT_EQ(clean_path("a/../b/./c/"), "b/c");
    EXPECT_EQ(clean_path(""), ".");
    EXPECT_EQ(clean_path("/../x"), "/x");
    EXPECT_EQ(clean_path("../x"), "../x");
}

TEST(DockerIgnore, ManyStarsDoNotBacktrackForever) {
    // found by the dockerignore fuzzer: a pattern of many stars that does not
    // match made the backtracking exponential (minutes for one path)
    std::string stars;
    for (int i = 0; i < 30; i++) stars += "*a";
    auto start = std::chrono::steady_clock::now();
    auto m = IgnoreMatcher::parse(stars + "b\n" + std::string(60, '*') + "/" + std::string(60, '*') + "c\n");
    EXPECT_FALSE(m.excluded(std::string(200, 'a')));
    EXPECT_TRUE(m.excluded(std::string(200, 'a') + "b"));
    EXPECT_FALSE(m.excluded(std::string(100, 'a') + "/" + std::string(100, 'b')));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}
