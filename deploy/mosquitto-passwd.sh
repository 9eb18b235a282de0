#!/bin/sh
# Writes Mosquitto's password file for Convoy (password_file in deploy/mosquitto.conf) with
# mosquitto_passwd: the server's account, and one account per vehicle whose user name is the
# vehicle id (deploy/mosquitto.acl lets it publish only under convoy/v1/vehicles/ID/).
#
#   mosquitto-passwd.sh server FILE USER PASSWORD_FILE
#       the server's account (broker_username and broker_password_file in convoy.toml)
#   mosquitto-passwd.sh vehicles FILE < PAIRS
#       vehicles already registered: one "ID PASSWORD" pair per line on standard input
#   mosquitto-passwd.sh phones FILE < PAIRS
#       OwnTracks phones (convoy phone add-owntracks): one "USER SECRET" pair per line, the
#       OwnTracks user and the secret convoy printed (deploy/mosquitto.acl: owntracks/USER/+)
#   mosquitto-passwd.sh register FILE ID...
#       registers each vehicle with `convoy vehicle add ID --json` (set CONVOY to the command and
#       CONVOY_ARGS to its storage flags, e.g. CONVOY_ARGS="--database postgres://..."), adds
#       it, and prints "ID PASSWORD" on standard output, once: give the password to the agent
#
# The file is created (0600) if missing; an existing user's password is replaced. Then make
# Mosquitto read it again: systemctl reload mosquitto (SIGHUP). mosquitto_passwd -b takes the
# password as an argument, so run this on the broker host, not on a shared machine.
set -eu

usage() {
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "mosquitto-passwd.sh: $*" >&2
  exit 1
}

# A vehicle id's alphabet (convoy_core::VehicleId), which is also an OwnTracks user's
# (convoy_registry::phones::valid_phone_name): safe in the file, the shell and the ACL.
check_id() { # NAME [WHAT]
  case $1 in
    '' | *[!A-Za-z0-9._-]*) die "'$1' is not ${2:-a vehicle id} (A-Z, a-z, 0-9, '.', '_', '-')" ;;
  esac
}

ensure_file() {
  if [ ! -e "$1" ]; then
    (umask 077 && : >"$1") || die "cannot create $1"
  fi
}

set_password() { # FILE USER PASSWORD
  mosquitto_passwd -b "$1" "$2" "$3" || die "mosquitto_passwd failed for $2"
}

[ $# -ge 2 ] || usage
command -v mosquitto_passwd >/dev/null 2>&1 || die "mosquitto_passwd is not installed (Debian: mosquitto)"
command=$1
file=$2
shift 2

case $command in
  server)
    [ $# -eq 2 ] || usage
    user=$1
    case $user in '' | *:* | *[[:space:]]*) die "server user name '$user' may not be empty or hold ':' or spaces" ;; esac
    [ -r "$2" ] || die "cannot read the password file $2"
    password=$(head -n 1 "$2" | tr -d '\r\n')
    [ -n "$password" ] || die "$2 holds no password"
    ensure_file "$file"
    set_password "$file" "$user" "$password"
    echo "server account $user written to $file" >&2
    ;;
  vehicles | phones)
    # The same pairs: a phone's user name is its OwnTracks user, its password its secret.
    [ $# -eq 0 ] || usage
    what='a vehicle id'
    [ "$command" = phones ] && what='an OwnTracks user name'
    ensure_file "$file"
    count=0
    while read -r id password rest || [ -n "${id:-}" ]; do
      [ -n "$id" ] || continue
      check_id "$id" "$what"
      [ -n "$password" ] && [ -z "$rest" ] || die "line for $id must be 'NAME PASSWORD'"
      set_password "$file" "$id" "$password"
      count=$((count + 1))
    done
    echo "$count ${command%s}(s) written to $file" >&2
    ;;
  register)
    [ $# -ge 1 ] || usage
    ensure_file "$file"
    for id in "$@"; do
      check_id "$id"
      # shellcheck disable=SC2086 # CONVOY_ARGS is a list of flags
      json=$(${CONVOY:-convoy} vehicle add "$id" --json ${CONVOY_ARGS:-}) || die "convoy vehicle add $id failed"
      # The password is letters and digits (convoy_gateway::auth::random_password).
      password=$(printf '%s\n' "$json" | sed -n 's/.*"password":"\([A-Za-z0-9]*\)".*/\1/p')
      [ -n "$password" ] || die "no password in the output of convoy vehicle add $id"
      set_password "$file" "$id" "$password"
      echo "$id $password"
    done
    ;;
  *)
    usage
    ;;
esac
