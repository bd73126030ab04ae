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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::error::Origin;

    fn region(r: &str) -> Region {
        Region::parse(r).unwrap()
    }

    /// An account from the inventory's line `line`: its id, name, tags and regions.
    fn account(
        id: &str,
        name: &str,
        tags: &[&str],
        regions: Option<&[&str]>,
        line: usize,
    ) -> Arc<Account> {
        let mut a = Account::new(AccountId::parse(id).unwrap(), line);
        a.name = name.to_string();
        a.tags = tags.iter().map(|t| t.to_string()).collect();
        a.regions = regions.map(|rs| rs.iter().map(|r| region(r)).collect());
        Arc::new(a)
    }

    /// inv.yml: prod (two regions, tagged env:prod and team:core), dev (one region, env:dev),
    /// lab (no regions of its own, env:dev).
    fn inventory() -> Inventory {
        Inventory {
            path: PathBuf::from("inv.yml"),
            accounts: vec![
                account(
                    "111111111111",
                    "prod",
                    &["env:prod", "team:core"],
                    Some(&["eu-west-1", "us-east-1"]),
                    2,
                ),
                account("222222222222", "dev", &["env:dev"], Some(&["eu-west-1"]), 6),
                account("333333333333", "lab", &["env:dev", "team:core"], None, 9),
            ],
            warnings: vec![],
        }
    }

    fn names(s: &Selected) -> Vec<String> {
        s.targets
            .iter()
            .map(|t| format!("{}/{}", t.account.name, t.region))
            .collect()
    }

    /// The problems of a refused selection, as `ORIGIN[:LINE]: message`.
    fn refused(inv: &Inventory, sel: &Selection) -> Vec<String> {
        match select(inv, sel) {
            Ok(s) => panic!("selected {:?}", names(&s)),
            Err(InputError::Problems(ps)) => ps.iter().map(ToString::to_string).collect(),
            Err(other) => panic!("not a problem list: {other}"),
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accounts_by_name_or_id_and_not_accounts_keep_file_order() {
        let inv = inventory();
        let sel = Selection {
            accounts: strings(&["dev", "111111111111"]),
            ..Selection::default()
        };
        assert_eq!(
            names(&select(&inv, &sel).unwrap()),
            ["prod/eu-west-1", "prod/us-east-1", "dev/eu-west-1"],
            "file order, not the order of -a"
        );
        let sel = Selection {
            not_accounts: strings(&["prod", "333333333333"]),
            ..Selection::default()
        };
        assert_eq!(names(&select(&inv, &sel).unwrap()), ["dev/eu-west-1"]);
        let sel = Selection {
            accounts: strings(&["prod", "dev"]),
            not_accounts: strings(&["dev"]),
            ..Selection::default()
        };
        assert_eq!(
            names(&select(&inv, &sel).unwrap()),
            ["prod/eu-west-1", "prod/us-east-1"],
            "--not-accounts wins over -a"
        );
    }

    #[test]
    fn every_tag_must_match_and_r_replaces_the_regions() {
        let inv = inventory();
        let sel = Selection {
            tags: strings(&["env:dev", "team:core"]),
            regions: Some(Regions::List(vec![region("ap-south-1")])),
            ..Selection::default()
        };
        assert_eq!(names(&select(&inv, &sel).unwrap()), ["lab/ap-south-1"]);
        let sel = Selection {
            regions: Some(Regions::List(vec![
                region("us-west-2"),
                region("eu-west-1"),
            ])),
            ..Selection::default()
        };
        assert_eq!(
            names(&select(&inv, &sel).unwrap()),
            [
                "prod/us-west-2",
                "prod/eu-west-1",
                "dev/us-west-2",
                "dev/eu-west-1",
                "lab/us-west-2",
                "lab/eu-west-1",
            ]
        );
    }

    #[test]
    fn r_all_leaves_the_regions_to_each_account() {
        let inv = inventory();
        let sel = Selection {
            tags: strings(&["team:core"]),
            regions: Some(Regions::All),
            ..Selection::default()
        };
        let s = select(&inv, &sel).unwrap();
        assert!(s.targets.is_empty());
        let all: Vec<&str> = s.all_regions.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(all, ["prod", "lab"], "lab needs no regions of its own");
    }

    #[test]
    fn unknown_names_and_tags_are_every_one_named_with_a_hint() {
        let inv = inventory();
        let sel = Selection {
            accounts: strings(&["prdo", "dev"]),
            not_accounts: strings(&["999999999999"]),
            tags: strings(&["env:prd"]),
            ..Selection::default()
        };
        assert_eq!(
            refused(&inv, &sel),
            [
                "-a: no account \"prdo\" in inv.yml (did you mean \"prod\"?)",
                "--not-accounts: no account \"999999999999\" in inv.yml",
                "-t: the selection is empty: no account in inv.yml carries the tag \"env:prd\" (did you mean \"env:prod\"?)",
            ]
        );
        let e = select(&inv, &sel).unwrap_err();
        let InputError::Problems(ps) = e else {
            panic!("not a problem list")
        };
        assert!(matches!(ps[0].origin, Origin::Flag("-a")));
    }

    #[test]
    fn an_empty_selection_says_which_flags_left_nothing() {
        let inv = inventory();
        let sel = Selection {
            accounts: strings(&["dev"]),
            not_accounts: strings(&["dev"]),
            shard: None,
            ..Selection::default()
        };
        assert_eq!(
            refused(&inv, &sel),
            [
                "inv.yml: the selection is empty: none of the 3 accounts is left after -a dev --not-accounts dev"
            ]
        );
        let sel = Selection {
            regions: Some(Regions::List(vec![])),
            ..Selection::default()
        };
        assert_eq!(
            refused(&inv, &sel),
            ["inv.yml: the selection is empty: -r names no region"]
        );
    }

    #[test]
    fn an_account_with_no_regions_is_a_problem_at_its_line_unless_r_gives_them() {
        let inv = inventory();
        let sel = Selection {
            accounts: strings(&["lab", "dev"]),
            ..Selection::default()
        };
        assert_eq!(
            refused(&inv, &sel),
            [
                "inv.yml:9: account 333333333333 has no regions: add `regions:` to it or to the top of the file, or pass -r"
            ]
        );
    }

    #[test]
    fn events_decide_how_strict_a_selection_is() {
        let inv = inventory();
        // Narrowed by events afterwards: an empty result is nothing to do, unknown names still
        // an error.
        let empty = Selection {
            accounts: strings(&["dev"]),
            not_accounts: strings(&["dev"]),
            strictness: Strictness::EmptyOk,
            ..Selection::default()
        };
        assert!(select(&inv, &empty).unwrap().targets.is_empty());
        let unknown = Selection {
            accounts: strings(&["nope"]),
            strictness: Strictness::EmptyOk,
            ..Selection::default()
        };
        assert_eq!(refused(&inv, &unknown).len(), 1);
        // The events are the inventory: a name or tag not there selects nothing.
        let lenient = Selection {
            accounts: strings(&["nope", "dev"]),
            tags: strings(&["env:none"]),
            strictness: Strictness::Lenient,
            ..Selection::default()
        };
        assert!(select(&inv, &lenient).unwrap().targets.is_empty());
        let lenient = Selection {
            accounts: strings(&["nope", "dev"]),
            strictness: Strictness::Lenient,
            ..Selection::default()
        };
        assert_eq!(names(&select(&inv, &lenient).unwrap()), ["dev/eu-west-1"]);
    }

    #[test]
    fn shards_split_whole_accounts_and_cover_the_selection_once() {
        let inv = inventory();
        let r = || Some(Regions::List(vec![region("eu-west-1")]));
        let mut seen = vec![];
        for k in 1..=2 {
            let sel = Selection {
                regions: r(),
                shard: Some((k, 2)),
                ..Selection::default()
            };
            seen.extend(names(&select(&inv, &sel).unwrap()));
        }
        seen.sort();
        assert_eq!(seen, ["dev/eu-west-1", "lab/eu-west-1", "prod/eu-west-1"]);
        // Largest first to the lightest shard: prod (2 regions) alone, dev and lab together.
        let w = |id: &str, n| (AccountId::parse(id).unwrap(), n);
        let weights = [
            w("111111111111", 2),
            w("222222222222", 1),
            w("333333333333", 1),
        ];
        let first = shard_accounts(&weights, (1, 2));
        assert_eq!(first.len(), 1);
        assert!(first.contains(&weights[0].0));
        assert_eq!(shard_accounts(&weights, (2, 2)).len(), 2);
        // A shard with nothing left is the empty selection, naming --shard.
        let sel = Selection {
            accounts: strings(&["dev"]),
            shard: Some((2, 2)),
            ..Selection::default()
        };
        assert_eq!(
            refused(&inv, &sel),
            [
                "inv.yml: the selection is empty: none of the 3 accounts is left after -a dev --shard 2/2"
            ]
        );
    }
}
