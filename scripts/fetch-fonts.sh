#!/usr/bin/env bash
# Google Fonts Arabic families that Debian does not package, for synthetic training and
# benchmark lines: more letter and digit designs are what makes a model read fonts it never
# saw. Fetched from the npm registry, pinned by version and SHA-256, into
#   ${LINEOCR_FONT_DIR:-$HOME/.local/share/fonts}/lineocr-google-fonts
# where fontconfig (and so lineocr's font discovery) finds them. Regular, Bold and Light
# faces only, with each family's licence (SIL Open Font License 1.1) beside them.
#  - FAMILIES: the @expo-google-fonts packages ship the families' TrueType files unchanged;
#  - FONTSOURCE_FAMILIES: families missing there come from the @fontsource packages, which
#    cut each face into per-script WOFF subsets for web pages; the arabic and latin subsets
#    of a weight are merged back into one TrueType face (scripts/merge_font_subsets.py,
#    fontTools, with $PYTHON: the project's environment, as `make system-deps` passes it).
# Idempotent: a family already there is skipped. Nothing here runs at lineocr's run time.
#
# Left out on purpose: Zain (draws U+0660-0669 as Western digits, so a label and its image
# would disagree), Qahiri (draws Latin capitals as small letters), colour/outline variants
# (Blaka Hollow/Ink, Reem Kufi Fun/Ink, Aref Ruqaa Ink, Cairo Play), Amiri Quran, Nastaliq
# (Gulzar, Noto Nastaliq Urdu), monospace coding fonts (Cascadia), and families Debian
# already ships (Amiri, Noto, Harmattan, Lateef, Alkalami, Lemonada).
set -euo pipefail
DEST="${LINEOCR_FONT_DIR:-$HOME/.local/share/fonts}/lineocr-google-fonts"
REGISTRY="${NPM_REGISTRY:-https://registry.npmjs.org}"
# package version sha256-of-the-tarball
FAMILIES="
alexandria 0.4.2 76d3ad37a581e9f18aa0f5617f5b88be184a5cbe1ed8d5fc22100430107e2458
almarai 0.4.1 7c50491128148dab34e71c0610d47e799c76e002f8c63814e7732a5690cdebc2
aref-ruqaa 0.4.1 bf29584329613cb355d91cb2ca75e3150a91464424292e43e953b6923125d5bf
baloo-bhaijaan-2 0.4.2 52a3b51f12170fb85daa226c84ba7b57d8b317698c0a76996d019629289fb36c
blaka 0.2.3 df06271fcef7f09ed478e16e7ee6d84d591e9eba33f0447cc37a4e1a83169957
cairo 0.4.2 afa72a963e1d35be3e892a45d0bec1eb37be0bc24b8c8fc2f4b9571841a6f3da
changa 0.4.2 2869b9a6cea07e619a8b54b4834e756322d3bb9edae299d79d72cc2146140411
el-messiri 0.4.2 8ea1e1e21c7eb11a5ca2d91ee2d597af3951410dc39ca90718cb0be90da6d1ba
fustat 0.4.2 4bd43c2c7c1f7733619990c55c6c09f781ac9ed7061b799c416078b2d0a78a23
handjet 0.4.2 34cabcfe747d115ccf7fe4fd0321613117d30e57d66753bfd878a3362047e021
ibm-plex-sans-arabic 0.4.2 5ed540bd741bef113de95201a3ecdccdd2cf8d128dff2d0a7fb4864366b5e65f
jomhuria 0.3.0 899dabe6eaa02b975ac0440ab1e226d1aef2fce0ac0f6916ab7debdd952bd306
kufam 0.2.3 573cc7d318e442c10b20c88976cb6b317ad29acacef66feb85c6b5044d461fe9
lalezar 0.2.3 144c22a82ede54733123d2e59f45c8fee9a4a5f4666fcd792c2ef10fb2a0d458
marhey 0.4.2 cbcd9ba12391a1b7641203659c09c03a7e759b31748d4e252ea6f89ffaa49fde
mada 0.4.2 6d0a1dbee3135abb13cc208a4f6417662e54a0350f288dc175dc855a32ea09ee
markazi-text 0.4.1 4550ecb09fcbbfcb8a90e2ae51bb02881c000ef32e1f79cd035e57084a93d6da
mirza 0.2.3 733c47179f984df3e2982ecb51f374ab9196e349fa3e45b551720b5893b16eda
parastoo 0.4.1 e177c72e2acd4ebf21055663ac913637e61053503609b2713434e53dfabd7a4b
rakkas 0.4.1 5eb7f1399bb2a75c00e073afe91dc2cdbabe24d95304b844640c2fc6d73c46ce
readex-pro 0.4.1 95bed026befd71d0e3163def2ebb7a3faf6341d988787430710d3420ea2d6f22
reem-kufi 0.4.2 b5e2adc4fd24f5d93a8f9b70e8bf7753c41da04ea72b51387bdaeca9501da62e
rubik 0.4.2 195ab5af501f14f7a403a77555bfba61fd1601c2c7f5d55fbcbb2ce7b4191c47
scheherazade-new 0.4.3 ab792bb2d6d1b10d843dc1597a1642b83bc8f99f70ded3b5c08a8181df590836
tajawal 0.4.1 b92887c940e5148b599dbe703d3c71ab5a1224088ab81b4daa6cde2c4d200dec
vazirmatn 0.4.1 af22b2898f1e7fad4398cde6856f0e83f79393862b9b3811f71b114abb3742a3
"
# package version sha256-of-the-tarball weights (those of 300/400/700 the family has)
FONTSOURCE_FAMILIES="
badeen-display 5.3.0 24c7946e2acea2330a48e51c05bbc8f9b5f9e26eb22de4f8bd405ec62e39e51b 400
beiruti 5.3.0 52b7cc4eee2b60b4e864cfe08bc18074fe6b35d8a33733867d35b8aefac7acf1 300,400,700
katibeh 5.3.0 36f18782c408fda96fcc5dc7920c2b8524ff480feb7b048b26d1027b16b4a8af 400
oi 5.3.0 c5794e9b2d7de5fca1d93b635e529ff57f2a062871abed06560e904e08ee92c3 400
playpen-sans-arabic 5.3.0 875acb6b7667ff7cc8588271f5372a6df4d63c238e606e51331a181f6e0b1040 300,400,700
ruwudu 5.0.3 6368e3d17aa752ab1b4d5a833ea5bbe1ce7e87ab2c6ed3b3dba1806e37c76a0b 400,700
vibes 5.2.8 7eccb473032810746babb4c58cec89b9338bb3d10d88143f5fe0bd19f360e3e7 400
"
PYTHON="${PYTHON:-python3}"
command -v curl >/dev/null || { echo "lineocr: fetch-fonts needs curl" >&2; exit 1; }
mkdir -p "$DEST"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
added=0

# fetch SCOPE NAME VERSION SHA256: the package unpacked into $tmp/package
fetch() {
  local tarball="$tmp/$2.tgz" url="$REGISTRY/@$1/$2/-/$2-$3.tgz"
  curl -fsSL --retry 3 "$url" -o "$tarball" || {
    echo "lineocr: cannot download the $2 font family from $url" >&2
    exit 1
  }
  if ! echo "$4  $tarball" | sha256sum -c --status; then
    echo "lineocr: $2-$3.tgz from $REGISTRY does not match its pinned SHA-256" >&2
    exit 1
  fi
  rm -rf "${DEST:?}/$2" "$tmp/package"
  tar xzf "$tarball" -C "$tmp"
  mkdir -p "$DEST/$2"
}

while read -r name version sha; do
  [ -n "$name" ] || continue
  [ -f "$DEST/$name/LICENSE-$version.txt" ] && continue
  fetch expo-google-fonts "$name" "$version" "$sha"
  find "$tmp/package" \( -name '*_300Light.ttf' -o -name '*_400Regular.ttf' \
    -o -name '*_700Bold.ttf' \) -exec mv {} "$DEST/$name/" \;
  if [ -f "$tmp/package/LICENSE_FONT" ]; then
    mv "$tmp/package/LICENSE_FONT" "$DEST/$name/LICENSE-$version.txt"
  else  # the older packages ship none
    echo "SIL Open Font License 1.1 (https://openfontlicense.org): the licence Google Fonts" \
      "lists for this family (github.com/google/fonts, ofl/)." > "$DEST/$name/LICENSE-$version.txt"
  fi
  added=$((added + 1))
done <<< "$FAMILIES"

merge="$(dirname "$0")/merge_font_subsets.py"
while read -r name version sha weights; do
  [ -n "$name" ] || continue
  [ -f "$DEST/$name/LICENSE-$version.txt" ] && continue
  fetch fontsource "$name" "$version" "$sha"
  files="$tmp/package/files/$name"
  for weight in ${weights//,/ }; do
    "$PYTHON" "$merge" "$DEST/$name/$name-$weight.ttf" \
      "$files-arabic-$weight-normal.woff" "$files-latin-$weight-normal.woff" || exit 1
  done
  mv "$tmp/package/LICENSE" "$DEST/$name/LICENSE-$version.txt"  # the family's OFL text
  added=$((added + 1))
done <<< "$FONTSOURCE_FAMILIES"

if [ "$added" -gt 0 ]; then
  echo "lineocr: installed $added Google Fonts families into $DEST" >&2
  command -v fc-cache >/dev/null && fc-cache -f "$DEST" >/dev/null
fi
exit 0
