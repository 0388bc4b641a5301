//! Number formatting for readouts.

/// A readout value: four significant digits, scientific notation for very small or large values,
/// "—" for a value that does not exist and "∞" for infinity.
pub fn sig4(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v.is_nan() => "NaN".into(),
        Some(v) if v.is_infinite() => if v > 0.0 { "∞".into() } else { "−∞".into() },
        Some(0.0) => "0".into(),
        Some(v) if v.abs() < 1e-3 || v.abs() >= 1e5 => format!("{v:.4e}"),
        Some(v) => {
            let decimals = (3 - libm::log10(v.abs()).floor() as i32).clamp(0, 6) as usize;
            format!("{v:.decimals$}")
        }
    }
}

/// A percentage with two decimals.
pub fn percent(fraction: f64) -> String {
    format!("{:.2}%", fraction * 100.0)
}

/// `n` with thin spaces between groups of three digits: 1 000 000.
pub fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// A count of values: whole multiples of 2²⁰ as "16M" (the benchmark page's sizes: "1M
/// values" is 2²⁰), any other count in full with [`group_thousands`].
pub fn count(n: usize) -> String {
    const MI: usize = 1 << 20;
    if n >= MI && n.is_multiple_of(MI) {
        format!("{}M", n / MI)
    } else {
        group_thousands(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readouts() {
        assert_eq!(sig4(Some(0.011764706)), "0.01176");
        assert_eq!(sig4(Some(48.13)), "48.13");
        assert_eq!(sig4(Some(1.5e-5)), "1.5000e-5");
        assert_eq!(sig4(Some(f64::INFINITY)), "∞");
        assert_eq!(sig4(None), "—");
        assert_eq!(sig4(Some(0.0)), "0");
        assert_eq!(percent(0.0123), "1.23%");
        assert_eq!(group_thousands(1_000_000), "1\u{202f}000\u{202f}000");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(count(1 << 24), "16M");
        assert_eq!(count(1 << 20), "1M");
        assert_eq!(count(10_000_000), "10\u{202f}000\u{202f}000");
        assert_eq!(count(1_346), "1\u{202f}346");
        assert_eq!(count(0), "0");
    }
}
