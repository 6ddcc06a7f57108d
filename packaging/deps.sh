#!/bin/sh
# The one list of Debian packages tlsdump needs to build, run and test.
# Used by README.md, .ci/run and packagers. Usage: packaging/deps.sh [--print]
set -eu

BUILD="cmake make gcc pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
libcapstone-dev libdwarf-dev libglib2.0-dev libjson-glib-dev libcurl4-openssl-dev libpcap-dev
wireshark-dev"
RUN="tshark iproute2"
TEST="openssl curl python3 nginx-light golang-go util-linux wget android-boringssl
android-libboringssl gnutls-bin libnss3-tools nodejs containerd runc busybox-static"

if [ "${1:-}" = "--print" ]; then
	echo $BUILD $RUN $TEST
	exit 0
fi

missing=""
for p in $BUILD $RUN $TEST; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
