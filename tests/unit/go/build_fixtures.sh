#!/bin/sh
# Builds the Go fixtures test_go_binary checks into directory $1, with the
# installed Go toolchain (exit 77, "skip", when there is none):
#   <variant>-<arch>            the fixture program, for arch amd64 and arm64
#                               (cross-compiled, never run) and variant
#                               normal, stripped (-s -w), pie, pie-stripped;
#                               amd64 also extpie, extpie-stripped (PIE linked
#                               by gcc: .gopclntab merged into .data.rel.ro)
#                               when gcc is installed
#   <binary>.objdump            `go tool objdump` of the probed functions, for
#                               every binary with a symbol table
#   version.txt                 `go env GOVERSION`
#   asm-<arch>.txt              struct member offsets from the compiler's own
#                               layout (-asmhdr), "#define <Type>_<member> <n>"
#   reflect-<host arch>.txt     the same through reflect (offsets/main.go)
set -eu

out=$1
src=$(cd "$(dirname "$0")" && pwd)

if ! command -v go >/dev/null 2>&1; then
	echo "build_fixtures: go is not installed (apt-get install golang-go): skipping"
	exit 77
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Hermetic and offline: no module downloads, no VCS stamping, no toolchain switch.
export GOCACHE="${GOCACHE:-$out/gocache}" GOPATH="$out/gopath" GOPROXY=off GOFLAGS=-buildvcs=false
export GOTOOLCHAIN=local GOWORK=off
unset GOOS GOARCH GO386 GOAMD64 GOARM

go env GOVERSION >"$out/version.txt"
funcs='^(crypto/tls\.\(\*Conn\)\.(Read|Write)|crypto/tls\.\(\*Config\)\.writeKeyLog|runtime\.casgstatus)$'

# build <name> <arch> <cgo> [go build flags...]
build() {
	name=$1 arch=$2 cgo=$3
	shift 3
	(cd "$src/fixture" && CGO_ENABLED=$cgo GOARCH=$arch go build -o "$out/$name-$arch" "$@" .)
}

for arch in amd64 arm64; do
	build normal "$arch" 0
	build stripped "$arch" 0 -ldflags "-s -w"
	build pie "$arch" 0 -buildmode=pie
	build pie-stripped "$arch" 0 -buildmode=pie -ldflags "-s -w"
done
if [ "$(go env GOHOSTARCH)" = amd64 ] && command -v gcc >/dev/null 2>&1; then
	build extpie amd64 1 -buildmode=pie -ldflags "-linkmode=external"
	build extpie-stripped amd64 1 -buildmode=pie -ldflags "-linkmode=external -s -w"
fi
for bin in normal-amd64 normal-arm64 pie-amd64 pie-arm64 extpie-amd64; do
	[ -e "$out/$bin" ] || continue
	go tool objdump -s "$funcs" "$out/$bin" >"$out/$bin.objdump"
done

# The compiler's layout of the structs go_dwarf.c reads. The header path
# carries a nonce: the build cache keys on flags, and a cached compile would
# not write the header again.
nonce=$$-$(date +%s)
for arch in amd64 arm64; do
	hdr="$out/hdr-$nonce"
	mkdir -p "$hdr"
	GOARCH=$arch go build -o /dev/null \
		-gcflags="crypto/tls=-asmhdr=$hdr/tls.h" \
		-gcflags="net=-asmhdr=$hdr/net.h" \
		-gcflags="internal/poll=-asmhdr=$hdr/poll.h" \
		crypto/tls net internal/poll
	# runtime has assembly, so go build already writes its go_asm.h: keep the work dir.
	work=$(GOARCH=$arch go build -a -work -o /dev/null runtime 2>&1 | sed -n 's/^WORK=//p')
	runtime_hdr=$(grep -l '^#define g_goid ' "$work"/*/go_asm.h | head -n 1)
	cat "$hdr/tls.h" "$hdr/net.h" "$hdr/poll.h" "$runtime_hdr" >"$out/asm-$arch.txt"
	rm -rf "$work" "$hdr"
done

(cd "$src/offsets" && go build -o "$out/reflect-offsets" . && "$out/reflect-offsets") \
	>"$out/reflect-$(go env GOHOSTARCH).txt"
echo "build_fixtures: fixtures for $(cat "$out/version.txt") in $out"
