// A client of the Docker Engine API (ctld or dockerd), for `ctl -H`: one
// connection per request as the docker CLI does, JSON in and out, streamed
// bodies, and the hijacked raw stream of attach and exec.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/transport.hpp"
#include "core/json.hpp"

namespace ctk::api {

struct ClientResponse {
    int status = 0;
    std::map<std::string, std::string> headers; // lower-case names
    std::string body;
    std::string header(const std::string& lower_name) const;
};

class Client {
public:
    // `host`: unix:///path or tcp://host:port; `tls` set for mutual TLS.
    Client(const std::string& host, std::optional<TlsFiles> tls);
    ~Client();
    Client(Client&&) noexcept;

    // "/containers/json" -> "/v1.41/containers/json"; query appended as given.
    ClientResponse request(const std::string& method, const std::string& path, const std::string& body = "",
                           const std::string& content_type = "application/json",
                           const std::map<std::string, std::string>& headers = {});
    // A response whose body arrives in pieces (pull progress, logs, events,
    // archives); `on_data` gets each piece. Returns the status; an error
    // status's body is returned whole in `error_body` instead.
    int stream(const std::string& method, const std::string& path, const std::string& body,
               const std::function<void(std::string_view)>& on_data, std::string* error_body = nullptr,
               const std::string& content_type = "application/json",
               std::map<std::string, std::string>* response_headers = nullptr);
    // A request body that comes from `next_piece` (returns "" at the end), sent chunked.
    ClientResponse upload(const std::string& method, const std::string& path,
                          const std::function<std::string()>& next_piece, const std::string& content_type);
    // POST with "Connection: Upgrade" / "Upgrade: tcp"; after the 101 (or 200)
    // the returned transport carries raw bytes. Throws with the daemon's
    // message when it answers otherwise.
    std::unique_ptr<Transport> hijack(const std::string& path, const std::string& body = "",
                                      const std::string& content_type = "text/plain");

    // JSON helpers: a status >= 400 throws ctk::Error with the daemon's
    // message, its kind from the status (404 not_found, 409 conflict …).
    Json get(const std::string& path);
    Json post(const std::string& path, const Json& body = Json(), int* status = nullptr);
    void del(const std::string& path);

    const std::string& host() const { return host_; }

private:
    std::unique_ptr<Transport> connect();
    std::string host_;
    Endpoint endpoint_;
    std::unique_ptr<TlsContext> tls_;
};

// Throws ctk::Error for a status >= 400: {"message": …} or the body as text.
[[noreturn]] void throw_api_error(int status, const std::string& body);

// URL query encoding of one value.
std::string url_encode(std::string_view s);

} // namespace ctk::api
