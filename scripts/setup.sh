#!/usr/bin/env bash
# Installs every Debian package faultline's build, tests, fuzzers and demo need.
# Idempotent: safe to run again; only installs what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  nlohmann-json3-dev libcli11-dev libboost-graph-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libssh-dev libcurl4-openssl-dev openssh-server openssh-client sudo
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  gnuplot-nox graphviz
  iproute2 iptables
  etcd-server etcd-client
  postgresql libpq-dev
  redis-server redis-sentinel libhiredis-dev
  mariadb-server mariadb-client galera-4 libmariadb-dev
  libnetfilter-queue-dev
  time
  libxml2-utils
  libcpp-httplib-dev chromium
  python3
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo_prefix=()
if [ "$(id -u)" -ne 0 ]; then sudo_prefix=(sudo); fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# openssh-server is there for the SSH tests, which start their own sshd on 127.0.0.1: its install
# must not start a host-wide one. A policy-rc.d forbidding service starts is put in place for the
# install when none exists (an existing one is left alone), and removed afterwards.
policy_rc=/usr/sbin/policy-rc.d
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\n# scripts/setup.sh (faultline): no service starts during its install\nexit 101\n' |
    "${sudo_prefix[@]}" tee "$policy_rc" >/dev/null
  "${sudo_prefix[@]}" chmod 755 "$policy_rc"
  trap '"${sudo_prefix[@]}" rm -f "$policy_rc"' EXIT
fi
"${sudo_prefix[@]}" apt-get update -q
"${sudo_prefix[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
