//! One flag's value parsed and range-checked: whole numbers, seconds, durations, `--shard`,
//! `--max-failures`, `--existing`, a file to create, whether two paths are one file; each
//! problem as a fragment naming what is accepted.

use std::path::Path;
use std::time::Duration;

use super::checked::MaxFailures;
use crate::error::InputError;
use crate::lifecycle::Existing;
use crate::preferences::{BUILTIN_PLACEHOLDERS, is_placeholder_name};
use crate::suggest::did_you_mean;

/// An optional flag's value, parsed when given.
pub(super) fn optional<T>(
    value: &Option<String>,
    name: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, InputError> {
    Ok(each(value.as_slice(), name, parse)?.pop())
}

/// A list flag's values, each parsed; the first that does not parse is the error.
pub(super) fn each<T>(
    values: &[String],
    name: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, InputError> {
    values
        .iter()
        .map(|v| parse(v).map_err(flag(name)))
        .collect()
}

pub(super) fn parse_existing(s: &str) -> Result<Existing, String> {
    Existing::parse(s).ok_or_else(|| {
        let names = Existing::ALL.map(Existing::as_str);
        format!(
            "{s:?} is not one of {}{}",
            names.join(", "),
            did_you_mean(s, names)
        )
    })
}

/// Prefixes a value's problem with the flag it was given to.
pub(super) fn flag(name: &'static str) -> impl Fn(String) -> InputError {
    move |problem| InputError::flag(name, problem)
}

pub(super) fn whole(text: &str, min: usize, max: usize) -> Result<usize, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n >= min as i64 && n <= max as i64 => Ok(n as usize),
        _ => Err(format!(
            "{text:?} is not a whole number from {min} to {max}"
        )),
    }
}

/// Seconds, finite and above zero (a float's `inf` and `nan` parse, and would panic later).
pub(super) fn seconds(text: &str, max: f64) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        // At least a millisecond: a smaller timeout fails every call before it is sent.
        Ok(s) if s.is_finite() && s >= 0.001 && s <= max => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{text:?} is not a number of seconds from 0.001 to {max}"
        )),
    }
}

/// `--endpoint-url`: an absolute http(s) URL with a host. The SDK takes any text here and
/// panics in every call it cannot send (an empty URL is "unset" to it), so it is checked once.
pub(super) fn parse_endpoint(s: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "{s:?} is not an endpoint URL ({why}): give an absolute http:// or https:// URL with a host, such as http://127.0.0.1:5000"
        )
    };
    if s.trim().is_empty() {
        return Err(bad("it is empty"));
    }
    if s.trim() != s {
        return Err(bad("it has blanks around it"));
    }
    let url = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    // Not echoed: it would print the password, and every connection error would carry it.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL holds a user name or password: give the endpoint without them (credentials come from the AWS configuration)".into());
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(&format!(
            "the scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    Ok(s.to_string())
}

/// `--var KEY=VALUE`: a placeholder's name (letters, digits, `_`, as `{KEY}` is written) that
/// the tool does not fill itself, and its value.
pub(super) fn parse_var(s: &str) -> Result<(String, String), String> {
    let Some((key, value)) = s.split_once('=') else {
        return Err(format!(
            "{s:?} is not KEY=VALUE (for example log_bucket=org-session-logs)"
        ));
    };
    let key = key.trim();
    if !is_placeholder_name(key) {
        return Err(format!(
            "{key:?} is not a placeholder's name (letters, digits and _, as {{KEY}} is written in the preferences)"
        ));
    }
    if BUILTIN_PLACEHOLDERS.contains(&key) {
        return Err(format!(
            "{{{key}}} is filled by the tool for each target: it cannot be set"
        ));
    }
    Ok((key.to_string(), value.to_string()))
}

/// `N` failures or `N%` of the targets; 0 stops at the first failure.
pub(super) fn parse_max_failures(s: &str) -> Result<MaxFailures, String> {
    let bad = || format!("{s:?} is not a count (3) or a percentage from 0% to 100% (10%)");
    match s.trim().strip_suffix('%') {
        Some(p) => match p.trim().parse::<f64>() {
            Ok(v) if (0.0..=100.0).contains(&v) => Ok(MaxFailures::Percent(v)),
            _ => Err(bad()),
        },
        None => s
            .trim()
            .parse::<usize>()
            .map(MaxFailures::Count)
            .map_err(|_| bad()),
    }
}

/// `K/N` for `--shard`, with 1 <= K <= N <= 10,000 (a CI matrix, not a memory bomb).
pub(super) fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("{s:?} is not K/N with 1 <= K <= N <= 10000 (for example 2/8)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n) = (
        k.trim().parse::<usize>().map_err(|_| bad())?,
        n.trim().parse::<usize>().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n || n > 10_000 {
        return Err(bad());
    }
    Ok((k, n))
}

/// A file the command creates whole (`discover -o`): not a directory, and in a directory that
/// exists, so a path that cannot be the file fails before the first call, not after the
/// organization was read.
pub(super) fn new_file(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!(
            "{} is a directory: name the file to write (for example {})",
            path.display(),
            path.join("accounts.yml").display()
        ));
    }
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) if !dir.is_dir() => Err(format!(
            "{}: the directory {} does not exist",
            path.display(),
            dir.display()
        )),
        _ => Ok(()),
    }
}

/// Whether two paths name one file: as written, or once resolved (`./a.csv` and `a.csv`, a
/// symbolic link).
pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// `90s`, `10m`, `1h`, `1h30m` (humantime's forms): every number with its unit (a bare `5`
/// could be seconds or minutes); at most a day.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    match amount(text)? {
        total if !total.is_zero() && total <= Duration::from_secs(86_400) => Ok(total),
        _ => Err(not_a_duration(text)),
    }
}

/// A duration that `0` turns off (`--wait-ready`): `0` alone, or zero with its unit (`0s`), is
/// no wait; anything else is a [`parse_duration`].
pub(super) fn parse_wait(text: &str) -> Result<Duration, String> {
    match amount(text) {
        Ok(Duration::ZERO) => Ok(Duration::ZERO),
        _ => parse_duration(text),
    }
}

/// What a duration's numbers and units add up to; `0` alone is zero (humantime's rule).
fn amount(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    humantime::parse_duration(trimmed).map_err(|e| match e {
        // A number with no unit after it: the number as written, with the units to choose from.
        humantime::DurationError::UnknownUnit { unit, start, .. } if unit.is_empty() => {
            let before = &trimmed[..start];
            let number = &before[before
                .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(0, |i| i + 1)..];
            format!(
                "{text:?} has no unit: {number}s, {number}m or {number}h? (a duration such as 90s, 10m or 1h30m, at most 24h)"
            )
        }
        _ => not_a_duration(text),
    })
}

fn not_a_duration(text: &str) -> String {
    format!("{text:?} is not a duration such as 90s, 10m or 1h (at most 24h)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_out_of_range_are_refused() {
        for bad in ["inf", "nan", "-1", "0", "1025", "2.5", ""] {
            assert!(whole(bad, 1, 1024).is_err(), "{bad}");
        }
        assert_eq!(whole(" 32 ", 1, 1024), Ok(32));
        for bad in ["inf", "-inf", "nan", "-1", "0", "1e30"] {
            assert!(seconds(bad, 3600.0).is_err(), "{bad}");
        }
        assert_eq!(seconds("0.5", 3600.0), Ok(Duration::from_millis(500)));
        for bad in ["inf", "nan", "-1", "101%", "-1%", "nan%", "x"] {
            assert!(parse_max_failures(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_max_failures("0"), Ok(MaxFailures::Count(0)));
        assert_eq!(parse_max_failures("10%"), Ok(MaxFailures::Percent(10.0)));
        for bad in ["0/2", "3/2", "1/0", "-1/2", "inf", "1"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_shard("2/8"), Ok((2, 8)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        for bad in ["", "0s", "-1m", "10x", "25h", "m", "90", "1h30", "0"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        for off in ["0", "0s", " 0m", "0h0m"] {
            assert_eq!(parse_wait(off), Ok(Duration::ZERO), "{off:?}");
        }
        assert_eq!(parse_wait("2s"), Ok(Duration::from_secs(2)));
        for bad in ["5", "00", "0.0", "-0", "-0s", "soon", ""] {
            assert!(parse_wait(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(
            parse_wait("1h30"),
            Err("\"1h30\" has no unit: 30s, 30m or 30h? (a duration such as 90s, 10m or 1h30m, at most 24h)".into())
        );
        assert!(
            parse_wait(" 00")
                .unwrap_err()
                .contains("has no unit: 00s, 00m or 00h?")
        );
        assert_eq!(
            parse_duration("10x"),
            Err("\"10x\" is not a duration such as 90s, 10m or 1h (at most 24h)".into())
        );
    }
}
