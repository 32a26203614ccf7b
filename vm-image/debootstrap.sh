#!/usr/bin/env bash
# debootstrap the guest's Debian base into $1 and strip what a container host never reads.
# Args: DIR SUITE MIRROR PACKAGES_FILE
set -euo pipefail
dir=$1 suite=$2 mirror=$3 list=$4
pkgs=$(grep -v '^#' "$list" | grep -v '^$' | paste -sd, -)
debootstrap --variant=minbase --include="$pkgs" "$suite" "$dir" "$mirror" \
    | grep -E '^I: (Retrieving|Base system|Configuring [a-z])' | grep -vE 'Retrieving (Release|Packages|InRelease)' \
    | awk 'NR%10==1' >&2 || true
[ -x "$dir/usr/sbin/dockerd" ] || { echo "debootstrap failed: no dockerd in $dir" >&2; exit 1; }
# Strip docs, locales, caches and apt state.
rm -rf "$dir"/usr/share/{doc,man,info,locale,lintian,linda,bash-completion,zsh,fish} \
       "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* "$dir"/var/log/* \
       "$dir"/usr/share/common-licenses
find "$dir/usr/lib" -name '__pycache__' -prune -exec rm -rf {} + 2>/dev/null || true
