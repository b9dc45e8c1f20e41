//! The gateway's clock: now, the metering month, and the wait until the
//! next month (the Retry-After of a quota rejection).

use time::OffsetDateTime;

pub use causeway_runtime::clock::now_unix_ns;

fn utc(unix_ns: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ns)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The metering month of an instant, as `yyyymm` (UTC).
pub fn month_of(unix_ns: u64) -> u32 {
    let at = utc(unix_ns);
    let year = u32::try_from(at.year()).unwrap_or(0);
    year * 100 + u32::from(u8::from(at.month()))
}

/// Whole seconds from an instant to the start of the next UTC month (at least 1).
pub fn seconds_until_next_month(unix_ns: u64) -> u64 {
    let at = utc(unix_ns);
    let (year, month) = match at.month() {
        time::Month::December => (at.year() + 1, time::Month::January),
        month => (at.year(), month.next()),
    };
    let next = time::Date::from_calendar_date(year, month, 1)
        .map(|date| date.midnight().assume_utc())
        .unwrap_or(at);
    let seconds = (next - at).whole_seconds();
    u64::try_from(seconds).unwrap_or(0).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: u64 = 1_000_000_000;

    #[test]
    fn months_and_rollover() {
        // 2026-11-21T00:00:00Z
        let nov21 = 1_795_219_200 * NS;
        assert_eq!(month_of(nov21), 202_611);
        assert_eq!(seconds_until_next_month(nov21), 10 * 86_400);
        // 2026-12-31T23:59:59Z rolls into 2027-01.
        let dec31 = 1_798_761_599 * NS;
        assert_eq!(month_of(dec31), 202_612);
        assert_eq!(seconds_until_next_month(dec31), 1);
        assert_eq!(month_of(dec31 + NS), 202_701);
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_unix_ns() > causeway_model::limits::MIN_TIMESTAMP_UNIX_NS);
    }
}
