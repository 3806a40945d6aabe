import pytest
import torch

from lineocr.models.crnn import CRNN, PRESETS, output_lengths
from lineocr.models.registry import build_model


@pytest.mark.parametrize(
    ("preset", "low", "high"), [("tiny", 0.2e6, 0.5e6), ("small", 1.2e6, 1.8e6), ("base", 4e6, 6e6)]
)
def test_preset_sizes(preset, low, high):
    model = CRNN(num_classes=80, height=32, preset=preset)
    params = sum(p.numel() for p in model.parameters())
    assert low <= params <= high


@pytest.mark.parametrize("preset", sorted(PRESETS))
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
