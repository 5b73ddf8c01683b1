#!/usr/bin/env bash
# Makes the certificates Redis's test suite reads in TLS mode (tests/tls/ under the suite's
# working copy), as Redis's utils/gen-test-certs.sh does, with the openssl CLI: ca.crt,
# server.crt (server use), client.crt (client use), redis.crt (both), their keys, redis.dh.
# Unlike Redis's script every certificate is X.509 v3 and names 127.0.0.1 and localhost:
# rustls (webpki) takes no v1 certificates.
set -euo pipefail
DIR=${1:?usage: gen-test-certs.sh DIR}
mkdir -p "$DIR"
cd "$DIR"
openssl genrsa -out ca.key 2048 2>/dev/null
openssl req -x509 -new -nodes -sha256 -key ca.key -days 3650 \
  -subj '/O=Redis Test/CN=Certificate Authority' -out ca.crt
gen() { # name, CN, extendedKeyUsage
  openssl genrsa -out "$1.key" 2048 2>/dev/null
  printf 'keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' "$3" >"$1.ext"
  openssl req -new -sha256 -subj "/O=Redis Test/CN=$2" -key "$1.key" |
    openssl x509 -req -sha256 -CA ca.crt -CAkey ca.key -CAserial ca.txt -CAcreateserial \
      -days 365 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.ext"
}
gen server "Server-only" serverAuth
gen client "Client-only" clientAuth
gen redis "Generic-cert" serverAuth,clientAuth
openssl dhparam -dsaparam -out redis.dh 1024 2>/dev/null
