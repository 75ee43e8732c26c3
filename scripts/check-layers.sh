#!/usr/bin/env bash
# The layering as a fact of the build: runtime/ <- channels/ <- netpoll/ <- http/.
# A file of a layer may include only its own layer's headers and those of
# the layers below it: a public <goro/X.hpp> counts as the layer whose
# include/goro/ holds it, a private "layer/detail/..." as that layer.
# Prints every include that points upward and exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

layers=(runtime channels netpoll http)
rank() {
  local i
  for i in "${!layers[@]}"; do [[ ${layers[$i]} == "$1" ]] && { echo "$i"; return; }; done
  echo -1
}
# Which layer owns a public header.
owner_of_public() {
  local l
  for l in "${layers[@]}"; do [[ -f $l/include/goro/$1 ]] && { echo "$l"; return; }; done
  echo ""
}

bad=0
for layer in "${layers[@]}"; do
  mine=$(rank "$layer")
  while IFS= read -r -d '' file; do
    while IFS= read -r line; do
      target=""
      if [[ $line =~ \#include\ \<goro/([a-z_]+\.hpp)\> ]]; then
        target=$(owner_of_public "${BASH_REMATCH[1]}")
      elif [[ $line =~ \#include\ \"(runtime|channels|netpoll|http)/ ]]; then
        target=${BASH_REMATCH[1]}
      fi
      [[ -z $target ]] && continue
      if (($(rank "$target") > mine)); then
        echo "check-layers: $file includes from $target, a layer above $layer: $line" >&2
        bad=1
      fi
    done < "$file"
  done < <(find "$layer" \( -name '*.hpp' -o -name '*.cpp' \) -print0)
done
((bad == 0)) && echo "check-layers: every include points down or sideways"
exit "$bad"
