//! An AWS Organization on the emulator, built the one way every test builds one: created by
//! the account the client signs as (the base credentials' by default, which moto puts in
//! [`MANAGEMENT`]), with organizational units, member accounts, tags and closed accounts.

use aws_config::BehaviorVersion;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{OrganizationFeatureSet, Tag};
use aws_sdk_ssm::config::Credentials;

use super::fixtures::{ACCESS_KEY, SECRET_KEY};

/// The base credentials' account: moto's default, the management account of the organization
/// they create.
pub const MANAGEMENT: &str = "123456789012";

/// An Organizations client on the base credentials (the binary's own).
pub async fn organizations(url: &str) -> Client {
    organizations_with(
        url,
        Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"),
    )
    .await
}

/// An Organizations client signing with these credentials.
pub async fn organizations_with(url: &str, credentials: Credentials) -> Client {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await;
    Client::new(&conf)
}

/// An organization being built: its client and its root.
pub struct Organization {
    pub client: Client,
    /// The root's id: where new accounts and top-level units are.
    pub root: String,
}

impl Organization {
    /// Creates the organization (all features) of the account `client` signs as; one per
    /// management account.
    pub async fn create(client: Client) -> Organization {
        client
            .create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await
            .expect("create the organization");
        let root = client.list_roots().send().await.unwrap().roots.unwrap()[0]
            .id
            .clone()
            .unwrap();
        Organization { client, root }
    }

    /// A new organizational unit under `parent` (an OU's id, or the root when `None`): its id.
    pub async fn create_ou(&self, name: &str, parent: Option<&str>) -> String {
        self.client
            .create_organizational_unit()
            .parent_id(parent.unwrap_or(&self.root))
            .name(name)
            .send()
            .await
            .unwrap()
            .organizational_unit
            .unwrap()
            .id
            .unwrap()
    }

    /// A new member account, in the root: its id.
    pub async fn create_account(&self, name: &str, email: &str) -> String {
        self.client
            .create_account()
            .account_name(name)
            .email(email)
            .send()
            .await
            .expect("a member account")
            .create_account_status
            .unwrap()
            .account_id
            .unwrap()
    }

    /// Moves an account from the root into this unit.
    pub async fn move_to(&self, account: &str, ou: &str) {
        self.client
            .move_account()
            .account_id(account)
            .source_parent_id(&self.root)
            .destination_parent_id(ou)
            .send()
            .await
            .unwrap();
    }

    /// Tags an account (`ssm-prefs:KEY` tags fill placeholders).
    pub async fn tag(&self, account: &str, key: &str, value: &str) {
        self.client
            .tag_resource()
            .resource_id(account)
            .tags(Tag::builder().key(key).value(value).build().unwrap())
            .send()
            .await
            .unwrap();
    }

    /// Removes an account's tag.
    pub async fn untag(&self, account: &str, key: &str) {
        self.client
            .untag_resource()
            .resource_id(account)
            .tag_keys(key)
            .send()
            .await
            .unwrap();
    }

    /// Closes an account (SUSPENDED, then gone from the tool's walk).
    pub async fn close(&self, account: &str) {
        self.client
            .close_account()
            .account_id(account)
            .send()
            .await
            .unwrap();
    }
}

/// An account's name as Organizations holds it.
pub async fn name_of(client: &Client, account: &str) -> String {
    client
        .describe_account()
        .account_id(account)
        .send()
        .await
        .unwrap()
        .account
        .unwrap()
        .name
        .unwrap()
}
