"""The generated corpus of the input fuzz test: adversarial and near-valid values per field.

Adversarial: random unicode, NUL, numbers that overflow (1e400, 2**64), `..` paths, very long
strings. Near-valid: values one step from what a form accepts (a port of 65536, a memory of
6m or 1e400, a name with a space), and some fully valid ones, so the paths that create
things run too. Anything the fuzz could create carries FUZZ_LABELS or starts with MARK.
"""

import string

from hypothesis import strategies as st

from tests import engine as eng

MARK = f"fz{eng.SESSION}"
FUZZ_LABELS = {**eng.TEST_LABELS, "test.dockerweb.fuzz": eng.SESSION}
LABEL_LINES = "\n".join(f"{key}={value}" for key, value in FUZZ_LABELS.items())
# Subnets a fuzzed network may get: the benchmarking range, never one the host routes.
SAFE_SUBNET = "198.18.0.0/15"

NASTY = [
    "",
    " ",
    ".",
    "..",
    "../..",
    "../../etc/passwd",
    "/..",
    "a/../../containers",
    "x/../../images",
    "\x00",
    "a\x00b",
    "%00",
    "%2e%2e%2f",
    "1e400",
    "-1e400",
    str(2**64),
    str(2**63),
    str(-(2**63) - 1),
    "-1",
    "0",
    "00",
    "NaN",
    "inf",
    "-0",
    "0x10",
    "1_000",
    "²",
    "١٢٣",
    "٨٠",
    "½",
    "\u202e",
    "\ufeff",
    "\r\n",
    "\n\n",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "🐳",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "${IFS}",
    "$(id)",
    "`id`",
    "C:\\Windows",
    "\\\\host\\share",
    "sha256:",
    "sha256:..",
    "@",
    ":",
    "/",
    "//",
    "a:b:c:d",
]
# The sweep: each field of each form, and each path parameter, gets each of these once.
CRITICAL = ["1e400", str(2**64), "-1", "9" * 400, "²", "١٢٣", "..", "../../etc/passwd"]
CRITICAL += ["\x00", "a" * 5000, "🐳", " "]
PATH_CRITICAL = [*CRITICAL, "a/../../containers", "x/../../images", ".", "sha256:..", "a/../b"]
INTS = ["-1", "0", "9" * 30, str(2**64), "1e400", "²", "١"]
LONG = st.sampled_from([255, 256, 400, 5000])
NUMBERS = [0, 1, -1, 80, 1000, 1001, 65535, 65536, 2**31, 2**63, 2**64, 10**30]


def junk() -> st.SearchStrategy[str]:
    """Adversarial text of every kind."""
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(st.characters(codec="utf-8"), max_size=40),
        st.text(st.characters(codec="utf-8"), max_size=400),
        st.text(st.characters(codec="utf-8"), min_size=2000, max_size=4000),
        st.integers(min_value=-(2**80), max_value=2**80).map(str),
        st.floats().map(str),
        st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.text(max_size=8)),
        # Very long: built at draw time, so the strategy's repr stays short.
        st.builds(lambda c, n: c * n, st.sampled_from(["a", "9", "é", "🐳", "../"]), LONG),
    )


def field(*near: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Half junk, half near-valid."""
    if not near:
        return junk()
    return st.one_of(junk(), *near) if len(near) > 1 else st.one_of(junk(), near[0])


def numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NUMBERS).map(str),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(["1e400", "1.5", "-0", "²", " 7 ", "0x10"]),
    )


def lines(line: st.SearchStrategy[str], max_size: int = 4) -> st.SearchStrategy[str]:
    return st.lists(line, max_size=max_size).map("\n".join)


def marked_name() -> st.SearchStrategy[str]:
    suffix = st.text(string.ascii_lowercase + string.digits + "_.-", min_size=1, max_size=12)
    return st.one_of(
        suffix.map(lambda s: f"{MARK}-{s}"),
        suffix.map(lambda s: f"{MARK} {s}"),
        suffix.map(lambda s: f"-{MARK}{s}"),
        suffix.map(lambda s: f"{MARK}/{s}"),
        LONG.map(lambda n: MARK + "x" * n),
    )


def valid_name() -> st.SearchStrategy[str]:
    suffix = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
    return suffix.map(lambda s: f"{MARK}-{s}")


def port_line() -> st.SearchStrategy[str]:
    # Host ports only out of range: a valid one would take a port other tests may be using.
    bad_host = st.sampled_from(["0", "65536", str(2**64), "²", "1e400", "-1"])
    port = st.sampled_from(NUMBERS).map(str)
    proto = st.sampled_from(["", "/tcp", "/udp", "/sctp", "/icmp", "/TCP"])
    return st.one_of(
        st.builds(lambda p, x: f"{p}{x}", port, proto),
        st.builds(lambda h, p, x: f"{h}:{p}{x}", bad_host, port, proto),
        st.builds(lambda h, p: f"127.0.0.1:{h}:{p}", bad_host, port),
        st.builds(lambda h, p: f"[::1]:{h}:{p}", bad_host, port),
        st.sampled_from(["999.1.1.1:1:2", "[::1:1:2", "a:b", "80:80:80:80", "٨٠"]),
        junk(),
    )


def volume_line() -> st.SearchStrategy[str]:
    suffix = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=6)
    return st.one_of(
        suffix.map(lambda s: f"{MARK}-v{s}:/data"),
        suffix.map(lambda s: f"{MARK}-v{s}:/data:ro"),
        st.sampled_from(
            [
                "/data",
                "/data:ro",
                "/",
                "/:/x",
                "x:/../etc",
                "/etc:/x",
                "../x:/y",
                "~/x:/y",
                "name:/p:rw:extra",
                f"{MARK}-v:relative",
                "/a/../../b",
            ]
        ),
        junk(),
    )


def key_value_line(keys: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(keys), st.text(max_size=20)),
        st.sampled_from(["=x", "A", "A=", "1A=b", "A B=c", "A=b\x00"]),
        junk(),
    )


def labels() -> st.SearchStrategy[str]:
    """Every set of labels starts with the fuzz labels, so whatever is created is ours."""
    extra = lines(key_value_line(["com.example.k", "dockerweb.helper", "k", "a/b"]))
    return extra.map(lambda more: f"{LABEL_LINES}\n{more}")


MEMORY = ["", "0", "6m", "64m", "1g", "512", "1e400", str(2**64), "1.5g", "-1m", "4m", "²m"]
MEMORY += ["99999999999999999999g", "1 g", "64mb", "64MiB"]
CPUS = ["", "0", "0.5", "1", "1.5", "0.001", "1e400", "1e-400", str(2**64), "-1", "NaN"]
CPUS += ["inf", "1e999999999", "²", "0.01"]
SUBNETS = ["", "198.18.0.0/24", "198.18.1.0/30", "198.18.0.0/33", f"198.18.0.0/{2**64}"]
SUBNETS += ["198.18.0.0/1e400", "::1/128", "198.18.0.1/24", "198.18.0.0/-1", "999.0.0.0/8"]
GATEWAYS = ["", "198.18.0.1", "198.18.0.0", "198.18.0.255", "10.0.0.1", "::1", "198.18.0"]


def image_refs(known: list[str]) -> st.SearchStrategy[str]:
    return field(
        st.sampled_from(known),
        st.sampled_from(
            [
                f"{MARK}-img:1",
                "Busybox",
                "busybox:" + "t" * 200,
                "a" * 300,
                "sha256:" + "0" * 64,
                "0" * 12,
                "a@sha256:" + "0" * 64,
                "x/../../containers",
            ]
        ),
        marked_name(),
    )
