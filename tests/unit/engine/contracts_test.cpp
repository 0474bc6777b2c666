// CONTRACTS.md is cited by the code that implements or calls a tool's
// interface; a citation must name a section that exists, so a renamed or
// dropped section fails here instead of leaving the reader a dead reference.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/fs.hpp"

namespace {

namespace fs = std::filesystem;

std::string source_dir() {
    const char* d = std::getenv("CTK_SOURCE_DIR");
    return d ? d : "";
}

// "## ns-run (container)" -> tool "ns-run"; its "### " headings are its sections.
std::map<std::string, std::set<std::string>> contract_sections(const std::string& text) {
    std::map<std::string, std::set<std::string>> out;
    std::string tool;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("## ", 0) == 0) {
            tool = line.substr(3, line.find(' ', 3) - 3);
            out[tool];
        } else if (line.rfind("### ", 0) == 0 && !tool.empty()) {
            out[tool].insert(line.substr(4));
        }
    }
    return out;
}

} // namespace

TEST(Contracts, EveryToolHasTheSectionsItsCallersCite) {
    ASSERT_FALSE(source_dir().empty()) << "CTK_SOURCE_DIR is not set (meson test sets it)";
    auto sections = contract_sections(ctk::read_file(source_dir() + "/CONTRACTS.md"));
    // lib/engine/tools.hpp builds the argvs "from each tool's Invoked by ctl and ctld".
    for (const char* tool : {"reg-fetch", "img-unpack", "ns-run", "net-bridge", "vol-mount"}) {
        ASSERT_TRUE(sections.count(tool)) << "CONTRACTS.md has no section for " << tool;
        EXPECT_TRUE(sections[tool].count("Invoked by ctl and ctld")) << tool;
    }
    EXPECT_TRUE(sections.count("img-pack")) << "img-pack's planned role";
}

TEST(Contracts, CitationsNameExistingSections) {
    ASSERT_FALSE(source_dir().empty()) << "CTK_SOURCE_DIR is not set (meson test sets it)";
    auto sections = contract_sections(ctk::read_file(source_dir() + "/CONTRACTS.md"));
    // CONTRACTS.md, ns-run "state: the OCI state and its extensions" (a comment may wrap)
    const std::regex citation(R"re(CONTRACTS\.md, ([a-z-]+) "([^"]+)")re");
    const std::regex comment_break(R"(\s*\n\s*//\s*)");
    int cited = 0;
    for (const char* top : {"lib", "tools", "tests"}) {
        for (const auto& e : fs::recursive_directory_iterator(source_dir() + "/" + top)) {
            std::string ext = e.path().extension().string();
            if (!e.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
            std::string text = ctk::read_file(e.path().string());
            if (text.find("CONTRACTS.md") == std::string::npos) continue;
            text = std::regex_replace(text, comment_break, " ");
            for (std::sregex_iterator m(text.begin(), text.end(), citation), end; m != end; ++m) {
                std::string tool = (*m)[1], section = (*m)[2];
                cited++;
                EXPECT_TRUE(sections.count(tool) && sections[tool].count(section))
                    << e.path().string() << " cites CONTRACTS.md, " << tool << " \"" << section
                    << "\", which does not exist";
            }
        }
    }
    EXPECT_GT(cited, 0);
}
