//! The organization's account tags kept between runs (`--org-tags-cache`): each account's
//! tags and when they were read, and which to read again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The file's format version: a cache of another version is read as empty (every tag read
/// again), never misread.
const VERSION: u32 = 1;

/// Each account's tags as last read, by account id.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OrgTags {
    version: u32,
    accounts: BTreeMap<String, Entry>,
}

/// One account's tags (key, value) and when they were read (seconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub tags: Vec<(String, String)>,
    pub read_at: u64,
}

impl OrgTags {
    /// The cache as stored. Unreadable or of another version: empty, and why, so the run reads
    /// every account's tags again rather than trusting a file it cannot read.
    pub(crate) fn parse(bytes: &[u8]) -> (OrgTags, Option<String>) {
        match serde_json::from_slice::<OrgTags>(bytes) {
            Ok(tags) if tags.version == VERSION => (tags, None),
            Ok(tags) => (
                OrgTags::default(),
                Some(format!(
                    "version {} (this build reads {VERSION}): every tag is read again",
                    tags.version
                )),
            ),
            Err(e) => (
                OrgTags::default(),
                Some(format!("not a tags cache ({e}): every tag is read again")),
            ),
        }
    }

    pub(crate) fn to_json(&self) -> String {
        let stored = OrgTags {
            version: VERSION,
            accounts: self.accounts.clone(),
        };
        serde_json::to_string(&stored).expect("a map of strings serializes")
    }

    pub(crate) fn len(&self) -> usize {
        self.accounts.len()
    }

    pub(crate) fn accounts(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.accounts.iter()
    }

    #[cfg(test)]
    pub(crate) fn get(&self, account: &str) -> Option<&Entry> {
        self.accounts.get(account)
    }

    /// The tags just read for an account.
    pub(crate) fn set(&mut self, account: &str, tags: Vec<(String, String)>, now: u64) {
        self.accounts
            .insert(account.to_string(), Entry { tags, read_at: now });
    }

    /// The accounts whose cached tags are read again this run, however fresh: the `refresh`
    /// read longest ago (ties by id, so runs agree). With an event per tag change, this only
    /// catches a change whose event was lost; over `len / refresh` runs every entry is read
    /// again.
    pub(crate) fn stalest(&self, refresh: usize) -> Vec<String> {
        let mut by_age: Vec<(&u64, &String)> = self
            .accounts
            .iter()
            .map(|(id, e)| (&e.read_at, id))
            .collect();
        by_age.sort();
        by_age
            .into_iter()
            .take(refresh)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// The entries of accounts no longer in the organization are dropped (only after a walk
    /// of the whole organization found every account).
    pub(crate) fn keep_only<'a>(&mut self, found: impl IntoIterator<Item = &'a str>) -> usize {
        let found: std::collections::HashSet<&str> = found.into_iter().collect();
        let before = self.accounts.len();
        self.accounts.retain(|id, _| found.contains(id.as_str()));
        before - self.accounts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_cache_reads_back_what_it_stored() {
        let mut cache = OrgTags::default();
        cache.set(
            "111111111111",
            tags(&[("ssm-prefs:log_bucket", "b-1")]),
            100,
        );
        cache.set("222222222222", vec![], 200);
        let (back, why) = OrgTags::parse(cache.to_json().as_bytes());
        assert_eq!(why, None);
        assert_eq!(back.len(), 2);
        assert_eq!(
            back.get("111111111111").unwrap().tags,
            tags(&[("ssm-prefs:log_bucket", "b-1")])
        );
        assert_eq!(back.get("222222222222").unwrap().read_at, 200);
    }

    #[test]
    fn an_unreadable_or_other_version_cache_is_empty_and_says_why() {
        let (cache, why) = OrgTags::parse(b"{not json");
        assert_eq!(cache.len(), 0);
        assert!(why.unwrap().starts_with("not a tags cache"));
        let (cache, why) =
            OrgTags::parse(br#"{"version":9,"accounts":{"111111111111":{"tags":[],"read_at":1}}}"#);
        assert_eq!(cache.len(), 0);
        assert_eq!(
            why.as_deref(),
            Some("version 9 (this build reads 1): every tag is read again")
        );
    }

    #[test]
    fn the_stalest_entries_are_read_again_oldest_first_and_forgotten_ones_at_once() {
        let mut cache = OrgTags::default();
        for (id, at) in [
            ("333333333333", 30),
            ("111111111111", 10),
            ("222222222222", 10),
        ] {
            cache.set(id, vec![], at);
        }
        assert_eq!(cache.stalest(2), ["111111111111", "222222222222"]);
        assert_eq!(cache.stalest(0), Vec::<String>::new());
        assert_eq!(cache.stalest(9).len(), 3);
        assert_eq!(cache.keep_only(["222222222222"]), 2);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get("111111111111"), None);
    }
}
