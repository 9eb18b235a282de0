#!/bin/sh
# Makes the certificates of a Convoy site with openssl: a private CA, server certificates
# (the broker's MQTT over TLS, the HTTPS API) and one client certificate per vehicle.
#
#   make-certs.sh ca DIR                     DIR/ca.pem, DIR/ca.key (10 years)
#   make-certs.sh server DIR NAME [SAN...]   DIR/NAME.pem, DIR/NAME.key, signed by DIR/ca.*;
#                                            SANs are host names or IP addresses (default: NAME)
#   make-certs.sh vehicle DIR ID             DIR/ID.pem, DIR/ID.key with CN=ID: the broker
#                                            checks that it names the MQTT user
#
# Keys are EC P-256 and written 0600; certificates 0644. An existing file is never
# overwritten: the command stops with an error instead (remove the files to make new ones).
# Give each vehicle its ID.pem, ID.key and ca.pem (the agent's client_cert_file,
# client_key_file and ca_file); keep ca.key offline.
set -eu

DAYS_CA=3650
DAYS_LEAF=825

usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "make-certs.sh: $*" >&2
  exit 1
}

refuse_existing() {
  for file in "$@"; do
    [ ! -e "$file" ] || die "$file exists; not overwriting it"
  done
}

new_key() { # PATH: an EC P-256 key readable by its owner only
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null) ||
    die "cannot write the key $1"
  chmod 600 "$1"
}

need_ca() {
  [ -f "$1/ca.pem" ] && [ -f "$1/ca.key" ] || die "no CA in $1: run 'make-certs.sh ca $1' first"
}

# A certificate for KEY with SUBJECT, signed by the CA in DIR, with these extensions.
sign() { # DIR NAME SUBJECT EXTENSIONS
  dir=$1 name=$2 subject=$3 extensions=$4
  ext_file=$(mktemp)
  csr=$(mktemp)
  trap 'rm -f "$ext_file" "$csr"' EXIT
  printf '%s\n' "$extensions" >"$ext_file"
  openssl req -new -key "$dir/$name.key" -subj "$subject" -out "$csr" 2>/dev/null ||
    die "cannot make the request for $name"
  openssl x509 -req -in "$csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days "$DAYS_LEAF" -sha256 -extfile "$ext_file" -out "$dir/$name.pem" 2>/dev/null ||
    die "cannot sign the certificate for $name"
  chmod 644 "$dir/$name.pem"
  rm -f "$ext_file" "$csr" "$dir/ca.srl"
  trap - EXIT
}

# A name for a file and a certificate: letters, digits, '.', '_' and '-' (a vehicle id's
# alphabet), so it can go into a subject and a path unquoted.
check_name() {
  case $1 in
    '' | *[!A-Za-z0-9._-]*) die "$2 '$1' may hold only A-Z, a-z, 0-9, '.', '_' and '-'" ;;
  esac
}

[ $# -ge 2 ] || usage
command -v openssl >/dev/null 2>&1 || die "openssl is not installed"
command=$1
dir=$2
shift 2
mkdir -p "$dir"

case $command in
  ca)
    [ $# -eq 0 ] || usage
    refuse_existing "$dir/ca.pem" "$dir/ca.key"
    new_key "$dir/ca.key"
    openssl req -new -x509 -key "$dir/ca.key" -subj "/CN=Convoy private CA" -days "$DAYS_CA" -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$dir/ca.pem" 2>/dev/null || die "cannot make the CA certificate"
    chmod 644 "$dir/ca.pem"
    echo "CA: $dir/ca.pem (give it to every vehicle and client), $dir/ca.key (keep it offline)"
    ;;
  server)
    [ $# -ge 1 ] || usage
    name=$1
    shift
    check_name "$name" "server name"
    need_ca "$dir"
    refuse_existing "$dir/$name.pem" "$dir/$name.key"
    [ $# -gt 0 ] || set -- "$name"
    sans=""
    for san in "$@"; do
      case $san in
        *[!0-9.]* ) case $san in *:*) entry="IP:$san" ;; *) entry="DNS:$san" ;; esac ;;
        *) entry="IP:$san" ;;
      esac
      sans="${sans:+$sans,}$entry"
    done
    new_key "$dir/$name.key"
    sign "$dir" "$name" "/CN=$name" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$sans"
    echo "server: $dir/$name.pem, $dir/$name.key ($sans)"
    ;;
  vehicle)
    [ $# -eq 1 ] || usage
    id=$1
    check_name "$id" "vehicle id"
    need_ca "$dir"
    refuse_existing "$dir/$id.pem" "$dir/$id.key"
    new_key "$dir/$id.key"
    sign "$dir" "$id" "/CN=$id" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
    echo "vehicle: $dir/$id.pem, $dir/$id.key (CN=$id)"
    ;;
  *)
    usage
    ;;
esac
