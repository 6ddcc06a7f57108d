#!/bin/sh
# The whole test suite, as README.md and .ci/run give it: dependencies, a
# fresh build, then every ctest tier (unit, smoke, dissector, and e2e when
# run as root).
set -eu
cd "$(dirname "$0")/.."
packaging/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure --timeout 600
