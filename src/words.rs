//! Counts and durations in English for every message and page: "1 target", "2 targets",
//! "14m 58s".

/// The noun for `n` of it: "target" or "targets".
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        noun.to_string()
    } else {
        format!("{noun}s")
    }
}

/// "1 target", "2 targets", with the count.
pub(crate) fn count(n: usize, noun: &str) -> String {
    format!("{n} {}", plural(n, noun))
}

/// Seconds as a person reads them: "45s", "14m 58s", "1h 0m".
pub(crate) fn duration(seconds: u64) -> String {
    match (seconds / 3600, seconds % 3600 / 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singulars() {
        assert_eq!(count(1, "target"), "1 target");
        assert_eq!(count(0, "account"), "0 accounts");
        assert_eq!(count(2, "account"), "2 accounts");
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(898), "14m 58s");
        assert_eq!(duration(3600), "1h 0m");
    }
}
