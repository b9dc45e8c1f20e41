//! Small formatting helpers shared by the templates (integer math only, so
//! the same artifact always renders the same page).

/// `part / whole` as a CSS percentage with two decimals, clamped to 100%.
pub fn percent(part: u64, whole: u64) -> String {
    let basis_points = (u128::from(part) * 10_000 / u128::from(whole.max(1))).min(10_000) as u64;
    format!("{}.{:02}%", basis_points / 100, basis_points % 100)
}

/// A per-mille ratio as `12.5%`.
pub fn per_mille(value: u32) -> String {
    format!("{}.{}%", value / 10, value % 10)
}

/// `1 event` / `3 events`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_clamped_and_exact() {
        assert_eq!(percent(0, 0), "0.00%");
        assert_eq!(percent(1, 3), "33.33%");
        assert_eq!(percent(5, 4), "100.00%");
        assert_eq!(per_mille(125), "12.5%");
        assert_eq!(count(1, "gap", "gaps"), "1 gap");
        assert_eq!(count(2, "gap", "gaps"), "2 gaps");
    }
}
