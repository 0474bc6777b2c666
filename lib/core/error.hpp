// How ctk reports failure, for the whole project.
//
// Library code throws ctk::Error and nothing else of its own; it never prints
// and never exits. A tool's main() catches it (ctk::cli_main in core/cli.hpp does this), prints
// "tool: <what()>" on stderr as one line and exits with exit_code(kind()).
//
// An Error says what was being done, to which object, and why:
//     mount "proc" on "/proc": EPERM (Operation not permitted)
//     layer sha256:ab12…: entry "../../x" escapes the rootfs
// Kernel-facing code uses throw_errno(), which appends the errno name and text.
// Callers add context on the way up with Error::wrap():
//     catch (ctk::Error& e) { throw e.wrap("image 127.0.0.1:5000/tiny:latest"); }
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ctk {

// The kind of failure decides the exit status (the same table for every tool,
// documented in each man page under EXIT STATUS).
enum class ErrorKind {
    failed = 1,    // a system call or an operation failed
    usage = 2,     // bad command line
    invalid = 3,   // bad input: malformed JSON, wrong digest, hostile layer, bad reference
    not_found = 4, // the named object does not exist
    conflict = 5,  // the object exists, is in use, or the name is taken
    remote = 6,    // a registry or another peer refused or failed
};

int exit_code(ErrorKind kind);
// The other way: a tool's exit status as the kind of its error (2..6 as above,
// anything else `failed`), for callers that ran the tool.
ErrorKind error_kind_of_exit(int status);

class Error : public std::runtime_error {
public:
    explicit Error(std::string message, ErrorKind kind = ErrorKind::failed, int err = 0)
        : std::runtime_error(std::move(message)), kind_(kind), errno_(err) {}

    ErrorKind kind() const noexcept { return kind_; }
    // The errno behind the failure, 0 when there is none.
    int error_number() const noexcept { return errno_; }

    // The same error with "context: " in front, e.g. the object being worked on.
    Error wrap(std::string_view context) const;

private:
    ErrorKind kind_;
    int errno_;
};

// "ENOENT (No such file or directory)"
std::string errno_text(int err);

// Throws: <op> "<object>": ENOENT (No such file or directory)
// ENOENT becomes ErrorKind::not_found, EEXIST/EBUSY ErrorKind::conflict.
[[noreturn]] void throw_errno(std::string_view op, std::string_view object, int err = errno);
[[noreturn]] void throw_errno(std::string_view op, int err = errno);

// Shorthands for the common kinds.
[[noreturn]] void throw_invalid(std::string message);
[[noreturn]] void throw_not_found(std::string message);
[[noreturn]] void throw_conflict(std::string message);

// Quotes a path or name for a message: "a b" stays readable, control bytes are escaped.
std::string quote(std::string_view s);

} // namespace ctk
