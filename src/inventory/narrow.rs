//! `--event`: the selection narrowed to what the events name — a new
//! account's targets, or the one region an account opted in.

use super::eventbridge::EventBridgeEvents;
use super::select::Selected;
use crate::target::Target;

/// Keeps the targets the events name: a new account's, and the one region an account opted
/// in where the selection holds it. `-r` (or the inventory's `regions:`) holds everywhere: an
/// opted-in region outside a `-r` list is nothing to do, as the daily run would leave it;
/// `-r all` holds every enabled region, so the one opted in is checked as named.
pub(crate) fn narrow(selected: Selected, events: &EventBridgeEvents) -> Selected {
    let new = |t: &Target| events.accounts.iter().any(|(a, _)| *a == t.account.id);
    let opted_in = |t: &Target| events.regions_of(&t.account.id).any(|r| *r == t.region);
    let mut out = Selected::default();
    for t in selected.targets {
        if new(&t) || opted_in(&t) {
            out.targets.push(t);
        }
    }
    for account in selected.all_regions {
        if events.accounts.iter().any(|(a, _)| *a == account.id) {
            out.all_regions.push(account);
        } else {
            out.targets
                .extend(events.regions_of(&account.id).map(|r| Target {
                    account: account.clone(),
                    region: r.clone(),
                }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Account;
    use crate::target::{AccountId, Region};
    use std::sync::Arc;

    fn account(id: &str) -> Arc<Account> {
        Arc::new(Account::new(AccountId::parse(id).unwrap(), 0))
    }

    fn region(name: &str) -> Region {
        Region::parse(name).unwrap()
    }

    fn targets(accounts: &[&Arc<Account>], regions: &[&str]) -> Vec<Target> {
        accounts
            .iter()
            .flat_map(|a| {
                regions.iter().map(|r| Target {
                    account: (*a).clone(),
                    region: region(r),
                })
            })
            .collect()
    }

    fn keys(s: &Selected) -> Vec<String> {
        let mut k: Vec<String> = s
            .targets
            .iter()
            .map(|t| format!("{}/{}", t.account.id, t.region))
            .chain(s.all_regions.iter().map(|a| format!("{}/all", a.id)))
            .collect();
        k.sort();
        k
    }

    fn events(new: &[&str], opted: &[(&str, &str)]) -> EventBridgeEvents {
        EventBridgeEvents {
            accounts: new
                .iter()
                .map(|id| (AccountId::parse(id).unwrap(), None))
                .collect(),
            regions: opted
                .iter()
                .map(|(id, r)| (AccountId::parse(id).unwrap(), region(r)))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_new_account_keeps_its_targets_and_a_region_opted_in_its_one() {
        let (a, b, c) = (
            account("111111111111"),
            account("222222222222"),
            account("333333333333"),
        );
        let ev = events(&["111111111111"], &[("222222222222", "eu-west-1")]);
        let sel = Selected {
            targets: targets(&[&a, &b, &c], &["us-east-1", "eu-west-1"]),
            all_regions: vec![],
        };
        assert_eq!(
            keys(&narrow(sel, &ev)),
            [
                "111111111111/eu-west-1",
                "111111111111/us-east-1",
                "222222222222/eu-west-1"
            ]
        );
    }

    #[test]
    fn with_r_all_a_new_account_keeps_all_and_an_opt_in_is_named() {
        let (a, b) = (account("111111111111"), account("222222222222"));
        let ev = events(&["111111111111"], &[("222222222222", "af-south-1")]);
        let sel = Selected {
            targets: vec![],
            all_regions: vec![a, b],
        };
        assert_eq!(
            keys(&narrow(sel, &ev)),
            ["111111111111/all", "222222222222/af-south-1"]
        );
    }

    #[test]
    fn a_region_outside_an_r_list_is_dropped() {
        let b = account("222222222222");
        let ev = events(&[], &[("222222222222", "af-south-1")]);
        let sel = || Selected {
            targets: targets(&[&b], &["us-east-1"]),
            all_regions: vec![],
        };
        assert!(keys(&narrow(sel(), &ev)).is_empty());
        // In the list: its one target.
        let ev = events(&[], &[("222222222222", "us-east-1")]);
        assert_eq!(keys(&narrow(sel(), &ev)), ["222222222222/us-east-1"]);
        // New and opted in: its -r targets, each once; the region outside -r is not added.
        let ev = events(&["222222222222"], &[("222222222222", "af-south-1")]);
        assert_eq!(keys(&narrow(sel(), &ev)), ["222222222222/us-east-1"]);
    }
}
