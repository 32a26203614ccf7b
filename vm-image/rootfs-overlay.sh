#!/usr/bin/env bash
# Berth's changes to the Debian base: files that must be writable at run time point into /run/berth,
# which berth-agent fills at boot (the rootfs itself is read-only erofs). Arg: ROOT
set -euo pipefail
root=$1
mkdir -p "$root/run/berth" "$root/etc/docker" "$root/var/lib/docker" "$root/var/lib/containerd" "$root/mnt/data"
for f in etc/resolv.conf etc/hosts etc/hostname etc/docker/daemon.json; do
    rm -f "$root/$f"
    ln -s "/run/berth/$(basename "$f")" "$root/$f"
done
: > "$root/etc/machine-id"
# iptables: Docker drives the nft backend through iptables-nft (the Debian default).
echo "berth" > "$root/etc/hostname.default"
