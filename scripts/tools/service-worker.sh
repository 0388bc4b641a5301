#!/usr/bin/env bash
# Trunk's post-build hook (Trunk.toml): fills in static/sw.js, the offline cache, with this
# build's files and a hash of their bytes, and writes it beside them as sw.js. Under
# scripts/serve (QUANTSCOPE_DEV_SERVER=1) it leaves the list out: the worker then removes
# itself, so a development server always serves what was just built.
set -euo pipefail
staging="${TRUNK_STAGING_DIR:?run by trunk as a post_build hook}"
template="${TRUNK_SOURCE_DIR:-.}/static/sw.js"
cd "$staging"
rm -f sw.js
mapfile -t files < <(find . -type f | sed 's|^\./||' | LC_ALL=C sort)
version="$(cat "${files[@]}" | sha256sum | cut -c1-16)"
# The model worker (tract, ~15 MB) is not fetched with the app: it is cached when a model is
# first opened (LATER), so that the first load stays small.
if [ "${QUANTSCOPE_DEV_SERVER:-0}" = 1 ]; then
  list=null
  later=null
else
  list="[\"./\""
  later="["
  for f in "${files[@]}"; do
    case "$f" in
      model_worker*) later+="$([ "$later" = "[" ] || echo ", ")\"./$f\"" ;;
      *) list+=", \"./$f\"" ;;
    esac
  done
  list+="]"
  later+="]"
fi
sed -e "s|__QUANTSCOPE_VERSION__|$version|" -e "s|/\*__QUANTSCOPE_FILES__\*/ null|$list|" -e "s|/\*__QUANTSCOPE_LATER__\*/ null|$later|" "$template" > sw.js
grep -q "const VERSION = \"$version\"" sw.js || { echo "service-worker.sh: $template has no version placeholder" >&2; exit 1; }
echo "service worker: ${#files[@]} files, version $version$([ "$list" = null ] && echo ' (development: no cache)')"
