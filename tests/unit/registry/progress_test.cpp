#include "registry/progress.hpp"

#include <cstdio>

#include <gtest/gtest.h>

#include "core/json.hpp"

using namespace ctk;
using namespace ctk::registry;

namespace {
std::string capture(ProgressMode mode, const std::function<void(Progress&)>& f) {
    FILE* out = std::tmpfile();
    {
        auto p = make_progress(mode, out);
        f(*p);
        p->finish();
    }
    std::rewind(out);
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, out)) > 0) text.append(buf, n);
    std::fclose(out);
    return text;
}
const std::string id = "sha256:a7671b9d7ab751172405eb48f0b68f227d7dc9e8356c32bd1cba9d3beec3e295";
} // namespace

TEST(Progress, JsonLinesForPrograms) {
    std::string text = capture(ProgressMode::json, [](Progress& p) {
        p.event(id, "downloading", 0, 100);
        for (int i = 1; i < 50; i++) p.event(id, "downloading", static_cast<uint64_t>(i), 100);
        p.event(id, "downloading", 100, 100);
        p.event(id, "complete", 100, 100);
    });
    std::vector<Json> lines;
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
        lines.push_back(Json::parse(text.substr(start, nl - start)));
    // Throttled: the first, the last, the change of status; not all 52.
    ASSERT_GE(lines.size(), 3u);
    EXPECT_LT(lines.size(), 10u);
    EXPECT_EQ(lines.front()["id"], id);
    EXPECT_EQ(lines.front()["status"], "downloading");
    EXPECT_EQ(lines.back()["status"], "complete");
    EXPECT_EQ(lines.back()["total"], 100);
}

TEST(Progress, TerminalShowsOneLinePerBlob) {
    std::string text = capture(ProgressMode::terminal, [](Progress& p) {
        p.event(id, "downloading", 512, 2048);
        p.event("sha256:ba84b042a97fff13cf3e886ac2987328aa38e851ae2d739d1f902e724f8bc40e", "exists", 1, 1);
        p.event(id, "complete", 2048, 2048);
    });
    EXPECT_NE(text.find("a7671b9d7ab7: Downloading  512B / 2.05kB"), std::string::npos) << text;
    EXPECT_NE(text.find("ba84b042a97f: Already exists"), std::string::npos) << text;
    EXPECT_NE(text.find("a7671b9d7ab7: Pull complete"), std::string::npos) << text;
    EXPECT_NE(text.find("\x1b[2A"), std::string::npos) << "lines are redrawn in place";
}

TEST(Progress, QuietSaysNothing) {
    EXPECT_EQ(capture(ProgressMode::quiet, [](Progress& p) {
                  p.event(id, "downloading", 1, 2);
                  p.note("Digest: x");
              }),
              "");
}
