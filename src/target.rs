//! Target identity: AccountId (always 12 digits), Region (a known AWS region, with its
//! partition), the Account an inventory describes, and the Target (account × region).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 12-digit AWS account id. Kept as text so leading zeros survive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct AccountId(String);

impl AccountId {
    /// Parses an account id as written, explaining the usual ways it goes wrong.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("account_id is empty".into());
        }
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "account_id {t:?} is not 12 digits: it has characters other than digits"
            ));
        }
        if t.len() < 12 {
            return Err(format!(
                "account_id {t:?} has {} digits, not 12 (did a spreadsheet drop {} leading zero{}? it would be {:0>12}: quote it in YAML, format the column as text in a spreadsheet)",
                t.len(),
                12 - t.len(),
                if 12 - t.len() == 1 { "" } else { "s" },
                t
            ));
        }
        if t.len() > 12 {
            return Err(format!("account_id {t:?} has {} digits, not 12", t.len()));
        }
        Ok(Self(t.to_string()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// (region, partition, enabled by default) for every region the tool knows.
const REGIONS: &[(&str, &str, bool)] = &[
    ("us-east-1", "aws", true),
    ("us-east-2", "aws", true),
    ("us-west-1", "aws", true),
    ("us-west-2", "aws", true),
    ("ca-central-1", "aws", true),
    ("sa-east-1", "aws", true),
    ("eu-west-1", "aws", true),
    ("eu-west-2", "aws", true),
    ("eu-west-3", "aws", true),
    ("eu-central-1", "aws", true),
    ("eu-north-1", "aws", true),
    ("ap-south-1", "aws", true),
    ("ap-northeast-1", "aws", true),
    ("ap-northeast-2", "aws", true),
    ("ap-northeast-3", "aws", true),
    ("ap-southeast-1", "aws", true),
    ("ap-southeast-2", "aws", true),
    ("af-south-1", "aws", false),
    ("ap-east-1", "aws", false),
    ("ap-east-2", "aws", false),
    ("ap-south-2", "aws", false),
    ("ap-southeast-3", "aws", false),
    ("ap-southeast-4", "aws", false),
    ("ap-southeast-5", "aws", false),
    ("ap-southeast-6", "aws", false),
    ("ap-southeast-7", "aws", false),
    ("ca-west-1", "aws", false),
    ("eu-central-2", "aws", false),
    ("eu-south-1", "aws", false),
    ("eu-south-2", "aws", false),
    ("il-central-1", "aws", false),
    ("me-central-1", "aws", false),
    ("me-south-1", "aws", false),
    ("mx-central-1", "aws", false),
    ("cn-north-1", "aws-cn", true),
    ("cn-northwest-1", "aws-cn", true),
    ("us-gov-west-1", "aws-us-gov", true),
    ("us-gov-east-1", "aws-us-gov", true),
];

/// A known AWS region name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region(&'static str);

impl Region {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        match REGIONS
            .iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(t))
        {
            Some((name, _, _)) => Ok(Self(name)),
            None => {
                let hint = crate::suggest::did_you_mean(t, REGIONS.iter().map(|r| r.0));
                Err(format!("unknown region {t:?}{hint}"))
            }
        }
    }

    /// The region's name (`eu-west-1`).
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// Every known region, in the table's order.
    pub fn all() -> impl Iterator<Item = Region> {
        REGIONS.iter().map(|r| Region(r.0))
    }

    /// An opt-in region: an account has it only once someone enabled it.
    pub fn opt_in(&self) -> bool {
        REGIONS.iter().find(|r| r.0 == self.0).is_some_and(|r| !r.2)
    }

    /// The partition whose ARNs and endpoints this region uses.
    pub fn partition(&self) -> &'static str {
        REGIONS
            .iter()
            .find(|r| r.0 == self.0)
            .map(|r| r.1)
            .unwrap_or("aws")
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Both are text checked once: `str::parse` and serde (a report's cells) go through `parse`,
/// so a report's malformed id or unknown region is an error saying what is wrong with it;
/// `String::from` is for the SDK's builders, which take `impl Into<String>`.
macro_rules! checked_text {
    ($($t:ty),*) => {$(
        impl FromStr for $t {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                Self::parse(text)
            }
        }

        impl From<&$t> for String {
            fn from(value: &$t) -> Self {
                value.as_str().to_string()
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(D::Error::custom)
            }
        }
    )*};
}
checked_text!(AccountId, Region);

/// One account as the inventory describes it.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub id: AccountId,
    pub name: String,
    /// The account's own regions, else the file's default; `None` when neither says.
    pub regions: Option<Vec<Region>>,
    /// Roles to assume in turn (names or ARNs); empty means `--role-name`.
    pub roles: Vec<String>,
    pub external_id: Option<String>,
    /// A named profile whose credentials are used (before any role).
    pub profile: Option<String>,
    pub tags: Vec<String>,
    pub vars: BTreeMap<String, String>,
    pub email: Option<String>,
    /// `--org`: the account the base credentials belong to (the management account or a
    /// delegated administrator), reached with those credentials rather than a role.
    pub base_credentials: bool,
    /// Why the account's name is not known (an event redacts it, and Organizations could not
    /// be asked): `name` is then its id, which `{account_name}` must never be filled with.
    pub name_unknown: Option<String>,
    /// Why the account's Organizations tags are not known (`--event` alone, and
    /// `ListTagsForResource` failed): a placeholder a tag may fill must never take another value.
    pub tags_unknown: Option<String>,
    /// Where the inventory defines it (0 when it comes from elsewhere, such as a report).
    pub line: usize,
}

impl Account {
    /// An account known by its id alone, named by it: the inventory's keys fill the rest.
    pub(crate) fn new(id: AccountId, line: usize) -> Self {
        Self {
            name: id.to_string(),
            id,
            regions: None,
            roles: vec![],
            external_id: None,
            profile: None,
            tags: vec![],
            vars: BTreeMap::new(),
            email: None,
            base_credentials: false,
            name_unknown: None,
            tags_unknown: None,
            line,
        }
    }
}

/// One (account, region): the unit that gets one report row.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub account: Arc<Account>,
    pub region: Region,
}

impl Target {
    pub(crate) fn account_id(&self) -> &AccountId {
        &self.account.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        assert_eq!(
            AccountId::parse("012345678901").unwrap().as_str(),
            "012345678901"
        );
        let e = AccountId::parse("12345678901").unwrap_err();
        assert!(
            e.contains("11 digits") && e.contains("012345678901: quote it"),
            "{e}"
        );
        assert!(
            AccountId::parse("1234-5678-9012")
                .unwrap_err()
                .contains("other than digits")
        );
    }

    #[test]
    fn regions_and_partitions() {
        assert_eq!(Region::parse("eu-west-1").unwrap().partition(), "aws");
        assert_eq!(Region::parse("cn-north-1").unwrap().partition(), "aws-cn");
        assert_eq!(
            Region::parse("us-gov-west-1").unwrap().partition(),
            "aws-us-gov"
        );
        assert!(
            Region::parse("us-east-3")
                .unwrap_err()
                .contains("did you mean")
        );
    }
}
