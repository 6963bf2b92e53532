#!/bin/sh
# Refresh the vendored browser code under frontend/vendor/ from its pinned npm release.
# No CDN at the venue: the pages load hls.js from this site only.
#
#   deploy/vendor-refresh.sh            # fetch the pinned version, check it, write the files
#   HLS_VERSION=1.7.5 HLS_SHA256=... deploy/vendor-refresh.sh   # move the pin (then commit
#                                        # the new values below together with the files)
#
# The tarball's sha256 must match the pin; the script refuses anything else. It writes
# frontend/vendor/hls.js/{hls.light.min.mjs,LICENSE,VERSION}; VERSION records the version,
# the tarball's sha256 and the vendored file's sha256 (tests/test_stream.py checks the last).
set -eu

HLS_VERSION="${HLS_VERSION:-1.7.4}"
HLS_SHA256="${HLS_SHA256:-e4ab3d5d13f7cca9ef241d098f39686e19fd451831ba07dc9943482fd5ff75c7}"
FILE=hls.light.min.mjs   # the light ES-module build: HLS playback without subtitles, alt audio or DRM

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/frontend/vendor/hls.js"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tgz="$work/hls.js-$HLS_VERSION.tgz"
if command -v npm >/dev/null 2>&1; then
  (cd "$work" && npm pack --silent "hls.js@$HLS_VERSION" >/dev/null)
else
  curl -fsSL -o "$tgz" "https://registry.npmjs.org/hls.js/-/hls.js-$HLS_VERSION.tgz"
fi
got="$(sha256sum "$tgz" | cut -d' ' -f1)"
if [ "$got" != "$HLS_SHA256" ]; then
  echo "hls.js $HLS_VERSION: tarball sha256 $got, expected $HLS_SHA256; nothing changed" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$work" package/package.json package/LICENSE "package/dist/$FILE"
version="$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$work/package/package.json")"
if [ "$version" != "$HLS_VERSION" ]; then
  echo "the tarball says version $version, expected $HLS_VERSION" >&2
  exit 1
fi
mkdir -p "$dest"
cp "$work/package/dist/$FILE" "$dest/$FILE"
cp "$work/package/LICENSE" "$dest/LICENSE"
{
  echo "hls.js $HLS_VERSION (Apache-2.0), from the npm package's dist/$FILE"
  echo "tarball https://registry.npmjs.org/hls.js/-/hls.js-$HLS_VERSION.tgz"
  echo "tarball-sha256 $HLS_SHA256"
  echo "file-sha256 $(sha256sum "$dest/$FILE" | cut -d' ' -f1)"
  echo "refresh: deploy/vendor-refresh.sh"
} > "$dest/VERSION"
echo "hls.js $HLS_VERSION -> $dest"
