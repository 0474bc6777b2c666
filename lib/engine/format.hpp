// Output formats of Docker's listings and inspect:
//   --format 'table {{.ID}}\t{{.Names}}'   a table with a header line
//   --format '{{.State.Status}}'           Go text/template, one line per object
//   --format json                          one JSON object per line
// The template language is a subset of Go's text/template: field chains
// (.A.B, $.A), pipelines (a | b), parentheses, string/number/bool literals,
// {{range}}, {{if}}/{{else}}, {{with}}, {{end}}, "{{-"/"-}}" trimming, and the
// functions Docker adds or people use in scripts: json, index, join, len,
// lower, upper, title, split, print, println, printf (%s %d %v %q), eq, ne,
// not, and, or, truncate, pad.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

namespace ctk::engine {

class Template {
public:
    // Parses `text`; a syntax error is ErrorKind::usage naming the template.
    static Template parse(std::string_view text);
    Template(Template&&) noexcept;
    Template& operator=(Template&&) noexcept;
    ~Template();

    // Executes with `dot` as "." and "$"; errors are ErrorKind::usage.
    std::string execute(const Json& dot) const;

    struct Node;

private:
    Template();
    std::vector<std::unique_ptr<Node>> nodes_;
};

// A value printed as Go's fmt %v prints what encoding/json decoded.
std::string go_print(const Json& v);

// Docker's text/tabwriter settings (minwidth 10, padding 3, spaces): each
// line's cells separated by '\t'; the last cell of a line is not padded.
std::string tabulate(const std::vector<std::string>& lines, size_t minwidth = 10);

// How a listing prints its rows, from --format (and -q).
//   ""        -> the listing's default table
//   "json"    -> {{json .}} per row
//   "table X" -> header row (the template run on the header names) + rows
//   else      -> the template per row
struct Listing {
    std::string default_table; // e.g. "table {{.ID}}\t{{.Image}}"
    // Column headers for the fields of `table` templates: {"ID", "CONTAINER ID"} ...
    std::vector<std::pair<std::string, std::string>> headers;
};
std::string render_listing(const Listing& listing, std::string_view format, const std::vector<Json>& rows);

// A listing's output: with `quiet` only each row's `id_key`, one a line;
// otherwise render_listing.
std::string render_rows(const Listing& listing, std::string_view format, const std::vector<Json>& rows, bool quiet,
                        const std::string& id_key);

// docker inspect's output: the objects as an indented JSON array, "json" one
// compact line each, or a Go template applied to each.
std::string render_inspect(const std::vector<Json>& objects, const std::string& format);

// Unescapes "\t" and "\n" in a --format given on the command line (Docker does this).
std::string unescape_format(std::string_view s);

// Pieces of Docker's listing columns (ctl's listings, local and -H remote):
// "sha256:0123..." or "0123..." -> its first 12 characters of hex
std::string short_id(const std::string& id);
// s cut to n code points, "…" marking the cut
std::string ellipsis(const std::string& s, size_t n);
// {"a":"1","b":"2"} -> "a=1,b=2" (not an object: "")
std::string join_labels(const Json& labels);
// the API's Ports -> "0.0.0.0:8080->80/tcp, 53/udp", sorted, no repeats
std::string ports_display(const Json& ports);

} // namespace ctk::engine
