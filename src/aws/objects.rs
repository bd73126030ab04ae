//! S3 objects read with the base credentials: a preferences file given as `s3://BUCKET/KEY`.

use aws_sdk_s3::Client;

use crate::aws::error::target_error;
use crate::aws::session::Session;
use crate::model::TargetError;

impl Session {
    /// An S3 client with the base credentials, in the base region.
    pub(crate) fn objects(&self) -> Client {
        s3_client(self.base())
    }
}

/// An S3 client of this config (the base one, or an account's for preflight).
pub(crate) fn s3_client(conf: &aws_config::SdkConfig) -> Client {
    let mut s3 = aws_sdk_s3::config::Builder::from(conf);
    // An endpoint override (an emulator) has no per-bucket host names.
    if conf.endpoint_url().is_some() {
        s3.set_force_path_style(Some(true));
    }
    Client::from_conf(s3.build())
}

/// `s3://BUCKET/KEY` read as the settings read it (src/names.rs).
pub(crate) use crate::names::s3_uri;

/// The object's bytes. Asked in the base region first; a bucket elsewhere answers with a
/// redirect naming its region (`x-amz-bucket-region`), where it is asked again.
pub(crate) async fn read(
    s3: &Client,
    endpoint: &str,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, TargetError> {
    let get = |region: Option<String>| {
        let mut req = s3.get_object().bucket(bucket).key(key).customize();
        if let Some(region) = region {
            req = req.config_override(
                aws_sdk_s3::config::Builder::default().region(aws_config::Region::new(region)),
            );
        }
        req.send()
    };
    let answer = match get(None).await {
        Ok(answer) => answer,
        Err(e) => {
            let elsewhere = e.raw_response().and_then(|r| {
                (r.status().as_u16() == 301)
                    .then(|| r.headers().get("x-amz-bucket-region"))
                    .flatten()
                    .map(str::to_string)
            });
            match elsewhere {
                Some(region) => get(Some(region))
                    .await
                    .map_err(|e| target_error(e, endpoint))?,
                None => return Err(target_error(e, endpoint)),
            }
        }
    };
    let body = answer.body.collect().await.map_err(|e| {
        TargetError::new(
            crate::model::Reason::ResponseError,
            format!("the object's body could not be read: {e}"),
        )
    })?;
    Ok(body.into_bytes().to_vec())
}

/// Lambda mode: whether the reports' bucket can be written to, asked before the run (a
/// HeadBucket, which needs s3:ListBucket on it), so that a run is never made whose reports
/// have nowhere to go.
pub(crate) async fn check_bucket(
    s3: &Client,
    endpoint: &str,
    bucket: &str,
) -> Result<(), TargetError> {
    s3.head_bucket()
        .bucket(bucket)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| target_error(e, endpoint))
}

/// Lambda mode: one report stored as an object, encrypted with the bucket's default key. A
/// file is streamed from disk (`ByteStream::from_path`): a large fleet's report is not held
/// in memory to be sent.
pub(crate) async fn write(
    s3: &Client,
    endpoint: &str,
    (bucket, key): (&str, &str),
    body: aws_sdk_s3::primitives::ByteStream,
    content_type: &str,
) -> Result<(), TargetError> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(body)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| target_error(e, endpoint))
}
