//! The emulator harness is real: roles assumed through STS land in separate accounts.

use crate::support::emulator::emulator;
use crate::support::fixtures::{AWS_PAGE_EXAMPLE, accounts, default_doc, seed, ssm_in};

#[tokio::test]
async fn assumed_roles_act_in_separate_accounts() {
    let url = &emulator().url;
    let ids = accounts(2);
    let a = ssm_in(url, &ids[0], "eu-west-1").await;
    let b = ssm_in(url, &ids[1], "eu-west-1").await;
    seed(url, &ids[0], "eu-west-1", "HarnessDoc", AWS_PAGE_EXAMPLE).await;
    let (version, content) = default_doc(&a, "HarnessDoc")
        .await
        .expect("the first account has it");
    assert_eq!(version, "1");
    assert_eq!(content, AWS_PAGE_EXAMPLE);
    assert!(
        default_doc(&b, "HarnessDoc").await.is_none(),
        "the second account must not see the first's document"
    );
    // And the same account in another region does not have it either.
    let a_other_region = ssm_in(url, &ids[0], "us-west-2").await;
    assert!(default_doc(&a_other_region, "HarnessDoc").await.is_none());
}
