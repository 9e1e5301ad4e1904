// Byte counts for people, exactly as dockerweb/sizes.py writes them on the server (the docker
// CLI's SI units: "1.98 MB", "512 kB", "12 B"), so a size reads the same in a live page as in
// a rendered one. Load before the scripts that use it: window.dockerwebSizes.human(n).
// tests/test_sizes.py runs this file with node and compares it with human_size.
(() => {
  "use strict";
  const UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

  // Python's format(value, ".3g") for a positive value: three significant digits, ties to
  // even (toPrecision rounds ties up), trailing zeros dropped, exponent when it is ≥ 3.
  function threeDigits(value) {
    let text = value.toPrecision(3);
    // A tie only exists when the exact decimal value of the double ends in that 5.
    const exact = value.toPrecision(100);
    const digits = exact.replace(/[^0-9]/g, "").replace(/^0+/, "");
    if (/^\d{3}50*$/.test(digits) && Number(digits[2]) % 2 === 0) {
      const down = Number(exact) - 5 * 10 ** (Math.floor(Math.log10(value)) - 3);
      text = down.toPrecision(3);
    }
    let [mantissa, exponent] = text.split("e");
    if (mantissa.includes(".")) mantissa = mantissa.replace(/0+$/, "").replace(/\.$/, "");
    if (exponent === undefined) return mantissa;
    const sign = exponent.startsWith("-") ? "-" : "+";
    return `${mantissa}e${sign}${exponent.replace(/^[+-]/, "").padStart(2, "0")}`;
  }

  function human(size) {
    if (size === null || size === undefined) return "—";
    let value = Number(size);
    const sign = value < 0 ? "-" : "";
    value = Math.abs(value);
    let unit = 0;
    while (value >= 999.5 && unit < UNITS.length - 1) {
      value /= 1000;
      unit += 1;
    }
    if (unit === 0) return `${sign}${Math.trunc(value)} B`;
    return `${sign}${threeDigits(value)} ${UNITS[unit]}`;
  }

  globalThis.dockerwebSizes = Object.freeze({ human });
})();
