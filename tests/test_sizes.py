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
