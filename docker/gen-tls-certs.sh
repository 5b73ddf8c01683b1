#!/usr/bin/env bash
# Makes the certificates of the TLS compose cluster (docker/docker-compose.tls.yml) with the
# openssl CLI: a CA, one node certificate for every node (their names and addresses, used as
# server and as client certificate on the bus and replication links) and a client certificate
# for the host's tools. Written to docker/tls/ (not committed); a new set on every run.
set -euo pipefail
DIR=${1:-"$(cd "$(dirname "$0")" && pwd)/tls"}
rm -rf "$DIR"
mkdir -p "$DIR"
cd "$DIR"
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 30 \
  -subj "/CN=shoal compose CA" -keyout ca.key -out ca.crt 2>/dev/null
leaf() { # name, subjectAltName, extendedKeyUsage
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$2" "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
SAN="DNS:localhost,IP:127.0.0.1"
for i in 1 2 3 4 5 6; do SAN="$SAN,DNS:shoal$i,IP:172.28.0.1$i"; done
leaf node "$SAN" serverAuth,clientAuth
leaf client "DNS:client" clientAuth
rm -f ca.srl
# The containers run as root; the keys stay readable by their owner only elsewhere.
chmod 644 ./*.crt
chmod 600 ca.key
chmod 644 node.key client.key
echo "certificates in $DIR"
