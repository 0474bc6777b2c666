// JSON for ctk: nlohmann::json, plus the pieces every format type needs:
// parsing with an error that names the object, and typed fields that keep the
// fields ctk does not know, so a read-modify-write loses nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace ctk {

using Json = nlohmann::json;

// Every JSON text ctk reads goes through the parsers below (never Json::parse
// directly), so each is held to two limits before nlohmann sees it:
// - nesting depth json_max_depth: nlohmann's conversions, copies and dumps
//   recurse once per level, and 100 000 nested arrays (200 KB) overflow a
//   thread's stack. Go's encoding/json stops at 10 000; no image, runtime,
//   CNI or Engine API document comes near 1 000.
// - size: max_size bytes, chosen by the caller for its input (the default
//   suits files of the store).
inline constexpr size_t json_max_depth = 1000;
inline constexpr size_t json_max_size = 64u << 20;

// Throws ErrorKind::invalid "<what>: JSON nests deeper than 1000 levels" or
// "<what>: JSON text of N bytes is over the limit of M bytes". Brackets inside
// strings do not count; the text need not be well-formed (the parser judges that).
void check_json_limits(std::string_view text, std::string_view what, size_t max_size = json_max_size);

// Parses `text`; a syntax error or a limit becomes ErrorKind::invalid
// "<what>: malformed JSON: ...".
Json parse_json(std::string_view text, std::string_view what, size_t max_size = json_max_size);
// The same limits (ctk::Error, invalid), but a syntax error stays nlohmann's
// Json::parse_error, for callers that report it in their own words (ctld
// answers with Go's wording).
Json parse_json_text(std::string_view text, std::string_view what, size_t max_size = json_max_size);
// parse_json, keeping only the members `keep` accepts: keep(parents, key) is
// asked at each member's key, with the keys of the members it is inside
// (outermost first; an array adds none). A refused member is read past, never
// built, which makes a reader of a few fields of a large document cheaper.
// For the files ctk writes itself (records, runtime state), which a listing
// reads by the thousand: UTF-8 inside strings is not checked again, as
// nlohmann's dump refused to write anything else.
using JsonKeep = std::function<bool(const std::vector<std::string>& parents, const std::string& key)>;
Json parse_json_selected(std::string_view text, std::string_view what, const JsonKeep& keep,
                         size_t max_size = json_max_size);
// Never throws: a discarded value (is_discarded()) for a syntax error or a limit.
Json try_parse_json(std::string_view text, size_t max_size = json_max_size);
// Reads and parses a file (at most max_size bytes).
Json read_json_file(const std::string& path, size_t max_size = json_max_size);
// Serialises and replaces the file atomically (write_file_atomic).
void write_json_file(const std::string& path, const Json& value, int indent = 2);
// Compact form, as tools print on stdout (one object a line).
std::string dump_compact(const Json& value);
// The strings of an array (other elements skipped); empty for a non-array.
std::vector<std::string> json_strings(const Json& j);

// Reads the fields of one JSON object into a typed struct and collects the
// rest. Type errors name the object and the field:
//     manifest: field "layers": expected array, got string
class ObjectReader {
public:
    ObjectReader(const Json& j, std::string_view what);

    template <typename T> void required(const char* key, T& out) {
        const Json* v = find(key);
        if (!v || v->is_null()) fail_missing(key);
        convert(key, *v, out);
    }
    template <typename T> void optional(const char* key, T& out) {
        const Json* v = find(key);
        if (v && !v->is_null()) convert(key, *v, out);
    }
    template <typename T> void optional(const char* key, std::optional<T>& out) {
        const Json* v = find(key);
        if (v && !v->is_null()) {
            T t{};
            convert(key, *v, t);
            out = std::move(t);
        }
    }
    // Read as optional; ObjectWriter writes it even when empty.
    template <typename T> void defaulted(const char* key, T& out) { optional(key, out); }
    // An optional object read by `fields(reader)`; its unknown keys are dropped.
    template <typename F> void nested(const char* key, std::string_view what, F&& fields) {
        Json sub = Json::object();
        optional(key, sub);
        ObjectReader r(sub, what);
        fields(r);
    }
    // Everything not read through this reader: the struct's `extra`.
    Json rest() const;
    const std::string& what() const noexcept { return what_; }

private:
    const Json* find(const char* key);
    [[noreturn]] void fail_missing(const char* key) const;
    [[noreturn]] void fail_type(const char* key, const std::exception& e) const;
    [[noreturn]] void fail_integer(const char* key, const std::string& why) const;
    bool names_field(std::string_view message, const char* key) const;

    template <typename T> void convert(const char* key, const Json& v, T& out) {
        try {
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                check_integer<T>(key, v);
            } else if constexpr (requires { typename T::value_type; out.push_back(typename T::value_type{}); }) {
                using E = typename T::value_type;
                if constexpr (std::is_integral_v<E> && !std::is_same_v<E, bool>)
                    if (v.is_array())
                        for (const auto& x : v) check_integer<E>(key, x);
            }
            v.get_to(out);
        } catch (const Error& e) {
            // an inner reader that already names this field's path says it best
            if (names_field(e.what(), key)) throw;
            throw e.wrap(what_ + ": field " + quote(key));
        } catch (const Json::exception& e) {
            fail_type(key, e);
        }
    }

    // An integer field holds what its Go type holds (runc's runtime-spec
    // types): nlohmann would wrap -1 to 4294967295 for a uint32 uid, truncate
    // 1.5 and take true as 1; encoding/json refuses them all.
    template <typename T> void check_integer(const char* key, const Json& v) const {
        using L = std::numeric_limits<T>;
        const char* why = nullptr;
        if (v.is_number_unsigned()) {
            if (v.get<uint64_t>() > static_cast<uint64_t>(L::max())) why = "is out of range for";
        } else if (v.is_number_integer()) {
            int64_t x = v.get<int64_t>();
            if (x < 0 ? !L::is_signed || x < static_cast<int64_t>(L::min())
                      : static_cast<uint64_t>(x) > static_cast<uint64_t>(L::max()))
                why = "is out of range for";
        } else if (v.is_number_float() || v.is_boolean()) {
            why = "is not a value of type";
        }
        if (why)
            fail_integer(key, v.dump() + " " + why + " " + (L::is_signed ? "int" : "uint") +
                                  std::to_string(sizeof(T) * 8));
    }

    const Json& j_;
    std::string what_;
    std::set<std::string> seen_;
};

// Writes `value` under `key` unless it is empty (an empty string, map, vector
// or a disengaged optional): the OCI formats omit absent optional fields.
template <typename T> void put_if(Json& j, const char* key, const T& value) {
    if constexpr (requires { value.has_value(); }) {
        if (value.has_value()) j[key] = *value;
    } else if constexpr (requires { value.empty(); }) {
        if (!value.empty()) j[key] = value;
    } else {
        j[key] = value;
    }
}

// ObjectReader's counterpart: writes a typed struct's fields, so that one
// list of fields, a function of either, serves both directions.
// required and defaulted fields are always written; optional ones only when
// set (put_if; a number or bool when not zero).
class ObjectWriter {
public:
    explicit ObjectWriter(Json& j) : j_(j) {}
    template <typename T> void required(const char* key, const T& value) { j_[key] = value; }
    template <typename T> void defaulted(const char* key, const T& value) { j_[key] = value; }
    template <typename T> void optional(const char* key, const T& value) {
        if constexpr (std::is_arithmetic_v<T>) {
            if (value != T{}) j_[key] = value;
        } else {
            put_if(j_, key, value);
        }
    }
    template <typename F> void nested(const char* key, std::string_view, F&& fields) {
        Json sub = Json::object();
        ObjectWriter w(sub);
        fields(w);
        j_[key] = std::move(sub);
    }

private:
    Json& j_;
};

// to_json and from_json of a struct through its list of fields,
// `fields(io, v)`; a struct with an `extra` member keeps there what the list
// does not name.
template <typename T, typename Fields> void write_fields(Json& j, const T& v, const Fields& fields) {
    if constexpr (requires { v.extra; }) j = v.extra;
    else j = Json::object();
    ObjectWriter w(j);
    fields(w, v);
}
template <typename T, typename Fields>
void read_fields(const Json& j, T& v, std::string_view what, const Fields& fields) {
    ObjectReader r(j, what);
    fields(r, v);
    if constexpr (requires { v.extra; }) v.extra = r.rest();
}

} // namespace ctk
