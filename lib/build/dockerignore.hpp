// .dockerignore: which files of the build context COPY and ADD do not see
// (Docker's rules, moby/patternmatcher):
//
//  - one pattern a line; lines starting with '#' are comments; blanks trimmed
//  - a pattern is cleaned like a path (a/./b//c -> a/b/c, a leading / dropped)
//  - "*" any run of characters but '/', "?" one character but '/', "[a-z]"
//    a class, "\" quotes the next character, "**" any number of directories
//  - "!pattern" re-includes what an earlier pattern excluded; the last
//    matching pattern wins
//  - a pattern that matches a directory excludes everything below it
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ctk::build {

class IgnoreMatcher {
public:
    IgnoreMatcher() = default;
    // From the text of a .dockerignore file.
    static IgnoreMatcher parse(std::string_view text);
    // From cleaned patterns ("!x" for exclusions).
    explicit IgnoreMatcher(const std::vector<std::string>& patterns);

    bool empty() const noexcept { return patterns_.empty(); }
    // True when `path` (relative to the context, '/'-separated, no leading
    // '/') is excluded, itself or through a parent directory.
    bool excluded(std::string_view path) const;
    // Whether some exclusion ("!") pattern exists: excluded directories must
    // then still be searched for re-included files.
    bool has_exclusions() const noexcept { return has_exclusions_; }
    const std::vector<std::string>& patterns() const noexcept { return sources_; }

    // A compiled pattern element (public for the matcher in dockerignore.cpp).
    struct Token {
        enum Kind { literal, star, any_dirs, any_rest, one, klass } kind = literal;
        char c = 0;
        std::string set; // klass: the members ("a-z" ranges expanded lazily)
        bool negated = false;
    };

private:
    struct Pattern {
        std::vector<Token> tokens;
        bool exclusion = false;
    };
    static Pattern compile(std::string_view p);
    static bool match(const std::vector<Token>& t, size_t ti, std::string_view s, size_t si);

    std::vector<Pattern> patterns_;
    std::vector<std::string> sources_;
    bool has_exclusions_ = false;
};

// filepath.Clean with '/' separators: "a/../b/./c/" -> "b/c", "" -> ".".
std::string clean_path(std::string_view p);

} // namespace ctk::build
