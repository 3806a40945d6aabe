import typing

import pytest
import torch
from torch import nn

from lineocr.charset import Charset
from lineocr.models.crnn import CRNN, output_lengths
from lineocr.models.registry import build_model
from lineocr.models.spec import Preset
from lineocr.train.finetune import ACCENT_BIAS, base_letter, transfer_weights


@pytest.mark.parametrize(
    ("preset", "low", "high"),
    [
        ("tiny", 0.2e6, 0.5e6),
        ("small", 1.2e6, 1.8e6),
        ("base", 4e6, 6e6),
        ("fast", 1.1e6, 1.5e6),
        ("fast1", 0.8e6, 1.05e6),
    ],
)
def test_preset_sizes(preset, low, high):
    model = CRNN(num_classes=80, height=32, preset=preset)
    params = sum(p.numel() for p in model.parameters())
    assert low <= params <= high


@pytest.mark.parametrize("preset", typing.get_args(Preset))  # every name a config takes
@pytest.mark.parametrize("width", [16, 100, 257])
def test_variable_width_gives_width_over_four_frames(preset, width):
    model = CRNN(num_classes=11, height=32, preset=preset).eval()
    out = model(torch.zeros(2, 1, 32, width))
    assert out.shape == (2, width // 4, 11)


def test_output_lengths_cover_each_line():
    assert output_lengths(torch.tensor([4, 5, 8, 100])).tolist() == [1, 2, 2, 25]


def test_height_must_be_multiple_of_16():
    with pytest.raises(ValueError, match="multiple of 16"):
        CRNN(num_classes=5, height=40)


def test_registry_raises_on_unknown_names():
    assert isinstance(build_model("crnn", num_classes=5, height=32, preset="tiny"), CRNN)
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("crnnn", num_classes=5, height=32)
    with pytest.raises(ValueError, match="unknown CRNN preset"):
        build_model("crnn", num_classes=5, height=32, preset="huge")


def _conv_macs_per_frame(model: CRNN, height: int = 32) -> int:
    """Multiply-adds of the convolutions per output frame (4 input columns)."""
    total = 0

    def count(module, inputs, output) -> None:
        nonlocal total
        _, c_out, h, w = output.shape
        total += c_out * h * w * module.in_channels * module.kernel_size[0] * module.kernel_size[1]

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 1, height, 400))
    for hook in hooks:
        hook.remove()
    return total // 100


def test_fast_preset_halves_the_convolutions_and_starts_from_small() -> None:
    charset = Charset.from_string("abc")
    small, fast = CRNN(charset.num_classes, 32, "small"), CRNN(charset.num_classes, 32, "fast")
    assert _conv_macs_per_frame(fast) < 0.56 * _conv_macs_per_frame(small)
    for tensor in small.state_dict().values():  # batch norm starts at 0/1 in both: vary it
        if tensor.is_floating_point():
            tensor.copy_(torch.rand_like(tensor) + 0.5)
    before = {k: v.clone() for k, v in fast.state_dict().items()}
    transfer_weights(small, charset, fast, charset)
    after, source = fast.state_dict(), small.state_dict()
    # Every tensor came from small (none kept its fresh initialisation)...
    assert not [k for k, v in after.items() if v.numel() > 1 and torch.equal(v, before[k])]
    # ... the n-th convolution from the n-th: fast's third (backbone.7) is small's (.8).
    assert torch.equal(after["backbone.7.weight"], source["backbone.8.weight"])
    assert torch.equal(after["rnn.weight_hh_l1"], source["rnn.weight_hh_l1"])


def test_fast1_is_fast_with_one_lstm_layer_and_starts_from_fast() -> None:
    charset = Charset.from_string("abc")
    fast, fast1 = CRNN(charset.num_classes, 32, "fast"), CRNN(charset.num_classes, 32, "fast1")
    assert (fast.rnn.num_layers, fast1.rnn.num_layers) == (2, 1)
    assert _conv_macs_per_frame(fast1) == _conv_macs_per_frame(fast)
    for tensor in fast.state_dict().values():
        if tensor.is_floating_point():
            tensor.copy_(torch.rand_like(tensor) + 0.5)
    transfer_weights(fast, charset, fast1, charset)
    after, source = fast1.state_dict(), fast.state_dict()
    # Every tensor of fast1 is fast's tensor of that name (the first LSTM layer's too);
    # fast's second LSTM layer has no place in fast1.
    assert set(after) == {k for k in source if "_l1" not in k}
    assert all(torch.equal(v, source[k]) for k, v in after.items())


def test_a_new_accented_letter_starts_from_its_base_letter() -> None:
    source_charset = Charset.from_string("aeN")
    target_charset = Charset.from_string("aeN\u00e9\u00d1\u00df")  # é, Ñ, ß
    source = CRNN(source_charset.num_classes, 32, "fast")
    target = CRNN(target_charset.num_classes, 32, "fast")
    transfer_weights(source, source_charset, target, target_charset)
    src, tgt = source.state_dict(), target.state_dict()

    def row(charset: Charset, char: str) -> int:
        return charset.chars.index(char) + 1

    e, n = row(source_charset, "e"), row(source_charset, "N")
    assert torch.equal(
        tgt["classifier.weight"][row(target_charset, "\u00e9")], src["classifier.weight"][e]
    )
    assert tgt["classifier.bias"][row(target_charset, "\u00e9")] == pytest.approx(
        float(src["classifier.bias"][e]) - ACCENT_BIAS
    )
    assert torch.equal(
        tgt["classifier.weight"][row(target_charset, "\u00d1")], src["classifier.weight"][n]
    )
    # ß is not an accented letter: a fresh row, none of the source's
    sharp_s = tgt["classifier.weight"][row(target_charset, "\u00df")]
    assert not any(torch.equal(sharp_s, r) for r in src["classifier.weight"])
    assert [base_letter(c) for c in "\u00e9\u00d1\u00dfe\u0627\u0622"] == [
        "e",
        "N",
        None,
        None,
        None,
        "\u0627",
    ]
