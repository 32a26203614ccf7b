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
# Foreign architectures users actually pull (linux/arm64, linux/arm/v7, and amd64 on an arm64 guest): keep
# those emulators and their binfmt rules (the agent registers them at boot); drop the other ~25.
EMULATE="aarch64 arm x86_64"
native=$(uname -m)
case "$(chroot "$dir" dpkg --print-architecture)" in amd64) native=x86_64 ;; arm64) native=aarch64 ;; esac
keep=""
for a in $EMULATE; do [ "$a" = "$native" ] || keep="$keep $a"; done
for f in "$dir"/usr/bin/qemu-*; do
    a=${f##*/qemu-}
    case " $keep " in *" $a "*) ;; *) rm -f "$f" ;; esac
done
for f in "$dir"/usr/share/qemu/binfmt.d/qemu-*.conf; do
    a=${f##*/qemu-}; a=${a%.conf}
    case " $keep " in *" $a "*) ;; *) rm -f "$f" ;; esac
done
find "$dir/usr/libexec/qemu-binfmt" -xtype l -delete 2>/dev/null || true
for a in $keep; do
    [ -x "$dir/usr/bin/qemu-$a" ] && [ -f "$dir/usr/share/qemu/binfmt.d/qemu-$a.conf" ] \
        || { echo "debootstrap: qemu-user lacks the $a emulator or its binfmt rule" >&2; exit 1; }
done
# Strip docs, locales, caches and apt state.
rm -rf "$dir"/usr/share/{doc,man,info,locale,lintian,linda,bash-completion,zsh,fish} \
       "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* "$dir"/var/log/* \
       "$dir"/usr/share/common-licenses
find "$dir/usr/lib" -name '__pycache__' -prune -exec rm -rf {} + 2>/dev/null || true
