"""``python -m derivations … --target`` counts classes from 1, as the lessons and their links do
: before, --target 1 showed class 2 and --target 3 of 3 classes was refused."""

import pytest

from derivations.__main__ import main as cli


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["softmax_cross_entropy", "--classes", "3", "--target", "1"], "yᵢ = 1"),
        (["softmax_cross_entropy", "--classes", "3", "--target", "3"], "yᵢ = 3"),
        (["mlp", "--layers", "2-3-2", "--target", "2"], "y = 2"),
        (["cnn", "--target", "1"], "target=1 (counted from 1; PyTorch's index 0)"),
    ],
)
def test_target_is_the_class_counted_from_one(argv, shown, capsys):
    assert cli(argv) == 0
    out = capsys.readouterr().out
    assert shown in out
    target = argv[-1]
    assert f"target={target} (counted from 1; PyTorch's index {int(target) - 1})" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["softmax_cross_entropy", "--classes", "3", "--target", "0"],
            "error: --target counts from 1, as the lessons do (the first class is --target 1); "
            "got 0\n",
        ),
        (
            ["softmax_cross_entropy", "--classes", "3", "--target", "4"],
            "error: softmax_cross_entropy: --target 4 is not a class here. Choose a class from 1 "
            "to 3, or more classes.\n",
        ),
        (
            ["mlp", "--layers", "2-3-2", "--target", "3"],
            "error: mlp: --target 3 is not a class here. Choose a class from 1 to 2, or more "
            "classes.\n",
        ),
    ],
)
def test_a_class_outside_is_refused_in_the_same_counting(argv, message, capsys):
    assert cli(argv) == 2
    assert capsys.readouterr().err == message


def test_help_says_how_target_counts(capsys):
    assert cli(["--help"]) == 0
    assert "counted from 1, as in the lessons" in " ".join(capsys.readouterr().out.split())
