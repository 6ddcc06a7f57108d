#!/bin/sh
# Makes some TLS traffic on this machine for a first look at tlsdump: an
# HTTPS server on 127.0.0.1:8443 (Python, OpenSSL) and a few curl requests.
# Usage: packaging/demo-traffic.sh [COUNT]
set -eu
count=${1:-5}
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
/usr/bin/python3 - "$dir" <<'PY' &
import http.server, ssl, sys
d = sys.argv[1]
srv = http.server.HTTPServer(("127.0.0.1", 8443), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/cert.pem", d + "/key.pem")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
server=$!
sleep 1
i=0
while [ "$i" -lt "$count" ]; do
	curl -sk "https://localhost:8443/?request=$i" -o /dev/null && echo "request $i sent"
	i=$((i + 1))
	sleep 1
done
