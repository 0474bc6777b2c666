#include "core/error.hpp"

#include <cstring>

namespace ctk {

int exit_code(ErrorKind kind) { return static_cast<int>(kind); }

ErrorKind error_kind_of_exit(int status) {
    return status >= exit_code(ErrorKind::usage) && status <= exit_code(ErrorKind::remote) ? static_cast<ErrorKind>(status)
                                                                                           : ErrorKind::failed;
}

Error Error::wrap(std::string_view context) const {
    std::string msg(context);
    msg += ": ";
    msg += what();
    return Error(std::move(msg), kind_, errno_);
}

std::string errno_text(int err) {
    const char* name = strerrorname_np(err);
    std::string out = name ? name : "E" + std::to_string(err);
    out += " (";
    out += strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error";
    out += ")";
    return out;
}

static ErrorKind kind_of_errno(int err) {
    switch (err) {
    case ENOENT:
        return ErrorKind::not_found;
    case EEXIST:
    case EBUSY:
    case ENOTEMPTY:
        return ErrorKind::conflict;
    default:
        return ErrorKind::failed;
    }
}

void throw_errno(std::string_view op, std::string_view object, int err) {
    std::string msg(op);
    msg += ' ';
    msg += quote(object);
    msg += ": ";
    msg += errno_text(err);
    throw Error(std::move(msg), kind_of_errno(err), err);
}

void throw_errno(std::string_view op, int err) {
    std::string msg(op);
    msg += ": ";
    msg += errno_text(err);
    throw Error(std::move(msg), kind_of_errno(err), err);
}

void throw_invalid(std::string message) { throw Error(std::move(message), ErrorKind::invalid); }
void throw_not_found(std::string message) { throw Error(std::move(message), ErrorKind::not_found); }
void throw_conflict(std::string message) { throw Error(std::move(message), ErrorKind::conflict); }

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
    return out;
}

} // namespace ctk
