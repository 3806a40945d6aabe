#!/usr/bin/env bash
# Real prose for synthetic training lines (`lineocr train --synth latin:0.5:mix:corpus=prose-en`,
# docs/synth.md, "Corpora"): texts fetched from the package registries by name, pinned by
# version and SHA-256, normalised by scripts/normalize_corpora.py (with $PYTHON: the
# project's environment, as `make system-deps` passes it) into one UTF-8 file per language,
# one paragraph per line:
#   ${LINEOCR_CORPUS_DIR:-$HOME/.local/share/lineocr/corpora}/prose-en.txt, prose-eu.txt,
#   prose-ar.txt, classical-ar.txt
# with each source's licence beside them in licenses/ and what made them in SOURCES.txt.
#  - prose-en: Alice's Adventures in Wonderland (Lewis Carroll, Project Gutenberg's
#    Millennium Fulcrum edition) and the Library of Congress "Workshop on Electronic Texts"
#    proceedings (1992), both public domain, from the Canterbury corpus files in the Brotli
#    sdist (PyPI); the GNOME Help and System Administration Guide (CC-BY-SA-3.0), from
#    Debian's gnome-user-docs.
#  - prose-eu: GNOME Help (the same package) in the translations of western European languages (French,
#    German, Spanish, Italian, Dutch, Portuguese, Catalan, Galician, Danish, Swedish,
#    Finnish; CC-BY-SA-3.0): running text with the accented letters of Latin-1.
#  - prose-ar: modern Arabic of everyday software, the Arabic translations of Firefox ESR,
#    Thunderbird and LibreOffice (Debian's firefox-esr-l10n-ar, thunderbird-l10n-ar and
#    libreoffice-l10n-ar; MPL-2.0): sentences with their punctuation and numbers;
#  - classical-ar: the Quran (Tanzil "simple" text), from the LaTeX quran package in Debian's
#    texlive-lang-arabic (LPPL-1.3c): classical running text without punctuation.
#    The l10n packages follow Debian's security updates, so they are taken at the version
#    the package lists offer and that version and its SHA-256 are written to SOURCES.txt.
# Never the independent benchmark's texts (benchmarks/independent/texts.py,
# BENCH_TEXT_SOURCES: Botchan, the Debian Administrator's Handbook): training must not see them.
# Idempotent: a corpus made from the same pins is kept. Nothing here runs at lineocr's run time.
set -euo pipefail
DEST="${LINEOCR_CORPUS_DIR:-$HOME/.local/share/lineocr/corpora}"
PYTHON="${PYTHON:-python3}"
HERE="$(cd "$(dirname "$0")" && pwd)"
BROTLI="brotli==1.2.1"
BROTLI_SHA=02b2f7b5a83485efe448a44ddf7983def05c3bb1dcf917d4f7154070260e13de
# Debian package, version, sha256 of the .deb (bookworm main)
GNOME_DOCS="gnome-user-docs 43.0-2 0d635a840747958ca84da778b40d341f1155603851f922c9a171f5a181d6a39f"
TEX_ARABIC="texlive-lang-arabic 2022.20230122-1 f19fc0968f7a72482a974de53d655a9de529a0402cf0f37a79a1f8191647f5f2"
# gnome-user-docs' translations into the western European languages (prose-eu)
EU_HELP="fr de es it nl pt pt_BR ca gl da sv fi"
L10N_AR="firefox-esr-l10n-ar thunderbird-l10n-ar libreoffice-l10n-ar"  # current versions
STAMP="corpora 3; $BROTLI $BROTLI_SHA; $GNOME_DOCS; $TEX_ARABIC; $L10N_AR"

if [ -f "$DEST/prose-en.txt" ] && [ -f "$DEST/prose-eu.txt" ] && [ -f "$DEST/prose-ar.txt" ] && [ -f "$DEST/classical-ar.txt" ] \
  && [ "$(head -n 1 "$DEST/SOURCES.txt" 2>/dev/null)" = "$STAMP" ]; then
  exit 0
fi
command -v apt-get >/dev/null || { echo "lineocr: fetch-corpora needs apt-get (Debian)" >&2; exit 1; }
mkdir -p "$DEST/licenses"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

check() {  # check FILE SHA256 WHAT
  if ! echo "$2  $1" | sha256sum -c --status; then
    echo "lineocr: $3 ($(basename "$1")) does not match its pinned SHA-256" >&2
    exit 1
  fi
}

# deb NAME VERSION SHA256: the package's files unpacked into $tmp/NAME (not installed)
deb() {
  if ! (cd "$tmp" && apt-get download -qq "$1=$2" >/dev/null 2>"$tmp/apt.err"); then
    # Package lists older than the pin (or none yet): refresh them once and try again.
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    (cd "$tmp" && apt-get download -qq "$1=$2" >/dev/null 2>"$tmp/apt.err") || {
      echo "lineocr: cannot download the Debian package $1=$2: $(tail -n 1 "$tmp/apt.err")" >&2
      exit 1
    }
  fi
  local file
  file="$(ls "$tmp/$1"_*.deb)"
  check "$file" "$3" "Debian package $1=$2"
  dpkg-deb -x "$file" "$tmp/$1"
}

"$PYTHON" -m pip download --no-deps --no-binary :all: --no-build-isolation -q -d "$tmp" \
  "$BROTLI" >/dev/null 2>"$tmp/pip.err" || {
  echo "lineocr: cannot download the sdist of $BROTLI from PyPI: $(tail -n 1 "$tmp/pip.err")" >&2
  exit 1
}
check "$tmp/brotli-1.2.1.tar.gz" "$BROTLI_SHA" "the sdist of $BROTLI"
tar xzf "$tmp/brotli-1.2.1.tar.gz" -C "$tmp" brotli-1.2.1/LICENSE \
  brotli-1.2.1/tests/testdata/alice29.txt brotli-1.2.1/tests/testdata/lcet10.txt
deb $GNOME_DOCS
deb $TEX_ARABIC

# deb_current NAME: the package list's current NAME unpacked into $tmp/NAME; its version
# and SHA-256 appended to $tmp/l10n.txt for SOURCES.txt
deb_current() {
  (cd "$tmp" && apt-get download -qq "$1" >/dev/null 2>"$tmp/apt.err") || {
    echo "lineocr: cannot download the Debian package $1: $(tail -n 1 "$tmp/apt.err")" >&2
    exit 1
  }
  local file
  file="$(ls "$tmp/$1"_*.deb)"
  dpkg-deb -x "$file" "$tmp/$1"
  echo "    $(basename "$file") sha256 $(sha256sum "$file" | cut -d' ' -f1)" >>"$tmp/l10n.txt"
}
for name in $L10N_AR; do deb_current "$name"; done
for xpi in "$tmp"/firefox-esr-l10n-ar/usr/lib/firefox-esr/browser/extensions/*.xpi \
  "$tmp"/thunderbird-l10n-ar/usr/lib/thunderbird/extensions/*.xpi; do
  mkdir -p "$tmp/ftl/$(basename "$xpi" .xpi)"
  "$PYTHON" -m zipfile -e "$xpi" "$tmp/ftl/$(basename "$xpi" .xpi)"
done

testdata="$tmp/brotli-1.2.1/tests/testdata"
help="$tmp/gnome-user-docs/usr/share/help/C"
quran="$tmp/texlive-lang-arabic/usr/share/texlive/texmf-dist/tex/latex/quran"
"$PYTHON" "$HERE/normalize_corpora.py" --lang en --out "$DEST/prose-en.txt" \
  "gutenberg:$testdata/alice29.txt" "gutenberg:$testdata/lcet10.txt" \
  "mallard:$help/gnome-help" "mallard:$help/system-admin-guide"
eu_sources=()
for lang in $EU_HELP; do
  eu_sources+=("mallard:$help/../$lang/gnome-help")
done
"$PYTHON" "$HERE/normalize_corpora.py" --lang eu --out "$DEST/prose-eu.txt" "${eu_sources[@]}"
"$PYTHON" "$HERE/normalize_corpora.py" --lang ar --out "$DEST/prose-ar.txt" \
  "ftl:$tmp/ftl" "mo:$tmp/libreoffice-l10n-ar/usr/lib/libreoffice/program/resource"
"$PYTHON" "$HERE/normalize_corpora.py" --lang ar --out "$DEST/classical-ar.txt" \
  "quran-def:$quran/qurantext-simple.def"

cp "$tmp/brotli-1.2.1/LICENSE" "$DEST/licenses/brotli-LICENSE.txt"
cp "$tmp/gnome-user-docs/usr/share/doc/gnome-user-docs/copyright" \
  "$DEST/licenses/gnome-user-docs-copyright.txt"
cp "$tmp/texlive-lang-arabic/usr/share/doc/texlive-lang-arabic/copyright" \
  "$DEST/licenses/texlive-lang-arabic-copyright.txt"
cp "$tmp/texlive-lang-arabic/usr/share/doc/texlive-doc/latex/quran/README" \
  "$DEST/licenses/quran-package-README.txt"
cp "$tmp/libreoffice-l10n-ar/usr/share/doc/libreoffice-l10n-ar/copyright" \
  "$DEST/licenses/libreoffice-l10n-ar-copyright.txt"
cp "$tmp/firefox-esr-l10n-ar/usr/share/doc/firefox-esr-l10n-ar/copyright" \
  "$DEST/licenses/firefox-esr-l10n-ar-copyright.txt"
cat > "$DEST/SOURCES.txt" <<EOF
$STAMP
prose-en.txt (one paragraph per line, printable ASCII):
  alice29.txt: Alice's Adventures in Wonderland, Lewis Carroll (Project Gutenberg, Millennium
    Fulcrum edition 2.9): public domain. From the Canterbury corpus in the sdist of $BROTLI
    (PyPI, tests/testdata; the sdist is MIT-licensed: licenses/brotli-LICENSE.txt).
  lcet10.txt: Workshop on Electronic Texts, Proceedings, ed. James Daly, Library of Congress
    (1992; Project Gutenberg etext): public domain. Same sdist.
  GNOME Help and GNOME System Administration Guide (usr/share/help/C), Debian package
    ${GNOME_DOCS% *}: CC-BY-SA-3.0 (licenses/gnome-user-docs-copyright.txt).
prose-eu.txt (one paragraph per line, Latin-1 letters and signs kept):
  GNOME Help in $EU_HELP
    (usr/share/help/LANG), the same Debian package: CC-BY-SA-3.0.
prose-ar.txt (one message per line, vowel marks removed):
  The Arabic interface messages of Firefox ESR and Thunderbird (Fluent files of their
    language packs) and LibreOffice (gettext catalogues): MPL-2.0
    (licenses/firefox-esr-l10n-ar-copyright.txt, licenses/libreoffice-l10n-ar-copyright.txt),
    from these Debian packages:
$(cat "$tmp/l10n.txt")
classical-ar.txt (one verse per line, vowel marks removed):
  The Quran, Tanzil "simple" text as set in the LaTeX quran package (qurantext-simple.def),
    Debian package ${TEX_ARABIC% *}: LPPL-1.3c
    (licenses/texlive-lang-arabic-copyright.txt, licenses/quran-package-README.txt).
EOF
echo "lineocr: wrote the training corpora prose-en.txt, prose-eu.txt, prose-ar.txt and classical-ar.txt into $DEST" >&2
