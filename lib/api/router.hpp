// The Docker Engine API's routes and version rules.
//
// Paths come versioned (/v1.41/containers/json) or unversioned (served as the
// newest version). Versions 1.12 … 1.41 are served; above is a JSON 400
// ("client version 1.99 is too new…"), below a plain-text 400, both without
// Docker-Experimental, as the engine answers. An unknown route, or a known
// path with a method it does not take, is 404 {"message":"page not found"}
// with only a Date header.
//
// Patterns are path segments; "{id}" matches one segment, "{name*}" one or
// more (image names carry slashes and a registry port:
// /images/127.0.0.1:5000/tiny/json), matched greedily up to the fixed tail.
#pragma once

#include <string>
#include <vector>

#include "api/http.hpp"

namespace ctk::api {

class Router {
public:
    void add(std::string method, std::string pattern, Handler handler);
    // Answers the request: version check, route match, and errors thrown by
    // the handler (HttpError, ctk::Error by kind) as {"message": …}.
    void dispatch(Request& req, Response& res) const;

    // For tests: the route a method and path match, "" when none.
    std::string match(const std::string& method, const std::string& path) const;

private:
    struct Route {
        std::string method, pattern;
        std::vector<std::string> segments;
        Handler handler;
    };
    const Route* find(const std::string& method, const std::string& path, std::map<std::string, std::string>& params,
                      bool& path_known) const;
    std::vector<Route> routes_;
};

// The HTTP status for a ctk::Error kind (not_found 404, conflict 409,
// invalid/usage 400, else 500).
int status_of(const std::exception& e);

// Splits "/v1.41/x" into version and rest; false when there is no version prefix.
bool split_version(const std::string& path, int& major, int& minor, std::string& rest);

} // namespace ctk::api
