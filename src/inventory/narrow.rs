//! `--event` with `-i` or `--org`: the selection narrowed to what the events name — a new
//! account's targets, or the one region an account opted in.

use std::sync::Arc;

use super::eventbridge::EventBridgeEvents;
use super::select::Selected;
use crate::target::{Account, Target};

/// Keeps the targets the events name. `alone`: the events are the inventory, so a region an
/// account opted in is its target whatever `-r` says; with `-i` or `--org`, that region
/// must be in the selection (`-r all` holds it once it is enabled).
pub(crate) fn narrow(selected: Selected, events: &EventBridgeEvents, alone: bool) -> Selected {
    let new = |t: &Target| events.accounts.iter().any(|(a, _)| *a == t.account.id);
    let opted_in = |t: &Target| events.regions_of(&t.account.id).any(|r| *r == t.region);
    let mut accounts: Vec<Arc<Account>> = vec![];
    for a in selected.targets.iter().map(|t| &t.account) {
        if !accounts.iter().any(|b| b.id == a.id) {
            accounts.push(a.clone());
        }
    }
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
            // `-r all` holds every enabled region: the one opted in is checked as named.
            out.targets
                .extend(events.regions_of(&account.id).map(|r| Target {
                    account: account.clone(),
                    region: r.clone(),
                }));
        }
    }
    if alone {
        for account in accounts {
            for region in events.regions_of(&account.id) {
                let has = out
                    .targets
                    .iter()
                    .any(|t| t.account.id == account.id && t.region == *region);
                if !has && !out.all_regions.iter().any(|a| a.id == account.id) {
                    out.targets.push(Target {
                        account: account.clone(),
                        region: region.clone(),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{AccountId, Region};

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
            keys(&narrow(sel, &ev, false)),
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
            keys(&narrow(sel, &ev, false)),
            ["111111111111/all", "222222222222/af-south-1"]
        );
    }

    #[test]
    fn a_region_outside_r_is_dropped_unless_the_events_are_the_inventory() {
        let b = account("222222222222");
        let ev = events(&[], &[("222222222222", "af-south-1")]);
        let sel = || Selected {
            targets: targets(&[&b], &["us-east-1"]),
            all_regions: vec![],
        };
        assert!(keys(&narrow(sel(), &ev, false)).is_empty());
        assert_eq!(keys(&narrow(sel(), &ev, true)), ["222222222222/af-south-1"]);
        // New and opted in: its -r targets and the region, each once.
        let ev = events(&["222222222222"], &[("222222222222", "af-south-1")]);
        assert_eq!(
            keys(&narrow(sel(), &ev, true)),
            ["222222222222/af-south-1", "222222222222/us-east-1"]
        );
        let ev = events(&["222222222222"], &[("222222222222", "us-east-1")]);
        assert_eq!(keys(&narrow(sel(), &ev, true)), ["222222222222/us-east-1"]);
    }
}
