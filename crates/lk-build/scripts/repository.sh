#!/bin/bash
# Step `repository`: make /work/out an apt repository nodes install from without a network:
# the built packages plus every package they depend on (downloaded here, on the host, with an
# empty dpkg status so the whole closure is fetched), indexed with dpkg-scanpackages.
# shellcheck source=common.sh
. /work/steps/common.sh
cd /work/out
step "dependency closure of $(find . -maxdepth 1 -name '*.deb' | wc -l) built packages"
deps=/work/deps
rm -rf "$deps" && mkdir -p "$deps/partial"
: >/work/empty-status
apt-get -q -y -o Dir::State::status=/work/empty-status -o Dir::Cache::archives="$deps" \
    -o APT::Install-Recommends=false --download-only install ./*.deb >/work/closure.out 2>&1 ||
    { tail -n 30 /work/closure.out >&2; die "cannot resolve the dependencies of the built packages"; }
find "$deps" -maxdepth 1 -name '*.deb' -exec mv -t . {} +
rm -rf "$deps" /work/empty-status
step "index"
dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null
gzip -9c Packages >Packages.gz
step "repository: $(grep -c '^Package:' Packages) packages, $(du -sh . | cut -f1)"
