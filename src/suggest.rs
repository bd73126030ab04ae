//! "did you mean" hints for misspelt keys, columns and regions.

/// Returns `" (did you mean \"x\"?)"` for the closest candidate, or "" when none is close.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let w = word.to_ascii_lowercase();
    let best = candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&w, &c.to_ascii_lowercase()), c))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, c)) if d <= (w.len().max(3) / 3).max(2) => format!(" (did you mean {c:?}?)"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_close_words_only() {
        let keys = ["s3BucketName", "kmsKeyId"];
        assert_eq!(
            super::did_you_mean("s3BucketNmae", keys),
            " (did you mean \"s3BucketName\"?)"
        );
        assert_eq!(super::did_you_mean("completelyDifferent", keys), "");
    }
}
