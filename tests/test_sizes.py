import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dockerweb.sizes import human_size


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "—"),
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1 kB"),
        (1_980_000, "1.98 MB"),
        (2_075_000, "2.08 MB"),  # what `docker images` shows for this many bytes
        (999_999, "1 MB"),
        (5 * 10**9, "5 GB"),
        (-2048, "-2.05 kB"),
    ],
)
def test_sizes_read_as_the_docker_cli_writes_them(size, text):
    assert human_size(size) == text


# -- the browser writes them the same way (static/js/sizes.js) -----------------------------

SIZES_JS = Path(__file__).resolve().parent.parent / "static" / "js" / "sizes.js"


def _agreement_numbers() -> list[int]:
    """Unit edges, ties of the rounding (1.125 MB is exact in binary: ties go to even) and
    a spread of ordinary sizes over every unit."""
    edges = [0, 1, 999, 1000, 999_499, 999_500, 999_999, 1_000_000, 10**15, 999_500 * 10**12]
    ties = [1_125_000, 1_135_000, 12_250, 12_350, 100_500, 2_500, 3_500, 4_096, 1_048_576]
    spread = [int(1.37**k) + k for k in range(1, 150)]
    wanted = edges + ties + spread
    return wanted + [-n for n in wanted[1:20]]


def _node_sizes(numbers: list[int]) -> list[str]:
    node = shutil.which("node")
    assert node, "node is needed (make assets installs it)"
    script = (
        f"require({json.dumps(str(SIZES_JS))});"
        "const numbers = JSON.parse(process.argv[1]);"
        "process.stdout.write(JSON.stringify(numbers.map(globalThis.dockerwebSizes.human)));"
    )
    done = subprocess.run(
        [node, "-e", script, json.dumps(numbers)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def test_sizes_js_writes_every_size_as_the_server_does():
    numbers = _agreement_numbers()

    written = _node_sizes(numbers)

    disagreements = [
        (n, js, human_size(n))
        for n, js in zip(numbers, written, strict=True)
        if js != human_size(n)
    ]
    assert not disagreements, disagreements
    assert written[numbers.index(1_125_000)] == "1.12 MB"  # a tie, rounded as Python does
