// Container identity as Docker has it: a 64-hex ID (the first 12 characters
// are the short ID people type), and a name that is unique in the store,
// follows Docker's rule, and when not given is made up as adjective_surname.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace ctk::engine {

// 32 random bytes as 64 lowercase hex characters (never all digits, so an ID
// cannot be mistaken for a number by scripts; Docker regenerates those too).
std::string new_container_id();
bool is_full_id(std::string_view s);
// A non-empty lowercase hex string of at most 64 characters: possibly an ID prefix.
bool is_id_prefix(std::string_view s);

// Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters); an
// optional leading "/" (the API form) is dropped. Throws ErrorKind::invalid
// with Docker's wording: Invalid container name (w), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed
std::string validate_container_name(std::string_view name);
bool valid_container_name(std::string_view name);

// "adjective_surname"; retry > 0 appends a digit, as Docker does after a clash.
// `random` returns a uniformly distributed value below its argument.
std::string generate_name(int retry, const std::function<size_t(size_t)>& random);
std::string generate_name(int retry = 0);

} // namespace ctk::engine
