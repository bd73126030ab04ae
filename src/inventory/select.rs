//! The selection flags (-a, --not-accounts, -t, -r, --shard) applied to an inventory: the
//! final target list, accounts × regions, in file order.

use std::sync::Arc;

use super::load::*;
use crate::error::{InputError, Problem};
use crate::suggest::did_you_mean;
use crate::target::{Account, AccountId, Region, Target};

/// The selection flags, as src/settings/ checked them (names and tags are matched here).
#[derive(Debug, Default, Clone)]
pub(crate) struct Selection {
    pub accounts: Vec<String>,
    pub not_accounts: Vec<String>,
    /// `KEY:VALUE` each.
    pub tags: Vec<String>,
    /// `-r`, overriding the inventory's regions.
    pub regions: Option<Regions>,
    /// `--shard K/N`: (K, N), 1-based.
    pub shard: Option<(usize, usize)>,
    /// How strictly names, tags and an empty result are held: events decide what is there.
    pub(crate) strictness: Strictness,
}

/// With `--event`, what an inventory holds is the events' say, not the operator's.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// Every name and tag must be in the inventory, and the selection must not be empty.
    #[default]
    Strict,
    /// Narrowed by events afterwards: an empty shard is nothing to do, not an error.
    EmptyOk,
    /// The events are the inventory: names and tags not in them only select nothing.
    Lenient,
}

/// `-r`: the regions named, or `all`: the regions each account has enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Regions {
    All,
    List(Vec<Region>),
}

/// What a selection resolves to before any AWS call.
#[derive(Debug, Default)]
pub(crate) struct Selected {
    pub targets: Vec<Target>,
    /// With `-r all`: accounts whose targets are the regions each has enabled, known only
    /// once the run asks the account (Account ListRegions).
    pub all_regions: Vec<Arc<Account>>,
}

/// The accounts of shard K of N: accounts go whole to one shard (their credentials are
/// assumed once), largest first to the shard with the fewest targets so far, ties by id —
/// deterministic for a given inventory and selection, and balanced by targets.
pub(super) fn shard_accounts(
    weights: &[(AccountId, usize)],
    (k, n): (usize, usize),
) -> std::collections::HashSet<AccountId> {
    let mut order: Vec<&(AccountId, usize)> = weights.iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut load = vec![0usize; n];
    let mut mine = std::collections::HashSet::new();
    for (id, w) in order {
        let shard = (0..n).min_by_key(|&i| (load[i], i)).expect("n >= 1");
        load[shard] += (*w).max(1);
        if shard == k - 1 {
            mine.insert(id.clone());
        }
    }
    mine
}

/// Applies the selection flags and expands accounts × regions into targets, in file order.
pub(crate) fn select(inv: &Inventory, sel: &Selection) -> Result<Selected, InputError> {
    let mut problems = vec![];
    let usage = |flag: &'static str, msg: String| Problem::flag(flag, msg);
    let all_regions = sel.regions == Some(Regions::All);
    let override_regions = match &sel.regions {
        Some(Regions::List(list)) => Some(list.clone()),
        _ => None,
    };
    let matches = |a: &Account, wanted: &str| a.id.as_str() == wanted || a.name == wanted;
    let lenient = sel.strictness == Strictness::Lenient;
    for (flag, list) in [("-a", &sel.accounts), ("--not-accounts", &sel.not_accounts)] {
        if lenient {
            break;
        }
        for wanted in list {
            if !inv.accounts.iter().any(|a| matches(a, wanted)) {
                let hint = did_you_mean(
                    wanted,
                    inv.accounts
                        .iter()
                        .flat_map(|a| [a.name.as_str(), a.id.as_str()]),
                );
                problems.push(usage(
                    flag,
                    format!("no account {wanted:?} in {}{hint}", inv.path.display()),
                ));
            }
        }
    }
    for tag in &sel.tags {
        if !lenient && !inv.accounts.iter().any(|a| a.tags.contains(tag)) {
            let hint = did_you_mean(
                tag,
                inv.accounts
                    .iter()
                    .flat_map(|a| &a.tags)
                    .map(String::as_str),
            );
            problems.push(usage(
                "-t",
                format!(
                    "the selection is empty: no account in {} carries the tag {tag:?}{hint}",
                    inv.path.display()
                ),
            ));
        }
    }
    let chosen: Vec<&Arc<Account>> = inv
        .accounts
        .iter()
        .filter(|a| sel.accounts.is_empty() || sel.accounts.iter().any(|w| matches(a, w)))
        .filter(|a| !sel.not_accounts.iter().any(|w| matches(a, w)))
        .filter(|a| sel.tags.iter().all(|t| a.tags.contains(t)))
        .collect();
    let in_shard = sel.shard.map(|shard| {
        let weights: Vec<(AccountId, usize)> = chosen
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    override_regions
                        .as_ref()
                        .or(a.regions.as_ref())
                        .map_or(1, Vec::len),
                )
            })
            .collect();
        shard_accounts(&weights, shard)
    });
    let mut selected = Selected::default();
    for account in chosen {
        if in_shard
            .as_ref()
            .is_some_and(|mine| !mine.contains(&account.id))
        {
            continue;
        }
        if all_regions {
            selected.all_regions.push(account.clone());
            continue;
        }
        let regions = match (&override_regions, &account.regions) {
            (Some(r), _) => r,
            (None, Some(r)) => r,
            (None, None) => {
                problems.push(Problem::at(
                    &inv.path,
                    Some(account.line),
                    format!("account {} has no regions: add `regions:` to it or to the top of the file, or pass -r", account.id),
                ));
                continue;
            }
        };
        selected.targets.extend(regions.iter().map(|r| Target {
            account: account.clone(),
            region: r.clone(),
        }));
    }
    if problems.is_empty()
        && sel.strictness == Strictness::Strict
        && selected.targets.is_empty()
        && selected.all_regions.is_empty()
    {
        let mut flags = vec![];
        if !sel.accounts.is_empty() {
            flags.push(format!("-a {}", sel.accounts.join(",")));
        }
        if !sel.not_accounts.is_empty() {
            flags.push(format!("--not-accounts {}", sel.not_accounts.join(",")));
        }
        flags.extend(sel.tags.iter().map(|t| format!("-t {t}")));
        if let Some((k, n)) = sel.shard {
            flags.push(format!("--shard {k}/{n}"));
        }
        let why = match &override_regions {
            Some(r) if r.is_empty() => "-r names no region".to_string(),
            _ if flags.is_empty() => "every account has an empty `regions:` list".to_string(),
            _ => format!(
                "none of the {} is left after {}",
                crate::words::count(inv.accounts.len(), "account"),
                flags.join(" ")
            ),
        };
        problems.push(Problem::at(
            &inv.path,
            None,
            format!("the selection is empty: {why}"),
        ));
    }
    if problems.is_empty() {
        Ok(selected)
    } else {
        Err(InputError::Problems(problems))
    }
}
