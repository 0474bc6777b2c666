// Variable expansion in Dockerfile words, as Docker does it for ADD, COPY,
// ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and ARG
// (moby/buildkit frontend/dockerfile/shell): a small subset of sh.
//
//   'text'          literal
//   "text"          $ expanded; the escape character quotes only " $ and itself
//   \c              c, literally (the escape character is \ or `)
//   $name ${name}   the value, "" when unset
//   ${name:-word}   word when name is unset or empty (${name-word}: only unset)
//   ${name:+word}   word when name is set and not empty (${name+word}: set)
//   ${name:?msg}    an error when unset or empty (${name?msg}: unset)
//   ${name#pat} ${name##pat} ${name%pat} ${name%%pat}   prefix/suffix removal (* ?)
//   ${name/pat/rep} ${name//pat/rep}                    replacement
//
// RUN, CMD and ENTRYPOINT are not expanded: their shell does that.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ctk::build {

using VarMap = std::map<std::string, std::string>;

class ShellWords {
public:
    explicit ShellWords(char escape = '\\') : escape_(escape) {}

    // Quotes removed, variables expanded; blanks kept. Errors are
    // ErrorKind::invalid: failed to process "${a": syntax error: missing '}'
    std::string word(std::string_view text, const VarMap& vars) const;
    // The same, split into words at unquoted blanks after expansion (EXPOSE $PORTS).
    std::vector<std::string> words(std::string_view text, const VarMap& vars) const;

private:
    char escape_;
};

// "K=V" strings to a map (later ones win); "K" alone maps to "".
VarMap var_map(const std::vector<std::string>& env);

// Whether a shell pattern (* and ? wildcards, \ escapes) matches all of `s`.
bool shell_pattern_match(std::string_view pattern, std::string_view s);

} // namespace ctk::build
