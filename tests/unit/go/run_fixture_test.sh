#!/bin/sh
# ctest driver: builds the Go fixtures (exit 77, "skip", without a Go
# toolchain), then runs the test binary on them.
# Usage: run_fixture_test.sh TEST_BINARY FIXTURE_DIR
set -eu
test_bin=$1
dir=$2
status=0
sh "$(dirname "$0")/build_fixtures.sh" "$dir" || status=$?
if [ "$status" -ne 0 ]; then
	[ "$status" -eq 77 ] && exit 77
	echo "run_fixture_test: building the fixtures failed ($status)"
	exit 1
fi
exec "$test_bin" "$dir"
