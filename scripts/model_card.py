"""Write docs/models/NAME.md from a bundled model's own files and measured figures.

    python scripts/model_card.py NAME [--figures benchmarks/out/FILE.json ...] [--out-dir DIR]

Everything in the card is read from src/lineocr/models_data/NAME.{onnx,json,safetensors}
(charset, preprocessing, training data and config, validation metrics, calibration) or from
the benchmark JSON files given, so a card cannot drift from its model. The card goes to
docs/models/ of this repository wherever the script is run from (``--out-dir`` for another
folder); the figure files are paths as given (relative to the working directory), and
each must be a readable JSON file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from safetensors import safe_open

from lineocr.runtime import Recognizer
from lineocr.zoo import BUNDLED, MODELS_DIR

REPO = Path(__file__).resolve().parent.parent
CARDS_DIR = REPO / "docs" / "models"

REBUILD = {
    "printed": "make model-printed",
    "printed-fast": "make model-printed-fast",
    "arabic-digits": "make model-arabic-digits",
    "captcha": "make model-captcha",
    "handwritten-digits": "make model-handwritten-digits",
}
DATA = {
    "printed": "synthetic lines only (`lineocr synth` generator): Latin, Arabic and mixed "
    "Arabic/Latin/number lines from Debian's word lists (wamerican, hunspell-ar) and form "
    "patterns, drawn in the *train* split of the installed fonts (Debian's; Google Fonts "
    "families from the fifth stage) with the `mix` degradations (clean, scan, photo, "
    "blurred, sharpened); validated on held-out font families. Seven stages "
    "(`make model-printed`): 75 minutes from scratch (45 % Latin, 35 % Arabic, 20 % "
    "mixed lines), then 125 minutes of fine-tuning from it at peak learning rate 1e-3 with "
    "more Arabic (35/45/20) on the larger font set (about 40 Arabic and 60 Latin training "
    "families; the first stage of this file saw the 9 Arabic / 9 Latin families installed "
    "before 2026-11-21), then 110 minutes more at peak 7e-4 (30/50/20), then 85 minutes "
    "at peak 5e-4 (30/50/20) with the Alkalami and PakType fonts added to the training "
    "families (2026-11-21, docs/synth.md), then 85 minutes more at peak 5e-4 (30/50/20) "
    "with 24 Google Fonts Arabic families added (59 Arabic / 75 Latin training families, "
    "scripts/fetch-fonts.sh), then 105 minutes more at peak 4e-4 (30/50/20) with nine "
    "more Google Fonts Arabic families (67 Arabic / 83 Latin training families; this "
    "stage, runs/printed8, was interrupted at 85 minutes and resumed for the rest: best "
    "epoch 20), then 60 minutes more at peak 3e-4 with still more Arabic (20/60/20; "
    "runs/printed10: 1,659 steps, its second half sharing the machine's two cores "
    "with another training); one CPU thread each. The sixth stage still drew Badeen "
    "Display's Western digits, which the font set has left out since (docs/synth.md). The "
    "third stage was kept "
    "over the second because it read 600 held-out lines of another seed better (Arabic CER "
    "5.54 % against 6.15 %, Latin 0.61 % against 0.63 %); the fourth over the third because "
    "on 800 held-out lines (seed 777, the enlarged held-out set, fp32) it read Latin better "
    "and Arabic as well: Latin CER 1.10 % against 1.35 % (exact 87.8 % against 85.3 %), "
    "Arabic 7.85 % against 7.85 % (exact 50.0 % against 50.8 %); the fifth over the fourth "
    "because on 800 held-out lines of the again enlarged held-out set (19 Arabic families, "
    "seed 777, fp32) it read Arabic better and Latin as well: Arabic CER 6.18 % against "
    "6.88 % (exact 57.5 % against 52.3 %), Latin 0.95 % against 1.04 % (exact 86.8 % "
    "against 87.5 %); the sixth over the fifth because on the same 800 lines it read "
    "Arabic better and Latin as well: Arabic CER 5.67 % against 6.18 % (exact 57.8 % "
    "against 57.5 %), Latin 0.97 % against 0.95 % (exact 87.0 % against 86.8 %); the "
    "seventh over the sixth because on the same 800 lines it read both better: Arabic CER "
    "5.27 % against 5.67 % (exact 58.0 % against 57.8 %), Latin 0.93 % against 0.97 % "
    "(exact 87.8 % against 87.0 %); int8, as shipped: Arabic 5.23 % against 5.68 %, Latin "
    "0.96 % against 0.99 %. Then four stages on running text (issue 32), 4,000 lines an "
    "epoch, one data worker, the training corpora of `make corpora` (docs/synth.md, "
    "Corpora): 75 minutes at peak 5e-4 with English prose (`prose-en`: 45 % English prose, "
    "15 % word-list Latin, 25 % Arabic, 15 % mixed; runs/printed-prose1); about 90 minutes "
    "at peak 3e-4 with modern Arabic prose (`prose-ar`) and the Quran (`classical-ar`) "
    "(35 % English prose, 10 % word-list Latin, 30 % Arabic prose, 5 % classical Arabic, "
    "5 % word-list Arabic, 15 % mixed; stopped by hand after epoch 11 of its 140-minute "
    "plan, which `make model-printed` runs to its end); 28 minutes at peak 2e-4 with more "
    "Arabic prose (30/10/35/5/5/15); and 105 minutes at peak 3e-4 with western European "
    "prose and its accented letters (`prose-eu`: 20 % English prose, 17 % European prose, "
    "8 % word-list Latin, 30 % Arabic prose, 5 % classical, 5 % word-list Arabic, 15 % "
    "mixed; runs/printed-eu1, best epoch 23 of 25 by the generator's validation lines, "
    "2026-12-08, on 2 CPU cores shared with other jobs). The stages' commands and "
    "figures: stages/printed-prose*/README.md; this file against the one bundled before "
    "on the independent lines: docs/benchmarks.md",
    "printed-fast": "the `printed` model's data (synthetic Latin, Arabic and mixed lines, "
    "train-split fonts, `mix` degradations; validated on held-out font families), starting "
    "from the `printed` model's trained weights (its second stage, runs/printed2): "
    "`--init-from runs/printed2 --preset fast` copies every layer from the same-shaped "
    "layer of the `small` network, then 100 minutes of training at peak learning rate "
    "1e-3 (45 % Latin, 35 % Arabic, 20 % mixed lines) on one CPU thread (runs/printed-fast, "
    "the `fast` preset); then `--init-from runs/printed-fast --preset fast1` (the same "
    "network with one LSTM layer: every layer but the second LSTM layer copied) and 85 "
    "minutes more at peak 5e-4 with the same mix, on the font set of 2026-11-21 (67 Arabic "
    "/ 83 Latin training families), one CPU thread (runs/printed-fast1, this file: best "
    "epoch 25 of 27). On 800 held-out lines (seed 777, not the benchmark's; int8 as "
    "shipped) it reads Latin at CER 1.23 % (exact 85.0 %) and Arabic at 7.40 % (50.3 %), "
    "against the two-layer `fast` file's 1.04 % (86.8 %) and 7.05 % (49.5 %): a little "
    "accuracy for 10 % more lines a second end to end (2,000 held-out Latin lines, "
    "`lineocr read --workers 2`, three interleaved runs each: 2.11 s against 2.34 s). "
    "int8 against fp32 (exported from the same weights), one thread, 1,000 decoded held-out "
    "Latin lines: 804 against 390 lines/s, for CER 1.23 / 7.40 % (Latin / Arabic) against "
    "1.23 / 7.36 %",
    "arabic-digits": "synthetic Arabic-Indic digit strings (IDs, phone numbers, dates, "
    "amounts, times), half blurred and half sharpened, train split of the fonts; labels "
    "mapped to Western digits; validated on held-out font families. Six stages "
    "(`make model-arabic-digits`): 20 minutes from scratch, then 70 minutes of fine-tuning "
    "at peak learning rate 1e-3 on the larger font set (44 training families) with the "
    "corrected bidi layout of bracketed phone numbers, then 85 minutes more with grid "
    "warping and stroke-weight changes (configs/arabic-digits-shapes.yaml: the second stage "
    "had fitted its training fonts, train loss 0.005 against val loss 0.24), one CPU thread "
    "each, then 35 minutes on two threads with gentler warping at peak learning rate 3e-4 "
    "(configs/arabic-digits-polish.yaml: the strong warp had taught the third stage to see "
    "a 3 in DejaVu Sans Bold's 2); best epoch by validation CER. On a selection set of 800 "
    "held-out lines (seed 777, not the benchmark's) the stages read 84.1 %, 87.4 % and "
    "88.3 % exactly (fp32; CER 3.5, 2.7 and 2.6 %). On 2026-11-21 the held-out set grew "
    "(Lemonada and FreeFarsi, docs/synth.md): this file reads 78.8 % of the new selection "
    "set exactly. A fifth stage with the Alkalami and PakType fonts added to training (75 "
    "minutes at peak 5e-4 from this file) read it no better (77.5 %) and was not kept. "
    "Then 24 Google Fonts Arabic families joined (scripts/fetch-fonts.sh; 59 training and "
    "19 held-out Arabic families): 80 minutes more from the fourth stage with the third "
    "stage's warping at peak 5e-4 (one thread), then 30 minutes with the gentler warping at "
    "peak 3e-4 (two threads); on 800 lines of the again enlarged held-out set (seed 777, "
    "fp32) the fourth stage read 79.0 % / 77.0 % exactly (blurred / sharpened), the two new "
    "stages 85.8 / 83.8 % and 86.8 / 85.5 % (CER 4.1 / 4.7 %): this file. Not kept since: "
    "75 minutes more from this file with the shapes config at peak 5e-4 and nine more "
    "Google Fonts families (runs/arabic-digits10: 86.0 / 83.8 %), and a 40-minute polish "
    "of that at peak 3e-4 (runs/arabic-digits11: 85.5 / 84.3 %); and on 2026-11-22, with "
    "the 24 UKIJ and Unikurd families added to training (docs/synth.md), 45 minutes more "
    "from this file with the shapes config at peak 5e-4, one thread (runs/ad-ukij1: its "
    "best epoch read 89.1 / 85.5 % of the 800-line selection set, against this file's "
    "91.4 / 88.2 %, fp32 both; Lemonada's lines 48 and 45 wrong of 55, against 35 and 36), "
    "and a lower peak with the gentler warping (configs/arabic-digits-polish.yaml, peak "
    "2e-4, one thread, runs/ad-low2, stopped after 34 of its 60 minutes with the validation "
    "flat at 88-89.5 %: its best epoch read 89.1 / 87.0 %, Lemonada 41 and 37 wrong); "
    "nor did averaging weights (a model soup of this file and its four fine-tunes "
    "runs/ad-ukij1, ad-low2, digits-slant, digits-stretch, best epochs, equal weights: "
    "90.8 / 87.8 %; the four alone: 90.2 / 87.1 %; this file measured alike the same day: "
    "91.4 / 88.4 %)",
    "captcha": "1,040 CAPTCHAs of 200x50 drawn with the `captcha` PyPI package, named by "
    "their 5-character answer over 2345678bcdefgmnpwxy (the Kaggle CAPTCHA v2 layout), plus "
    "as many synthetic CAPTCHAs per epoch (lineocr's `captcha` style at ratio 0.5: 936 per "
    "epoch, train-split fonts; the file's command below also gave --synth-per-epoch and "
    "--synth-val, which --data leaves unused: lineocr train now warns of them, and the "
    "Makefile no longer passes them); validated on 10 % of the package images (104); "
    "30 minutes on one CPU thread (configs/captcha.yaml)",
    "handwritten-digits": "scikit-learn's `load_digits` (real handwriting, 8x8 scans of "
    "digits by 43 people, UCI ML hand-written digits, CC BY 4.0): 1,200 for training "
    "(10 % of them for validation), 597 held out",
}
LICENCES = (
    "Fonts drawn into synthetic training images (Debian packages): DejaVu (Bitstream Vera "
    "licence), Liberation (GPL-2 with font exception), FreeFont (GPL-3+ with font "
    "exception), Noto (SIL OFL 1.1), Amiri (SIL OFL 1.1), KACST (GPL-2), Arabeyes (GPL-2), "
    "Scheherazade, Lateef, Harmattan (SIL OFL 1.1), FarsiWeb (GPL-2), URW base35 (AGPL-3 "
    "with font exception), Carlito, Lato, Cantarell, Inconsolata, EB Garamond, Comic Neue "
    "(SIL OFL 1.1), Caladea, Open Sans, Roboto (Apache-2.0), TeX Gyre (GUST Font License), "
    "Linux Libertine (GPL-2 with font exception / OFL), the captcha package's "
    "DroidSansMono (Apache-2.0), and since 2026-11-21 (the `printed` file of that date) "
    "Alkalami (SIL OFL 1.1) and PakType (GPL-2), and since the `printed` and "
    "`arabic-digits` files of 2026-11-21's second update, 24 Google Fonts Arabic families "
    "fetched by scripts/fetch-fonts.sh (Alexandria, Almarai, Aref Ruqaa, Baloo Bhaijaan 2, "
    "Blaka, Cairo, Changa, El Messiri, Fustat, Handjet, IBM Plex Sans Arabic, Kufam, "
    "Lalezar, Marhey, Markazi Text, Mirza, Parastoo, Rakkas, Readex Pro, Reem Kufi, Rubik, "
    "Scheherazade New, Tajawal, Vazirmatn; all SIL OFL 1.1), and since the `printed` file "
    "of 2026-11-21's eighth session nine more (Mada, Badeen Display, Beiruti, Katibeh, Oi, "
    "Playpen Sans Arabic, Ruwudu, Vibes for training, Jomhuria held out for validation; all "
    "SIL OFL 1.1); each for the "
    "models trained "
    "after it was added (see the card's command and date). Word lists: wamerican (SCOWL, "
    "permissive) and "
    "hunspell-ar (Ayaspell, GPL-2.0/LGPL-2.1/MPL-1.1). Running texts, since the `printed` "
    "file of 2026-12-08: `prose-en` (Alice's Adventures in Wonderland and the Library of "
    "Congress Workshop on Electronic Texts proceedings, public domain; GNOME Help, "
    "CC-BY-SA-3.0), `prose-eu` (GNOME Help in eleven western European translations, "
    "CC-BY-SA-3.0), `prose-ar` (the Arabic interface messages of Firefox ESR, Thunderbird "
    "and LibreOffice, MPL-2.0) and `classical-ar` (the Tanzil Quran text as set in the "
    "LaTeX quran package, LPPL-1.3c). No font, word-list or text file is redistributed in "
    "the model. See docs/synth.md."
)


def params(path: Path) -> int:
    """Learnable parameters (batch-norm running statistics are buffers, not counted)."""
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    with safe_open(str(path), "np") as f:
        names = [k for k in f.keys() if not k.endswith(buffers)]  # noqa: SIM118 - not a dict
        return sum(math.prod(f.get_slice(k).get_shape()) for k in names)


def shown(path: Path) -> str:
    """How the card names a file: relative to the repository when it is in it, so the card
    does not depend on where the script ran."""
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def ops_note(meta: dict[str, Any]) -> str:
    """Where the shipped preprocessing ops are not those the run trained with."""
    trained = meta["data"].get("trained_preprocess_ops")
    if trained is None:
        return ""
    return (
        f" (set at bundling, `scripts/bundle_model.py --ops`: the run trained with {trained}; "
        "see docs/runtime.md, Wide margins)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(BUNDLED))
    parser.add_argument(
        "--figures", type=Path, nargs="*", default=[], metavar="FILE", help="benchmark JSON"
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=CARDS_DIR,
        metavar="DIR",
        help="where NAME.md goes (default: %(default)s)",
    )
    args = parser.parse_args()
    name = args.name
    for suffix in (".json", ".onnx", ".safetensors"):
        if not (MODELS_DIR / f"{name}{suffix}").is_file():
            parser.error(f"{MODELS_DIR / name}{suffix}: no such file (bundle {name} first)")
    figures = []  # read before anything is written: a bad file is an error, not a card
    for fig in args.figures:
        try:
            text = fig.read_text(encoding="utf-8").strip()
            json.loads(text)
        except OSError as exc:
            parser.error(f"--figures {fig}: cannot read it: {exc.strerror or exc}")
        except UnicodeDecodeError:
            parser.error(f"--figures {fig}: not UTF-8 text")
        except json.JSONDecodeError as exc:
            parser.error(f"--figures {fig}: not a JSON file ({exc})")
        figures.append((shown(fig), text))
    meta = json.loads((MODELS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    onnx_size = (MODELS_DIR / f"{name}.onnx").stat().st_size
    weights = MODELS_DIR / f"{name}.safetensors"
    cfg = meta["config"]
    ops = cfg["preprocess"]["ops"]
    chars = meta["charset"]["chars"]
    onnx_card = Recognizer.load(MODELS_DIR / f"{name}.onnx").metadata.get("onnx", {})
    precision = (
        f"int8, {onnx_card.get('int8', 'dynamic')}, 7-bit weights: the same on CPUs with "
        "and without VNNI; line lengths: a line reads the same in any batch; docs/runtime.md"
        if onnx_card.get("quantization") == "int8"
        else "fp32"
    )
    lines = [
        f"# `{name}` — {BUNDLED[name]}",
        "",
        "| | |",
        "|---|---|",
        f"| rebuild (one command) | `{REBUILD[name]}` |",
        f"| architecture | CRNN `{cfg['model']['preset']}`, {params(weights):,} parameters |",
        f"| files | `{name}.onnx` {onnx_size / 1e6:.1f} MB (inference, {precision}), "
        f"`{name}.safetensors` {weights.stat().st_size / 1e6:.1f} MB (fp16, for "
        f"`--init-from {name}`) |",
        f"| input | grayscale line, height {cfg['preprocess']['height']}, "
        f"ops {ops}{ops_note(meta)} |",
        f"| charset | {len(chars)} characters: `{chars}` |",
        f"| charset options | {meta['charset']['options']} |",
        f"| seed | {cfg['train']['seed']} |",
        f"| epochs trained | {meta['epoch']} (best), {meta['step']} steps |",
        f"| calibration | softmax temperature {meta['calibration'].get('temperature', 1.0):.3f} |",
        "",
        "## Training data",
        "",
        DATA[name] + ".",
        "",
        f"Data summary: `{json.dumps(meta['data'], ensure_ascii=False)}`",
        "",
        "## Measured",
        "",
        "Validation (best epoch): "
        + ", ".join(f"{k} {v:.4f}" for k, v in sorted(meta["metrics"].items()) if k != "epoch"),
        "",
    ]
    lines += [
        "Side by side with Tesseract 5 on freshly generated lines in held-out fonts: "
        "[docs/benchmarks.md](../benchmarks.md).",
        "",
    ]
    for fig_name, text in figures:
        lines += [f"From `{fig_name}`:", "", "```json", text, "```", ""]
    lines += ["## Licences", "", LICENCES, ""]
    out = args.out_dir / f"{name}.md"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines), encoding="utf-8")
    except OSError as exc:
        sys.exit(f"{parser.prog}: error: {exc}")
    print(out)


if __name__ == "__main__":
    main()
