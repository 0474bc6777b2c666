#include "core/json.hpp"

#include "core/fs.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace ctk {

void check_json_limits(std::string_view text, std::string_view what, size_t max_size) {
    if (text.size() > max_size)
        throw_invalid(std::string(what) + ": JSON text of " + std::to_string(text.size()) +
                      " bytes is over the limit of " + std::to_string(max_size) + " bytes");
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') i++; // the escaped byte cannot end the string
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > json_max_depth)
                throw_invalid(std::string(what) + ": JSON nests deeper than " + std::to_string(json_max_depth) +
                              " levels");
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
}

namespace {
// "[json.exception.parse_error.101] parse error at line 1, column 2: ..." ->
// "WHAT: malformed JSON: parse error at line 1, column 2: ..."
[[noreturn]] void throw_malformed(std::string_view what, const Json::exception& e) {
    std::string msg = e.what();
    auto pos = msg.find("] ");
    if (pos != std::string::npos) msg = msg.substr(pos + 2);
    throw_invalid(std::string(what) + ": malformed JSON: " + msg);
}


// Parses within the limits; the exceptions of type Malformed become "malformed JSON".
template <typename Malformed> Json parse_limited(std::string_view text, std::string_view what, size_t max_size) {
    check_json_limits(text, what, max_size);
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const Malformed& e) {
        throw_malformed(what, e);
    }
}
} // namespace

Json parse_json_text(std::string_view text, std::string_view what, size_t max_size) {
    // a number beyond a double (1e999) is no syntax error: malformed, as parse_json says
    return parse_limited<Json::out_of_range>(text, what, max_size);
}

Json parse_json(std::string_view text, std::string_view what, size_t max_size) {
    // parse_error, and out_of_range for a number beyond a double (1e999)
    return parse_limited<Json::exception>(text, what, max_size);
}

namespace {
// RapidJSON's reader (several times faster than nlohmann's lexer on the
// store's files) driving a builder of the nlohmann values `keep` accepts.
// Numbers keep nlohmann's kinds: unsigned when not negative, else signed, else float.
class SelectingHandler {
public:
    explicit SelectingHandler(const JsonKeep& keep) : keep_(keep) {}
    Json result;
    bool too_deep = false; // over json_max_depth: stopped there

    bool Null() { return scalar(nullptr); }
    bool Bool(bool v) { return scalar(v); }
    bool Int(int v) { return scalar(v < 0 ? Json(static_cast<Json::number_integer_t>(v)) : Json(static_cast<Json::number_unsigned_t>(v))); }
    bool Uint(unsigned v) { return scalar(static_cast<Json::number_unsigned_t>(v)); }
    bool Int64(int64_t v) { return scalar(v < 0 ? Json(static_cast<Json::number_integer_t>(v)) : Json(static_cast<Json::number_unsigned_t>(v))); }
    bool Uint64(uint64_t v) { return scalar(static_cast<Json::number_unsigned_t>(v)); }
    bool Double(double v) { return scalar(v); }
    bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; } // not asked for
    bool String(const char* s, rapidjson::SizeType n, bool) {
        if (skipping_ > 0 || std::exchange(skip_next_, false)) return true;
        place(Json(std::string(s, n)));
        return true;
    }
    bool StartObject() { return open(Json::object()); }
    bool StartArray() { return open(Json::array()); }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool EndArray(rapidjson::SizeType) { return close(); }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (skipping_ == 0) {
            key_.assign(s, n);
            skip_next_ = !keep_(parents_, key_);
        }
        return true;
    }

private:
    // Where the next value goes: the document itself, a member, or an element.
    Json* place(Json&& v) {
        if (open_.empty()) {
            result = std::move(v);
            return &result;
        }
        Json& parent = *open_.back().value;
        if (parent.is_object()) return &(parent[key_] = std::move(v));
        parent.push_back(std::move(v));
        return &parent.back(); // stays put: nothing joins `parent` while this is open
    }
    bool scalar(Json&& v) {
        if (skipping_ == 0 && !std::exchange(skip_next_, false)) place(std::move(v));
        return true;
    }
    bool open(Json&& empty) {
        if (++depth_ > json_max_depth) return !(too_deep = true);
        if (skipping_ > 0 || std::exchange(skip_next_, false)) {
            skipping_++;
            return true;
        }
        bool member = !open_.empty() && open_.back().value->is_object();
        if (member) parents_.push_back(key_);
        open_.push_back({place(std::move(empty)), member});
        return true;
    }
    bool close() {
        depth_--;
        if (skipping_ > 0) {
            skipping_--;
            return true;
        }
        if (open_.back().member) parents_.pop_back();
        open_.pop_back();
        return true;
    }

    struct Open {
        Json* value;
        bool member; // a member of an object (its key is in parents_)
    };
    const JsonKeep& keep_;
    std::vector<Open> open_;
    std::vector<std::string> parents_;
    std::string key_;
    bool skip_next_ = false;
    size_t skipping_ = 0; // containers open inside a refused member
    size_t depth_ = 0;    // containers open
};
} // namespace

Json parse_json_selected(std::string_view text, std::string_view what, const JsonKeep& keep, size_t max_size) {
    // the limits of check_json_limits, the depth counted while parsing (no recursion: the iterative reader)
    if (text.size() > max_size) check_json_limits(text, what, max_size);
    SelectingHandler handler(keep);
    rapidjson::MemoryStream in(text.data(), text.size());
    rapidjson::Reader reader;
    // nothing but blanks after the value; strings are taken as they are (see json.hpp)
    rapidjson::ParseResult ok = reader.Parse<rapidjson::kParseIterativeFlag>(in, handler);
    if (handler.too_deep)
        throw_invalid(std::string(what) + ": JSON nests deeper than " + std::to_string(json_max_depth) + " levels");
    if (!ok)
        throw_invalid(std::string(what) + ": malformed JSON: " + rapidjson::GetParseError_En(ok.Code()) +
                      " at byte " + std::to_string(ok.Offset()));
    return std::move(handler.result);
}

Json try_parse_json(std::string_view text, size_t max_size) {
    try {
        check_json_limits(text, "", max_size);
    } catch (const Error&) {
        return Json(Json::value_t::discarded);
    }
    return Json::parse(text.begin(), text.end(), nullptr, false);
}

Json read_json_file(const std::string& path, size_t max_size) {
    return parse_json(read_file(path, max_size), path);
}

void write_json_file(const std::string& path, const Json& value, int indent) {
    std::string text = value.dump(indent);
    text += '\n';
    write_file_atomic(path, text);
}

std::string dump_compact(const Json& value) {
    return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::vector<std::string> json_strings(const Json& j) {
    std::vector<std::string> out;
    if (j.is_array())
        for (const auto& x : j)
            if (x.is_string()) out.push_back(x.get<std::string>());
    return out;
}

ObjectReader::ObjectReader(const Json& j, std::string_view what) : j_(j), what_(what) {
    if (!j.is_object())
        throw_invalid(what_ + ": expected a JSON object, got " + std::string(j.type_name()));
}

const Json* ObjectReader::find(const char* key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
}

Json ObjectReader::rest() const {
    Json out = Json::object();
    for (auto it = j_.begin(); it != j_.end(); ++it)
        if (!seen_.count(it.key())) out[it.key()] = it.value();
    return out;
}

void ObjectReader::fail_missing(const char* key) const {
    throw_invalid(what_ + ": missing field " + quote(key));
}

void ObjectReader::fail_type(const char* key, const std::exception& e) const {
    std::string msg = e.what();
    auto pos = msg.find("] ");
    if (pos != std::string::npos) msg = msg.substr(pos + 2);
    throw_invalid(what_ + ": field " + quote(key) + ": " + msg);
}

// "process.user.uid: -1 is out of range for uint32"
void ObjectReader::fail_integer(const char* key, const std::string& why) const {
    throw_invalid(what_ + "." + key + ": " + why);
}

// Readers are named by their path in the document ("process.user"), so an
// error from the reader of field `key` starts with "<what>.<key>" (or, in the
// document's top reader, "<key>") and needs no second "field" prefix.
bool ObjectReader::names_field(std::string_view message, const char* key) const {
    auto starts_path = [&](const std::string& path) {
        return message.substr(0, path.size()) == path && message.size() > path.size() &&
               (message[path.size()] == '.' || message[path.size()] == ':');
    };
    return starts_path(what_ + "." + key) || starts_path(key);
}

} // namespace ctk
