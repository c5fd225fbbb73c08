#!/usr/bin/env bash
# Issue 11's C++ library: `cmake --install` of this build into a fresh prefix, then
# examples/custom-cpp-client built out of tree against that install alone (find_package), and
# run: valid as it is, invalid with its seeded stale reads.
#   tests/install/custom_cpp_client.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
source="$2"
work="$(mktemp -d /tmp/faultline_install_XXXXXX)"
trap 'rm -rf "${work}"' EXIT

cmake --install "${build}" --prefix "${work}/prefix" >"${work}/install.log"
cmake -S "${source}/examples/custom-cpp-client" -B "${work}/example" -G Ninja \
  -DCMAKE_PREFIX_PATH="${work}/prefix" >"${work}/configure.log"
cmake --build "${work}/example" >"${work}/build.log" || { cat "${work}/build.log"; exit 1; }
# The example compiled against the install, not the source tree.
grep -q -- "-I${work}/prefix/include/faultline\|-isystem ${work}/prefix/include/faultline" \
  "${work}/example/build.ninja" || { echo "not built against the install"; exit 1; }

cd "${work}"
"${work}/example/custom_client" >valid.out || { cat valid.out; exit 1; }
grep -q '^verdict: valid$' valid.out || { cat valid.out; exit 1; }
code=0
"${work}/example/custom_client" --bug >invalid.out || code=$?
[ "${code}" -eq 1 ] || { echo "exit ${code}"; cat invalid.out; exit 1; }
grep -q '^verdict: invalid$' invalid.out || { cat invalid.out; exit 1; }
echo "custom-cpp-client: built against ${work}/prefix; valid, and invalid with --bug"
