#!/bin/bash
# docker/sftp/entrypoint.sh: create the SFTP_USERS accounts and their folders, the host
# keys on first start, then run sshd in the foreground (logs on stderr).
# SFTP_USERS: `user:password:folder` entries separated by `;`. user: letters, digits, `_`,
# `-`, `.`; password: empty for key-only access (keys in /etc/sftp/authorized_keys/<user>,
# docker/sftp/authorized_keys/ in the repository); folder: the centre's folder name in
# LOG_ROOT, spaces and parentheses allowed, no `/`. Accounts get uids 20001, 20002... in
# the order listed: add new centres at the end.
set -euo pipefail

LOG_DIR=/srv/logs
SLUICE_GID=10001

die() { printf 'sftp: error: %s\n' "$*" >&2; exit 1; }

# The chroot must belong to root and be writable by nobody else; sluice (group) lists it,
# the centres (others) may only pass through to their folder.
chown root:"$SLUICE_GID" "$LOG_DIR"
chmod 0751 "$LOG_DIR"

for type in ed25519 rsa; do
  key=/etc/ssh/host_keys/ssh_host_${type}_key
  [[ -s $key ]] || ssh-keygen -q -t "$type" -N '' -f "$key"
done

[[ -n ${SFTP_USERS:-} ]] || die "SFTP_USERS is empty: no centre could log in"
# A restarted container starts over from SFTP_USERS: the accounts of the last start go.
while IFS=: read -r name _ id _; do
  ((id >= 20001 && id < 30000)) && userdel "$name" 2>/dev/null || true
done < /etc/passwd
rm -f /etc/ssh/authorized_keys/*
uid=20001
count=0
IFS=';' read -r -a entries <<< "$SFTP_USERS"
for entry in "${entries[@]}"; do
  entry="${entry#"${entry%%[![:space:]]*}"}"
  entry="${entry%"${entry##*[![:space:]]}"}"
  [[ -n $entry ]] || continue
  user="${entry%%:*}"; rest="${entry#*:}"
  [[ $rest != "$entry" ]] || die "SFTP_USERS entry \"$user\": expected user:password:folder"
  password="${rest%:*}"; folder="${rest##*:}"
  [[ $password != "$rest" ]] || die "SFTP_USERS entry \"$user\": expected user:password:folder"
  [[ $user =~ ^[A-Za-z_][A-Za-z0-9_.-]{0,31}$ ]] ||
    die "SFTP_USERS: \"$user\" is not a valid user name (letters, digits, _ - ., at most 32)"
  [[ -n $folder && $folder != */* && $folder != . && $folder != .. ]] ||
    die "SFTP_USERS entry \"$user\": folder \"$folder\" must be one folder name (no /)"
  if id "$user" >/dev/null 2>&1; then
    die "SFTP_USERS: \"$user\" is listed twice or is a system account"
  fi
  useradd --no-create-home --uid "$uid" --user-group --groups centres \
    --home-dir "/$folder" --shell /usr/sbin/nologin "$user"
  if [[ -n $password ]]; then
    printf '%s:%s\n' "$user" "$password" | chpasswd
  else
    usermod -p '*' "$user"   # no password login; keys only
  fi
  keys=/etc/sftp/authorized_keys/$user
  if [[ -f $keys ]]; then
    install -o root -g root -m 0644 "$keys" "/etc/ssh/authorized_keys/$user"
  elif [[ -z $password ]]; then
    die "SFTP_USERS entry \"$user\": no password and no key in $keys"
  fi
  mkdir -p -- "$LOG_DIR/$folder"
  # setgid: what the centre drops belongs to group sluice too.
  chown -R -- "$user:$SLUICE_GID" "$LOG_DIR/$folder"
  chmod 2770 -- "$LOG_DIR/$folder"
  printf 'sftp: account %s -> %s/%s\n' "$user" "$LOG_DIR" "$folder" >&2
  uid=$((uid + 1)); count=$((count + 1))
done
((count > 0)) || die "SFTP_USERS lists no account"

exec /usr/sbin/sshd -D -e
