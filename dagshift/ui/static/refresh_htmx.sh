#!/bin/sh
# Refresh the vendored htmx from the npm registry: sh dagshift/ui/static/refresh_htmx.sh [VERSION]
# Writes htmx.min.js, htmx.LICENSE and htmx.json (version, licence, sha256) beside this script;
# the test suite checks the file against that sha256, so an edited copy shows.
set -eu
VERSION="${1:-2.0.11}"
HERE="$(cd "$(dirname "$0")" && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent "htmx.org@$VERSION" >/dev/null
tar xzf "htmx.org-$VERSION.tgz"
cp package/dist/htmx.min.js "$HERE/htmx.min.js"
cp package/LICENSE "$HERE/htmx.LICENSE"
SUM="$(sha256sum "$HERE/htmx.min.js" | cut -d' ' -f1)"
printf '{"package": "htmx.org", "version": "%s", "license": "0BSD", "sha256": "%s"}\n' \
  "$VERSION" "$SUM" > "$HERE/htmx.json"
echo "htmx $VERSION: $SUM"
