//! Staged rollout: `--waves` and `--canary` → which accounts each wave holds. Waves are
//! cumulative shares of the selected accounts, an account is in exactly one wave (all its
//! regions together), and the order is deterministic: the canary accounts first, as named,
//! then the others in inventory order.

use std::collections::HashMap;
use std::sync::Arc;

use crate::target::{Account, AccountId};

/// One stage of `--waves`: a count of accounts or a share of them, cumulative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stage {
    Accounts(usize),
    Percent(f64),
}

/// `--waves 1,10%,50%,100%`: cumulative, growing, ending with every account.
pub(crate) fn parse_spec(spec: &str) -> Result<Vec<Stage>, String> {
    let mut stages = vec![];
    for part in spec.split(',').map(str::trim) {
        let stage = match part.strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(v) if v > 0.0 && v <= 100.0 => Stage::Percent(v),
                _ => {
                    return Err(format!(
                        "{part:?} is not a share from 0% (excluded) to 100%"
                    ));
                }
            },
            None => match part.parse::<usize>() {
                Ok(n) if n > 0 => Stage::Accounts(n),
                _ => {
                    return Err(format!(
                        "{part:?} is not a number of accounts (1, 2, …) or a share (10%)"
                    ));
                }
            },
        };
        stages.push(stage);
    }
    if stages.last() != Some(&Stage::Percent(100.0)) {
        return Err(format!(
            "{spec:?} must end with 100%: every selected account is in a wave (select fewer accounts with -a, -t or --shard)"
        ));
    }
    Ok(stages)
}

/// The accounts of each wave, in order; empty waves (a share that adds no account) are left
/// out. `accounts` is the selection in inventory order; `canary` (already checked to be in
/// it) is the first wave, and the stages then continue from there.
fn split(accounts: &[AccountId], stages: &[Stage], canary: &[AccountId]) -> Vec<Vec<AccountId>> {
    let total = accounts.len();
    let mut order: Vec<AccountId> = canary.to_vec();
    order.extend(accounts.iter().filter(|a| !canary.contains(a)).cloned());
    let mut waves: Vec<Vec<AccountId>> = vec![];
    let mut done = 0;
    if !canary.is_empty() {
        waves.push(order[..canary.len()].to_vec());
        done = canary.len();
    }
    for stage in stages {
        let upto = match *stage {
            Stage::Accounts(n) => n,
            // Rounded up: 10% of 5 accounts is 1 account, not none.
            Stage::Percent(p) => (total as f64 * p / 100.0).ceil() as usize,
        }
        .min(total);
        if upto > done {
            waves.push(order[done..upto].to_vec());
            done = upto;
        }
    }
    waves
}

/// The run's waves: each wave's accounts, and the wave of every account (from 1).
#[derive(Debug)]
pub(crate) struct WavePlan {
    /// The flags that asked for the waves, as given, for the summary.
    pub spec: String,
    pub waves: Vec<Vec<Arc<Account>>>,
    of: HashMap<String, usize>,
}

impl WavePlan {
    /// `accounts`: every selected account; they are taken in inventory order. `canary`: ids
    /// or names, each of which must be selected.
    pub(crate) fn new(
        spec: &str,
        stages: &[Stage],
        canary: &[String],
        accounts: &[Arc<Account>],
    ) -> Result<Self, String> {
        let mut ordered = accounts.to_vec();
        ordered.sort_by(|a, b| (a.line, &a.id).cmp(&(b.line, &b.id)));
        let mut chosen: Vec<AccountId> = vec![];
        for name in canary {
            let found = ordered
                .iter()
                .find(|a| a.id.as_str() == name || a.name == *name)
                .ok_or_else(|| {
                    format!(
                        "--canary {name:?} is not a selected account{}",
                        crate::suggest::did_you_mean(name, ordered.iter().map(|a| a.name.as_str()))
                    )
                })?;
            if !chosen.contains(&found.id) {
                chosen.push(found.id.clone());
            }
        }
        let ids: Vec<AccountId> = ordered.iter().map(|a| a.id.clone()).collect();
        let by_id: HashMap<&AccountId, &Arc<Account>> =
            ordered.iter().map(|a| (&a.id, a)).collect();
        let waves: Vec<Vec<Arc<Account>>> = split(&ids, stages, &chosen)
            .into_iter()
            .map(|w| w.iter().map(|id| by_id[id].clone()).collect())
            .collect();
        let of = waves
            .iter()
            .enumerate()
            .flat_map(|(i, w)| w.iter().map(move |a| (a.id.to_string(), i + 1)))
            .collect();
        Ok(Self {
            spec: spec.to_string(),
            waves,
            of,
        })
    }

    /// The wave (from 1) an account is in.
    pub(crate) fn wave_of(&self, account_id: &str) -> Option<usize> {
        self.of.get(account_id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<AccountId> {
        (0..n)
            .map(|i| AccountId::parse(&format!("{:012}", 100_000_000_000usize + i)).unwrap())
            .collect()
    }

    #[test]
    fn forty_accounts_in_one_then_a_quarter_then_the_rest() {
        let stages = parse_spec("1,25%,100%").unwrap();
        let waves = split(&ids(40), &stages, &[]);
        let sizes: Vec<usize> = waves.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1, 9, 30]);
        assert_eq!(waves[0], ids(1));
    }

    #[test]
    fn the_canary_goes_first_and_shares_count_from_all() {
        let all = ids(10);
        let canary = vec![all[7].clone(), all[3].clone()];
        let waves = split(&all, &parse_spec("50%,100%").unwrap(), &canary);
        assert_eq!(waves[0], canary);
        assert_eq!(waves[1].len(), 3);
        assert_eq!(waves[2].len(), 5);
        let mut every: Vec<AccountId> = waves.concat();
        every.sort();
        assert_eq!(every, all, "each account in exactly one wave");
    }

    #[test]
    fn specs_that_cannot_work_are_refused() {
        for bad in ["", "0", "10%,50%", "1,0%,100%", "x,100%", "150%", "-1,100%"] {
            assert!(parse_spec(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            split(&ids(3), &parse_spec("10%,100%").unwrap(), &[]).len(),
            2
        );
    }
}
