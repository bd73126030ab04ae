//! Counts in English for every message and page: "1 target", "2 targets".

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singulars() {
        assert_eq!(count(1, "target"), "1 target");
        assert_eq!(count(0, "account"), "0 accounts");
        assert_eq!(count(2, "account"), "2 accounts");
    }
}
