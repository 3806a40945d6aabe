# lineocr — the commands the README names.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SRC := src tests benchmarks scripts

.PHONY: corpora rebundle install system-deps test test-cpus quality unit serve bench bench-peers bench-independent models clean model-printed model-printed-fast model-arabic-digits model-captcha model-handwritten-digits model-lines

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# The CPU build of PyTorch first: a looser requirement would pull CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[train,serve,dev,scale]'
	touch $@

install: $(STAMP)

# Debian packages (fonts, Tesseract, a browser for the page test), then the Google Fonts
# families Debian lacks (merged from web subsets with the environment's fontTools).
system-deps: install
	bash scripts/install-system-deps.sh
	PYTHON=$(BIN)/python bash scripts/fetch-fonts.sh

# The prose corpora of synthetic training lines (--synth ...:corpus=prose-en; docs/synth.md):
# for training only, so neither the tests nor `make serve` wait for their downloads.
corpora: install system-deps
	PYTHON=$(BIN)/python bash scripts/fetch-corpora.sh

quality: install
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)
	$(BIN)/mypy

unit: install system-deps
	$(BIN)/pytest -q

## test: everything CI runs — lint, types, the whole test suite.
test: quality unit

## test-cpus: the bundled models on an emulated AVX2-only CPU (QEMU) against this one; also in `unit`.
test-cpus: install system-deps
	$(BIN)/pytest -q tests/test_cpu_classes.py

## serve: the main job — the HTTP API and web page with the bundled models.
serve: install system-deps
	$(BIN)/lineocr serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

## bench: the figure-producing runs (slow; by hand).
bench: install system-deps
	$(BIN)/python benchmarks/run_all.py

## bench-peers: the peer engines of the benchmarks in their own environment
## (benchmarks/.venv-peers; not lineocr dependencies): RapidOCR 3.x, whose wheel ships its
## PP-OCRv6 models and reads offline, on ONNX Runtime; OCRmyPDF (bench_documents.py: it runs
## the system's Tesseract and Ghostscript). EasyOCR is used where installed there.
PEERS_VENV := benchmarks/.venv-peers
$(PEERS_VENV)/.installed:
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q rapidocr==3.10.0 onnxruntime==1.32.0 ocrmypdf==17.13.0
	touch $@

bench-peers: $(PEERS_VENV)/.installed

## bench-independent: lineocr, Tesseract and RapidOCR side by side on lines lineocr's
## generator never drew (docs/benchmarks.md); fetches its texts from the registries.
bench-independent: install system-deps bench-peers
	$(BIN)/python benchmarks/bench_independent.py --out benchmarks/out/indep \
	  --docs docs/benchmarks.md

clean:
	rm -rf $(VENV) $(PEERS_VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info

## Bundled models: each rebuilt with one command (cards in docs/models/). Slow: by hand.
MODELS_DATA := src/lineocr/models_data
LINEOCR := $(BIN)/lineocr

models: model-printed model-printed-fast model-arabic-digits model-captcha model-handwritten-digits

# In stages, as the bundled files were made: a first run from scratch, then fine-tunes
# from it at lower peak learning rates (docs/models/NAME.md). A stage's fonts are those
# installed when it runs (docs/synth.md): the last stages saw the Google Fonts families.
# Synthetic data of the stages: lines per epoch and held-out validation lines, with the
# language mixes (Latin / Arabic / mixed shares) and the calibration sets.
PRINTED_DATA := --synth-per-epoch 8000 --synth-val 300
PRINTED_MIX := --synth latin:0.45:mix --synth arabic:0.35:mix --synth mixed:0.2:mix
PRINTED_MIX_STAGE2 := --synth latin:0.35:mix --synth arabic:0.45:mix --synth mixed:0.2:mix
PRINTED_MIX_ARABIC := --synth latin:0.3:mix --synth arabic:0.5:mix --synth mixed:0.2:mix
PRINTED_MIX_ARABIC2 := --synth latin:0.2:mix --synth arabic:0.6:mix --synth mixed:0.2:mix
PRINTED_CALIBRATE := --calibrate latin:mix --calibrate arabic:mix --calibrate mixed:mix
# A fine-tuning stage of the printed model:
#   $(call PRINTED_STAGE,FROM_RUN,MIX,PEAK_LR,MINUTES,OUT_RUN)
PRINTED_STAGE = $(LINEOCR) train --config configs/printed.yaml --init-from runs/$(1) $(2) \
  $(PRINTED_DATA) --lr $(3) --epochs 200 --max-minutes $(4) --out runs/$(5)
# Shipped preprocessing of the line models: trained without `trim`, they ship with it so
# that loosely cut lines read (docs/runtime.md, "Wide margins").
LINE_OPS := --ops auto_invert --ops trim
# The printed models also level skewed lines (docs/runtime.md, "Skewed lines").
PRINTED_OPS := --ops auto_invert --ops deskew --ops trim
DIGITS_DATA := --synth arabic-digits:0.5:blurred --synth arabic-digits:0.5:sharpened \
  --synth-per-epoch 6000 --synth-val 300

# Real-prose stages (issue 32; stages/printed-prose*/README.md): 4,000 lines an epoch, one
# data worker, the training corpora of `make corpora` (docs/synth.md, "Corpora").
PROSE_DATA := --synth-per-epoch 4000 --synth-val 300 --workers 1
PROSE_MIX1 := --synth latin:0.45:mix:corpus=prose-en --synth latin:0.15:mix \
  --synth arabic:0.25:mix --synth mixed:0.15:mix
PROSE_MIX2 := --synth latin:0.35:mix:corpus=prose-en --synth latin:0.1:mix \
  --synth arabic:0.3:mix:corpus=prose-ar --synth arabic:0.05:mix:corpus=classical-ar \
  --synth arabic:0.05:mix --synth mixed:0.15:mix
PROSE_MIX3 := --synth latin:0.3:mix:corpus=prose-en --synth latin:0.1:mix \
  --synth arabic:0.35:mix:corpus=prose-ar --synth arabic:0.05:mix:corpus=classical-ar \
  --synth arabic:0.05:mix --synth mixed:0.15:mix
PROSE_MIX_EU := --synth latin:0.2:mix:corpus=prose-en --synth latin:0.17:mix:corpus=prose-eu \
  --synth latin:0.08:mix --synth arabic:0.3:mix:corpus=prose-ar \
  --synth arabic:0.05:mix:corpus=classical-ar --synth arabic:0.05:mix --synth mixed:0.15:mix
#   $(call PROSE_STAGE,FROM_RUN,MIX,PEAK_LR,MINUTES,OUT_RUN)
PROSE_STAGE = $(LINEOCR) train --config configs/printed.yaml --init-from runs/$(1) $(2) \
  $(PROSE_DATA) --lr $(3) --epochs 200 --max-minutes $(4) --out runs/$(5)

model-printed: install system-deps corpora
	$(LINEOCR) train --config configs/printed.yaml $(PRINTED_MIX) $(PRINTED_DATA) \
	  --out runs/printed
	$(call PRINTED_STAGE,printed,$(PRINTED_MIX_STAGE2),0.001,125,printed2)
	$(call PRINTED_STAGE,printed2,$(PRINTED_MIX_ARABIC),0.0007,110,printed3)
	$(call PRINTED_STAGE,printed3,$(PRINTED_MIX_ARABIC),0.0005,85,printed5)
	$(call PRINTED_STAGE,printed5,$(PRINTED_MIX_ARABIC),0.0005,85,printed7)
	$(call PRINTED_STAGE,printed7,$(PRINTED_MIX_ARABIC),0.0004,105,printed8)
	$(call PRINTED_STAGE,printed8,$(PRINTED_MIX_ARABIC2),0.0003,60,printed10)
	$(call PROSE_STAGE,printed10,$(PROSE_MIX1),0.0005,75,printed-prose1)
	$(call PROSE_STAGE,printed-prose1,$(PROSE_MIX2),0.0003,140,printed-prose2)
	$(call PROSE_STAGE,printed-prose2,$(PROSE_MIX3),0.0002,28,printed-prose3)
	$(call PROSE_STAGE,printed-prose3,$(PROSE_MIX_EU),0.0003,105,printed-eu1)
	$(BIN)/python scripts/bundle_model.py runs/printed-eu1 printed --quantize int8 \
	  $(PRINTED_CALIBRATE) $(PRINTED_OPS)

# Starts from model-printed's second stage (runs/printed2), its layers copied into the
# faster preset (docs/training.md, "Fine-tuning"); then the same again from that into the
# preset with one LSTM layer (fast1).
model-printed-fast: install system-deps
	test -f runs/printed2/best.json || $(MAKE) model-printed
	$(LINEOCR) train --config configs/printed.yaml --init-from runs/printed2 --preset fast \
	  $(PRINTED_MIX) $(PRINTED_DATA) --lr 0.001 --epochs 200 --max-minutes 100 \
	  --out runs/printed-fast
	$(LINEOCR) train --config configs/printed.yaml --init-from runs/printed-fast --preset fast1 \
	  $(PRINTED_MIX) $(PRINTED_DATA) --lr 0.0005 --epochs 200 --max-minutes 85 \
	  --out runs/printed-fast1
	$(BIN)/python scripts/bundle_model.py runs/printed-fast1 printed-fast --quantize int8 \
	  $(PRINTED_CALIBRATE) $(PRINTED_OPS)

model-arabic-digits: install system-deps
	$(LINEOCR) train --config configs/arabic-digits.yaml $(DIGITS_DATA) --out runs/arabic-digits
	$(LINEOCR) train --config configs/arabic-digits.yaml --init-from runs/arabic-digits \
	  $(DIGITS_DATA) --lr 0.001 --epochs 200 --max-minutes 70 --out runs/arabic-digits2
	$(LINEOCR) train --config configs/arabic-digits-shapes.yaml --init-from runs/arabic-digits2 \
	  $(DIGITS_DATA) --lr 0.001 --out runs/arabic-digits3
	$(LINEOCR) train --config configs/arabic-digits-polish.yaml --init-from runs/arabic-digits3 \
	  $(DIGITS_DATA) --lr 0.0003 --out runs/arabic-digits4
	$(LINEOCR) train --config configs/arabic-digits-shapes.yaml --init-from runs/arabic-digits4 \
	  $(DIGITS_DATA) --lr 0.0005 --max-minutes 80 --out runs/arabic-digits6
	$(LINEOCR) train --config configs/arabic-digits-polish.yaml --init-from runs/arabic-digits6 \
	  $(DIGITS_DATA) --lr 0.0003 --max-minutes 30 --out runs/arabic-digits7
	$(BIN)/python scripts/bundle_model.py runs/arabic-digits7 arabic-digits --quantize int8 \
	  --calibrate arabic-digits:blurred --calibrate arabic-digits:sharpened $(LINE_OPS)

model-captcha: install system-deps
	$(BIN)/python benchmarks/bench_captcha.py --out runs/captcha --threads 1 \
	  --report benchmarks/out/captcha-bundled.json -- --config configs/captcha.yaml \
	  --synth captcha:0.5
	$(BIN)/python scripts/bundle_model.py runs/captcha captcha --quantize int8 --calibrate captcha

model-handwritten-digits: install system-deps
	$(BIN)/python benchmarks/bench_digits.py --out runs/handwritten-digits
	$(BIN)/python scripts/bundle_model.py runs/handwritten-digits handwritten-digits

# Re-export every bundled model from its shipped weights (NAME.safetensors), as after a
# change to the export (the 2026-12-07 files: 7-bit int8 weights, line lengths): no training.
SHIPPED := $(MODELS_DATA)
rebundle: install system-deps
	$(BIN)/python scripts/bundle_model.py $(SHIPPED)/printed.safetensors printed --quantize int8 \
	  $(PRINTED_CALIBRATE) $(PRINTED_OPS)
	$(BIN)/python scripts/bundle_model.py $(SHIPPED)/printed-fast.safetensors printed-fast \
	  --quantize int8 $(PRINTED_CALIBRATE) $(PRINTED_OPS)
	$(BIN)/python scripts/bundle_model.py $(SHIPPED)/arabic-digits.safetensors arabic-digits \
	  --quantize int8 --calibrate arabic-digits:blurred --calibrate arabic-digits:sharpened $(LINE_OPS)
	$(BIN)/python scripts/bundle_model.py $(SHIPPED)/captcha.safetensors captcha --quantize int8 \
	  --calibrate captcha
	$(BIN)/python scripts/bundle_model.py $(SHIPPED)/handwritten-digits.safetensors handwritten-digits

## model-lines: the bundled text-line detector (docs/models/lines.md): composed pages with
## PAGE-XML, then one training run and its export. Not part of `models` (slow: by hand).
PAGES := runs/pages
model-lines: install system-deps
	$(LINEOCR) synth --pages --out $(PAGES)/train --n 1600 --font-split train --seed 1
	$(LINEOCR) synth --pages --out $(PAGES)/val --n 120 --font-split val --seed 2
	$(LINEOCR) train-detector --data $(PAGES)/train --val $(PAGES)/val --val-pages 12 \
	  --out runs/lines --epochs 60 --steps-per-epoch 40 --batch-size 6 --crop 160 --lr 2e-3
	$(BIN)/python scripts/detector_stage.py runs/lines/last.safetensors $(MODELS_DATA)/lines.safetensors
	$(LINEOCR) export $(MODELS_DATA)/lines.safetensors -o $(MODELS_DATA)/lines.onnx
