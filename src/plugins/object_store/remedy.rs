//! The fixes an object-store failure prints: the provider's own command to create a missing
//! bucket or container, and the access the datanode's credential needs, filled with the
//! store's real names (never a secret). Command lines start with `$ ` (see the text report).

use super::{StoreConfig, StoreType};

/// Actions GreptimeDB's object store layer uses on objects under its root (multipart writes
/// included), and on the bucket (listing).
const S3_OBJECT_ACTIONS: &[&str] = &[
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
];

fn nonempty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// `root` as an object-key prefix: no leading slash, a trailing one unless empty.
fn key_prefix(store: &StoreConfig) -> String {
    let root = nonempty(&store.root).unwrap_or("").trim_matches('/');
    if root.is_empty() {
        String::new()
    } else {
        format!("{root}/")
    }
}

/// The hint for a bucket (container) that does not exist: the command that creates it.
pub(super) fn missing_container_hint(store: &StoreConfig) -> String {
    let bucket = nonempty(&store.bucket).unwrap_or("<bucket>");
    let endpoint = nonempty(&store.endpoint);
    let command = match store.kind {
        StoreType::S3 => {
            let mut line = format!("aws s3api create-bucket --bucket {bucket}");
            match nonempty(&store.region) {
                Some(region) if region != "us-east-1" => line.push_str(&format!(
                    " --region {region} --create-bucket-configuration \
                     LocationConstraint={region}"
                )),
                _ => {}
            }
            if let Some(endpoint) = endpoint {
                line.push_str(&format!(" --endpoint-url {endpoint}"));
            }
            line
        }
        StoreType::Oss => {
            let mut line = format!("ossutil mb oss://{bucket}");
            if let Some(endpoint) = endpoint {
                line.push_str(&format!(" --endpoint {endpoint}"));
            }
            line
        }
        StoreType::Azblob => {
            let container = nonempty(&store.container).unwrap_or("<container>");
            let mut line = format!("az storage container create --name {container}");
            if let Some(account) = nonempty(&store.account_name) {
                line.push_str(&format!(" --account-name {account}"));
            }
            if let Some(endpoint) = endpoint {
                line.push_str(&format!(" --blob-endpoint {endpoint}"));
            }
            line
        }
        StoreType::Gcs => format!("gcloud storage buckets create gs://{bucket}"),
        StoreType::File => return "create the directory or fix `data_home`".into(),
    };
    let key = if store.kind == StoreType::Azblob {
        "container"
    } else {
        "bucket"
    };
    format!(
        "create it, or fix `{key}` (and `endpoint`/`region` if it lives elsewhere); GreptimeDB \
         does not create it:\n$ {command}"
    )
}

/// The hint for a request the store refused: the access GreptimeDB needs, as the provider
/// grants it.
pub(super) fn permission_hint(store: &StoreConfig) -> String {
    let bucket = nonempty(&store.bucket).unwrap_or("<bucket>");
    let prefix = key_prefix(store);
    let under = if prefix.is_empty() {
        "the whole bucket".to_string()
    } else {
        format!("`{prefix}`")
    };
    match store.kind {
        StoreType::S3 => format!(
            "allow the credential GreptimeDB's actions on `{bucket}` under {under} (an IAM \
             policy on its user or role; `aws iam get-access-key-last-used --access-key-id <id>` \
             names the user):\n$ aws iam put-user-policy --user-name <user> --policy-name \
             greptimedb-{bucket} --policy-document '{}'",
            s3_policy(bucket, &prefix)
        ),
        StoreType::Oss => format!(
            "allow the RAM user oss:PutObject, oss:GetObject, oss:DeleteObject, \
             oss:AbortMultipartUpload on acs:oss:*:*:{bucket}/{prefix}* and oss:ListObjects on \
             acs:oss:*:*:{bucket}"
        ),
        StoreType::Azblob => {
            let container = nonempty(&store.container).unwrap_or("<container>");
            let account = nonempty(&store.account_name).unwrap_or("<account>");
            let sas = if nonempty(&store.sas_token).is_some() {
                "`sas_token` needs the permissions racwdl (read, add, create, write, delete, \
                 list) on the container; or "
            } else {
                ""
            };
            format!(
                "{sas}give the identity the role Storage Blob Data Contributor on the \
                 container:\n$ az role assignment create --role \"Storage Blob Data \
                 Contributor\" --assignee <identity> --scope \
                 \"/subscriptions/<subscription>/resourceGroups/<group>/providers/\
                 Microsoft.Storage/storageAccounts/{account}/blobServices/default/containers/\
                 {container}\""
            )
        }
        StoreType::Gcs => format!(
            "give the service account roles/storage.objectAdmin on the bucket:\n$ gcloud \
             storage buckets add-iam-policy-binding gs://{bucket} \
             --member=serviceAccount:<service account email> --role=roles/storage.objectAdmin"
        ),
        StoreType::File => "give the datanode's user write access to `data_home`".into(),
    }
}

/// An IAM policy granting GreptimeDB's object actions under `prefix` and listing the bucket.
fn s3_policy(bucket: &str, prefix: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": S3_OBJECT_ACTIONS,
                "Resource": format!("arn:aws:s3:::{bucket}/{prefix}*"),
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": format!("arn:aws:s3:::{bucket}"),
            }
        ]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(v: serde_json::Value) -> StoreConfig {
        serde_json::from_value(v).unwrap()
    }

    fn command(hint: &str) -> &str {
        hint.lines()
            .find_map(|l| l.strip_prefix("$ "))
            .expect("a command line")
    }

    #[test]
    fn create_bucket_commands_name_the_store() {
        let s3 = store(
            serde_json::json!({"type": "S3", "bucket": "gt", "root": "/data",
            "region": "eu-west-1", "endpoint": "http://minio:9000",
            "access_key_id": "AK", "secret_access_key": "topsecret"}),
        );
        let hint = missing_container_hint(&s3);
        assert_eq!(
            command(&hint),
            "aws s3api create-bucket --bucket gt --region eu-west-1 \
             --create-bucket-configuration LocationConstraint=eu-west-1 --endpoint-url \
             http://minio:9000"
        );
        assert!(!hint.contains("topsecret"));
        let az = store(serde_json::json!({"type": "Azblob", "container": "c1",
            "account_name": "acct", "account_key": "k3y", "endpoint": "http://az:10000/acct"}));
        assert_eq!(
            command(&missing_container_hint(&az)),
            "az storage container create --name c1 --account-name acct --blob-endpoint \
             http://az:10000/acct"
        );
        let gcs = store(serde_json::json!({"type": "Gcs", "bucket": "b", "scope": "x"}));
        assert_eq!(
            command(&missing_container_hint(&gcs)),
            "gcloud storage buckets create gs://b"
        );
    }

    #[test]
    fn s3_policy_is_scoped_to_the_bucket_and_root() {
        let s3 = store(
            serde_json::json!({"type": "S3", "bucket": "gt", "root": "/greptime/data/",
            "access_key_id": "AK", "secret_access_key": "topsecret"}),
        );
        let hint = permission_hint(&s3);
        let json = command(&hint)
            .split_once("--policy-document '")
            .unwrap()
            .1
            .trim_end_matches('\'');
        let policy: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            policy["Statement"][0]["Resource"],
            "arn:aws:s3:::gt/greptime/data/*"
        );
        assert_eq!(policy["Statement"][1]["Resource"], "arn:aws:s3:::gt");
        assert_eq!(policy["Statement"][1]["Action"], "s3:ListBucket");
        assert!(!hint.contains("topsecret"));
    }

    #[test]
    fn azure_and_gcs_name_their_roles() {
        let az = store(serde_json::json!({"type": "Azblob", "container": "c1",
            "account_name": "acct", "sas_token": "sv=x"}));
        let hint = permission_hint(&az);
        assert!(hint.contains("racwdl") && hint.contains("Storage Blob Data Contributor"));
        assert!(hint.contains("storageAccounts/acct/blobServices/default/containers/c1"));
        let gcs = store(serde_json::json!({"type": "Gcs", "bucket": "b", "scope": "x"}));
        assert!(command(&permission_hint(&gcs)).contains("gs://b --member="));
        assert!(permission_hint(&gcs).contains("roles/storage.objectAdmin"));
    }
}
