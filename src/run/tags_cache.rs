//! `--org-tags-cache` (and Lambda mode's, in its reports bucket): the organization's account
//! tags read before the walk, which of them the walk takes as they are, and the cache stored
//! again with what the walk read.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::aws::objects;
use crate::aws::organizations::Discovery;
use crate::aws::session::Session;
use crate::inventory::OrgTags;
use crate::model::Reason;
use crate::settings::OrgTagsCache;
use crate::terminal::printer::Printer;
use crate::words::count;

/// The cache as stored. Not there yet: empty. Unreadable: empty, said in a warning — every
/// tag is then read, as without a cache.
pub(crate) async fn load(printer: &Printer, session: &Session, cache: &OrgTagsCache) -> OrgTags {
    let bytes = match objects::s3_uri(&cache.at) {
        Some((bucket, key)) => {
            let endpoint = session.endpoint("S3", None);
            match objects::read(&session.objects(), &endpoint, bucket, key).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if matches!(&e.reason, Reason::Aws(c) if c == "NoSuchKey") => Ok(None),
                Err(e) => Err(format!("{}: {}", e.reason, e.message)),
            }
        }
        None => match std::fs::read(&cache.at) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        },
    };
    let (tags, why) = match bytes {
        Ok(Some(bytes)) => OrgTags::parse(&bytes),
        Ok(None) => (OrgTags::default(), None),
        Err(e) => (
            OrgTags::default(),
            Some(format!("cannot be read ({e}): every tag is read again")),
        ),
    };
    if let Some(why) = why {
        printer.warn(&format!("--org-tags-cache {}: {why}", cache.at));
    }
    tags
}

/// The tags the walk takes as they are: every cached account's but the `refresh` read
/// longest ago, and the `fresh` (an event says their tags changed).
pub(crate) fn known(
    tags: &OrgTags,
    refresh: usize,
    fresh: &[String],
) -> BTreeMap<String, Vec<(String, String)>> {
    let stale: std::collections::HashSet<String> = tags.stalest(refresh).into_iter().collect();
    tags.accounts()
        .filter(|(id, _)| !stale.contains(*id) && !fresh.contains(id))
        .map(|(id, e)| (id.clone(), e.tags.clone()))
        .collect()
}

/// The cache with what the walk read, stored whole (a file persisted into place; an object
/// put). After a walk of the whole organization, the accounts it no longer holds are
/// dropped. A cache that cannot be stored is a warning: the run goes on, and the next one
/// reads those tags again.
pub(crate) async fn store(
    printer: &Printer,
    session: &Session,
    cache: &OrgTagsCache,
    mut tags: OrgTags,
    found: &Discovery,
    whole_organization: bool,
) {
    let now = now();
    let mut read = 0;
    for a in &found.accounts {
        if let Some(pairs) = &a.tags_read {
            tags.set(&a.id, pairs.clone(), now);
            read += 1;
        }
    }
    let dropped = if whole_organization && found.walk.complete {
        tags.keep_only(found.accounts.iter().map(|a| a.id.as_str()))
    } else {
        0
    };
    let line = format!(
        "the tags of {} taken from the cache, {} read{}",
        count(found.walk.tags_cached, "account"),
        read,
        match dropped {
            0 => String::new(),
            n => format!(
                ", {} gone from the organization dropped",
                count(n, "account")
            ),
        },
    );
    save(printer, session, cache, &tags, &line).await;
}

/// `--event` alone: the tags of the events' accounts, read now, set in the cache (the others
/// kept as they are).
pub(crate) async fn update(
    printer: &Printer,
    session: &Session,
    cache: &OrgTagsCache,
    read: Vec<(String, Vec<(String, String)>)>,
) {
    let mut tags = load(printer, session, cache).await;
    let (n, now) = (read.len(), now());
    for (id, pairs) in read {
        tags.set(&id, pairs, now);
    }
    let line = format!("the tags of {} read again", count(n, "account"));
    save(printer, session, cache, &tags, &line).await;
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The cache stored whole (a file persisted into place; an object put), said in a line
/// after `what`; one that cannot be stored is a warning.
async fn save(
    printer: &Printer,
    session: &Session,
    cache: &OrgTagsCache,
    tags: &OrgTags,
    what: &str,
) {
    let json = tags.to_json();
    let stored = match objects::s3_uri(&cache.at) {
        Some(at) => {
            let endpoint = session.endpoint("S3", None);
            let body = aws_sdk_s3::primitives::ByteStream::from(json.into_bytes());
            objects::write(&session.objects(), &endpoint, at, body, "application/json")
                .await
                .map_err(|e| format!("{}: {}", e.reason, e.message))
        }
        None => crate::files::replace(std::path::Path::new(&cache.at), json.as_bytes())
            .map_err(|e| e.to_string()),
    };
    match stored {
        Ok(()) => printer.note(&format!(
            "--org-tags-cache {}: {what}; {} kept",
            cache.at,
            count(tags.len(), "account"),
        )),
        Err(e) => printer.warn(&format!(
            "--org-tags-cache {}: cannot be stored ({e}): the next run reads these tags again",
            cache.at
        )),
    }
}
