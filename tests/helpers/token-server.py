#!/usr/bin/env python3
"""A registry token service for the tests: the Docker/OCI bearer-token flow, offline.

    token-server.py PORT KEY.pem CERT.pem ISSUER SERVICE LOG [USER:PASSWORD]

GET /token?service=S&scope=repository:NAME:ACTIONS answers {"token", "access_token",
"expires_in"} with an RS256 JWT that docker-registry's `auth: token:` accepts (the signing
certificate travels in the x5c header; the registry trusts it as its rootcertbundle).
Anonymous callers get pull; USER:PASSWORD (HTTP Basic) gets what it asks for; a wrong
password gets 401. Each request is logged to LOG as "user scope granted-actions".
Signing is done by the openssl command line, so only the standard library is needed.
"""
import base64
import http.server
import json
import subprocess
import sys
import time
import urllib.parse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main():
    port, key, cert, issuer, service, log = sys.argv[1:7]
    creds = sys.argv[7] if len(sys.argv) > 7 else None
    der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True,
                         capture_output=True).stdout
    header = b64url(json.dumps({"typ": "JWT", "alg": "RS256",
                                "x5c": [base64.b64encode(der).decode()]}).encode())

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            if url.path != "/token":
                self.send_error(404)
                return
            q = urllib.parse.parse_qs(url.query)
            user = ""
            basic = self.headers.get("Authorization", "")
            if basic.startswith("Basic "):
                given = base64.b64decode(basic[6:]).decode(errors="replace")
                if given != creds:
                    self.send_error(401)
                    with open(log, "a") as f:
                        f.write("denied %s\n" % given.split(":")[0])
                    return
                user = given.split(":")[0]
            access = []
            for scope in q.get("scope", []):
                parts = scope.split(":")
                if len(parts) != 3:
                    continue
                wanted = parts[2].split(",")
                granted = wanted if user else [a for a in wanted if a == "pull"]
                access.append({"type": parts[0], "name": parts[1], "actions": granted})
            now = int(time.time())
            claims = {"iss": issuer, "sub": user, "aud": q.get("service", [service])[0], "exp": now + 300,
                      "nbf": now - 10, "iat": now, "jti": "%d-%d" % (now, id(self)), "access": access}
            signing_input = header + "." + b64url(json.dumps(claims).encode())
            sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                                 check=True, capture_output=True).stdout
            token = signing_input + "." + b64url(sig)
            with open(log, "a") as f:
                f.write("%s %s %s\n" % (user or "anonymous", " ".join(q.get("scope", ["-"])),
                                        ",".join(",".join(a["actions"]) for a in access) or "-"))
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    http.server.HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
