#!/usr/bin/env bash
# Debian packages lineocr's tests, synthetic data and benchmarks need: fonts (Latin and
# Arabic; DejaVu Sans, from fonts-dejavu-core, is also the text-layer font of `lineocr read
# --format pdf`, and pdftotext reads those PDFs back in the tests), word lists, FriBiDi for
# Pillow's raqm layout, Tesseract (benchmarks only; the western European languages read
# each line of the independent benchmark's European sets in its own language), Chromium (the web page's browser test,
# driven by Playwright without its own browser download), the other typesetters and
# rasterisers of the independent benchmark (benchmarks/independent/: groff, Pango's
# pango-view, Ghostscript, Poppler's pdftoppm and pdftotext), and QEMU's
# user-mode emulator (tests/test_cpu_classes.py runs the bundled models on an emulated
# AVX2-only CPU).
# Idempotent: installs only what is missing. Needs root or sudo and apt-get.
set -euo pipefail
PACKAGES=(
  libfribidi0 libraqm0 fontconfig
  fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-freefont-ttf
  fonts-noto-core fonts-noto-ui-core fonts-hosny-amiri fonts-kacst
  fonts-arabeyes fonts-sil-scheherazade fonts-sil-lateef fonts-sil-harmattan fonts-farsiweb
  fonts-sil-alkalami fonts-paktype fonts-lemonada fonts-freefarsi fonts-ukij-uyghur fonts-unikurdweb
  fonts-urw-base35 fonts-crosextra-carlito fonts-crosextra-caladea
  fonts-open-sans fonts-lato fonts-cantarell fonts-texgyre fonts-linuxlibertine
  fonts-inconsolata fonts-ebgaramond fonts-comic-neue fonts-roboto-unhinted
  wamerican hunspell-ar
  tesseract-ocr tesseract-ocr-eng tesseract-ocr-ara
  tesseract-ocr-fra tesseract-ocr-deu tesseract-ocr-spa tesseract-ocr-ita tesseract-ocr-por
  tesseract-ocr-cat tesseract-ocr-swe
  chromium
  groff ghostscript poppler-utils pango1.0-tools
  qemu-user
)
PACKAGES+=("$@")
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "lineocr: please install these packages with your system's package manager: ${missing[*]}" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "lineocr: installing Debian packages: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
