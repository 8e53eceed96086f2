#!/bin/sh
# sshd beside a nested dockerd; the client's public key comes in AUTHORIZED_KEY.
set -e
mkdir -p /root/.ssh /run/sshd
chmod 700 /root/.ssh
printf '%s\n' "$AUTHORIZED_KEY" > /root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
[ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
/usr/sbin/sshd -h /etc/ssh/ssh_host_ed25519_key
exec dockerd --host unix:///var/run/docker.sock --storage-driver overlay2 "$@"
