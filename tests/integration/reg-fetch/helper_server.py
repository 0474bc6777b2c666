#!/usr/bin/env python3
"""Loopback helpers for the reg-fetch integration tests.

token: a token service for a docker-registry started with `auth: token:`
    (Docker's token auth spec). Checks HTTP basic credentials, issues an
    RS256 JWT signed with the test's key (openssl dgst), its certificate in
    the x5c header so the registry can verify it against rootcertbundle.

proxy: sits in front of the fixture registry and misbehaves on request:
    basic auth, blob redirects to a second loopback address, 503s, a
    connection cut or a stall in the middle of a blob, a fixed status for
    manifests, hand-made documents for given paths.

Both log one JSON line per request to --log. They listen on 127.0.0.0/8 only.
"""
import argparse
import base64
import http.client
import http.server
import json
import os
import select
import socketserver
import subprocess
import sys
import threading
import time
import uuid


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Log:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, entry):
        with self.lock, open(self.path, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def loopback(host):
    if not host.startswith("127."):
        sys.exit("helper_server: refusing to listen on non-loopback address " + host)
    return host


class TokenHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    opts = None
    log = None
    x5c = None

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        from urllib.parse import urlparse, parse_qs
        q = parse_qs(urlparse(self.path).query)
        scopes = q.get("scope", [])
        auth = self.headers.get("Authorization", "")
        user = None
        if auth.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except Exception:
                user, password = None, None
            if "%s:%s" % (user, password) != self.opts.user:
                self.log.write({"scopes": scopes, "user": user, "ok": False})
                return self.reply(401, {"details": "invalid credentials"})
        else:
            self.log.write({"scopes": scopes, "user": None, "ok": False})
            return self.reply(401, {"details": "credentials required"})
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) >= 3 and parts[0] == "repository":
                access.append({"type": "repository", "name": ":".join(parts[1:-1]),
                               "actions": parts[-1].split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": self.opts.issuer, "sub": user, "aud": self.opts.service,
                  "exp": now + self.opts.expires, "nbf": now - 10, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.opts.key],
                             input=signing_input.encode(), capture_output=True, check=True).stdout
        token = signing_input + "." + b64url(sig)
        self.log.write({"scopes": scopes, "user": user, "ok": True})
        self.reply(200, {"token": token, "access_token": token, "expires_in": self.opts.expires})


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    opts = None
    log = None
    state = None
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def send_json(self, code, body, extra=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def take(self, key):
        with self.lock:
            if self.state[key] > 0:
                self.state[key] -= 1
                return True
            return False

    def handle_any(self):
        host = self.server.server_address[0]
        self.log.write({"method": self.command, "path": self.path, "host": host,
                        "range": self.headers.get("Range"),
                        "authorization": self.headers.get("Authorization")})
        second = host != self.opts.host
        is_blob = "/blobs/sha256:" in self.path
        if not second and self.opts.require_basic and self.path.startswith("/v2/"):
            want = "Basic " + base64.b64encode(self.opts.require_basic.encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.send_json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                                      [("WWW-Authenticate", 'Basic realm="ctk-proxy"')])
        if self.path in self.state["serve"]:
            ctype, path = self.state["serve"][self.path]
            data = open(path, "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return
        if "/manifests/" in self.path and self.opts.manifest_status:
            code = self.opts.manifest_status
            extra = [("Retry-After", "30")] if code == 429 else []
            return self.send_json(code, {"errors": [{"code": "TOOMANYREQUESTS" if code == 429 else "DENIED",
                                                      "message": "refused by the test proxy"}]}, extra)
        if is_blob and self.command == "GET" and not second:
            if self.take("fail_blob_gets"):
                return self.send_json(503, {"errors": [{"code": "UNAVAILABLE", "message": "try again"}]})
            if self.opts.redirect_blobs:
                self.send_response(307)
                self.send_header("Location", "http://%s:%d%s" % (self.opts.redirect_blobs, self.opts.port, self.path))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.forward(is_blob and self.command == "GET")

    def forward(self, blob_get):
        conn = http.client.HTTPConnection(self.opts.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")}
        conn.request(self.command, self.path, headers=headers)
        resp = conn.getresponse()
        length = resp.getheader("Content-Length")
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            conn.close()
            return
        limit = None
        stall = False
        if blob_get and resp.status in (200, 206) and length:
            if self.opts.stall_blob_after and int(length) > self.opts.stall_blob_after:
                limit, stall = self.opts.stall_blob_after, True
            elif self.opts.cut_blob_after and int(length) > self.opts.cut_blob_after and self.take("cuts"):
                limit = self.opts.cut_blob_after
        sent = 0
        while True:
            want = 65536 if limit is None else min(65536, limit - sent)
            if want <= 0:
                break
            chunk = resp.read(want)
            if not chunk:
                break
            self.wfile.write(chunk)
            sent += len(chunk)
        conn.close()
        if limit is not None:
            self.wfile.flush()
            if stall:
                # Hold the connection open until the client goes away (or 60 s).
                deadline = time.time() + 60
                while time.time() < deadline:
                    readable, _, _ = select.select([self.connection], [], [], 0.2)
                    if readable:
                        try:
                            if self.connection.recv(1) == b"":
                                break
                        except OSError:
                            break
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass

    do_GET = handle_any
    do_HEAD = handle_any


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["token", "proxy"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--key")
    p.add_argument("--cert")
    p.add_argument("--user", default="alice:secret")
    p.add_argument("--issuer", default="ctk-test-issuer")
    p.add_argument("--service", default="ctk-test")
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--upstream", default="127.0.0.1:5000")
    p.add_argument("--require-basic")
    p.add_argument("--redirect-blobs", help="second loopback address that serves redirected blobs")
    p.add_argument("--fail-blob-gets", type=int, default=0)
    p.add_argument("--cut-blob-after", type=int, default=0)
    p.add_argument("--cuts", type=int, default=1)
    p.add_argument("--stall-blob-after", type=int, default=0)
    p.add_argument("--manifest-status", type=int, default=0)
    p.add_argument("--serve", action="append", default=[], help="PATH=CONTENT_TYPE=FILE")
    opts = p.parse_args()
    loopback(opts.host)
    log = Log(opts.log)
    if opts.mode == "token":
        der = subprocess.run(["openssl", "x509", "-in", opts.cert, "-outform", "DER"],
                             capture_output=True, check=True).stdout
        TokenHandler.opts, TokenHandler.log = opts, log
        TokenHandler.x5c = base64.b64encode(der).decode()
        Server((opts.host, opts.port), TokenHandler).serve_forever()
    serve = {}
    for s in opts.serve:
        path, ctype, file = s.split("=", 2)
        serve[path] = (ctype, file)
    ProxyHandler.opts, ProxyHandler.log = opts, log
    ProxyHandler.state = {"fail_blob_gets": opts.fail_blob_gets, "cuts": opts.cuts, "serve": serve}
    servers = [Server((opts.host, opts.port), ProxyHandler)]
    if opts.redirect_blobs:
        servers.append(Server((loopback(opts.redirect_blobs), opts.port), ProxyHandler))
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
