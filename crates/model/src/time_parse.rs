//! Timestamps as users send them: RFC 3339 text or unix epoch nanoseconds.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses RFC 3339 text (`2026-11-21T03:14:07Z`) or a decimal unix-ns string.
pub fn parse_timestamp_text(text: &str) -> Result<u64, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map_err(|_| format!("{text:?} does not fit in unix nanoseconds"));
    }
    let parsed = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|err| format!("{text:?} is neither RFC 3339 nor unix nanoseconds: {err}"))?;
    let nanos = parsed.unix_timestamp_nanos();
    u64::try_from(nanos).map_err(|_| format!("{text:?} is before 1970"))
}

/// Formats unix nanoseconds as RFC 3339 UTC with nanosecond precision.
pub fn format_rfc3339(unix_ns: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ns))
        .ok()
        .and_then(|when| when.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix_ns.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        assert_eq!(
            parse_timestamp_text("2026-11-21T00:00:00Z"),
            Ok(1_795_219_200_000_000_000)
        );
        assert_eq!(
            parse_timestamp_text("1795219200000000000"),
            Ok(1_795_219_200_000_000_000)
        );
        assert_eq!(
            parse_timestamp_text("2026-11-21T01:00:00.5+01:00"),
            Ok(1_795_219_200_500_000_000)
        );
        assert!(parse_timestamp_text("yesterday").is_err());
        assert!(parse_timestamp_text("1960-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn formats_round_trip() {
        let ns = 1_795_219_200_123_456_789;
        assert_eq!(parse_timestamp_text(&format_rfc3339(ns)), Ok(ns));
    }
}
