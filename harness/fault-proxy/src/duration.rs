//! Durations as written on the command line and the control port:
//! `250ms`, `2s`, `1.5s`, `3m` (a bare number is milliseconds).

/// Parses a duration into milliseconds.
pub fn parse_ms(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (expected e.g. 250ms, 2s, 1.5s, 3m)"))?;
    if !v.is_finite() || v < 0.0 || v * mult > 1e12 {
        return Err(format!("`{s}` is not a duration between 0 and 30 years"));
    }
    Ok((v * mult).round() as u64)
}

/// Formats milliseconds for logs: `12.345s`.
pub fn fmt_ms(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_ms("250ms"), Ok(250));
        assert_eq!(parse_ms("1.5s"), Ok(1500));
        assert_eq!(parse_ms("2m"), Ok(120_000));
        assert_eq!(parse_ms("40"), Ok(40));
        assert!(parse_ms("-1s").is_err());
        assert!(parse_ms("abc").is_err());
        assert!(parse_ms("NaNs").is_err());
        assert_eq!(fmt_ms(12_345), "12.345s");
    }
}
