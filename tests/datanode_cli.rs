//! The object-store checks of the built-in datanode playbook against the real S3 (SeaweedFS)
//! and Azure Blob (Azurite) servers started by `scripts/services.sh`.

use crate::common;

use common::{checks, datanode_config, run_component};
use serde_json::Value;

/// Runs the datanode playbook on `storage` (TOML for `[storage]` and its providers).
fn datanode(storage: &str, extra: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = datanode_config(dir.path(), storage);
    let (r, report) = run_component("datanode", dir.path(), &config, extra);
    (r.code, report, r.all())
}

#[test]
fn every_store_and_provider_is_probed_and_no_secret_is_shown() {
    let (endpoint, bucket, key, secret) = need!(
        "GST_S3_ENDPOINT",
        "GST_S3_BUCKET",
        "GST_S3_RW_KEY",
        "GST_S3_RW_SECRET"
    );
    let (az_endpoint, account, account_key, container) = need!(
        "GST_AZBLOB_ENDPOINT",
        "GST_AZBLOB_ACCOUNT",
        "GST_AZBLOB_KEY",
        "GST_AZBLOB_CONTAINER"
    );
    let (ro_key, ro_secret) = need!("GST_S3_RO_KEY", "GST_S3_RO_SECRET");
    let storage = format!(
        "[storage]\ntype = \"S3\"\nbucket = \"{bucket}\"\nroot = \"gst-datanode-cli\"\n\
         endpoint = \"{endpoint}\"\nregion = \"us-east-1\"\naccess_key_id = \"{key}\"\n\
         secret_access_key = \"{secret}\"\n\
         [[storage.providers]]\nname = \"azure\"\ntype = \"Azblob\"\ncontainer = \"{container}\"\n\
         root = \"gst-datanode-cli\"\nendpoint = \"{az_endpoint}\"\naccount_name = \"{account}\"\n\
         account_key = \"{account_key}\"\n\
         [[storage.providers]]\nname = \"readonly\"\ntype = \"S3\"\nbucket = \"{bucket}\"\n\
         root = \"gst-datanode-cli\"\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\n\
         access_key_id = \"{ro_key}\"\nsecret_access_key = \"{ro_secret}\"\n"
    );
    let (code, report, all) = datanode(&storage, &[]);
    assert_eq!(code, 3, "{all}");
    let found = checks(&report, "object_store_probe");
    assert_eq!(found.len(), 3, "{report}");
    assert_eq!(found[0]["status"], "pass", "{}", found[0]);
    assert_eq!(found[1]["status"], "pass", "{}", found[1]);
    assert!(found[1]["title"].as_str().unwrap().contains("azure"));
    assert_eq!(found[2]["status"], "fail", "{}", found[2]);
    assert!(found[2].to_string().contains("PutObject"), "{}", found[2]);
    for secret_value in [&secret, &account_key, &ro_secret] {
        assert!(
            !all.contains(secret_value.as_str()),
            "a secret reached the output"
        );
    }
    // the read-only credential passes a --read-only run
    // (the run still fails on the absent metasrv)
    let (_, report, _) = datanode(&storage, &["--read-only"]);
    assert!(
        checks(&report, "object_store_probe")
            .iter()
            .all(|p| p["status"] != "fail"),
        "{report}"
    );
}

#[test]
fn providers_named_alike_in_different_case_are_a_config_error() {
    let storage = "[storage]\ntype = \"File\"\n\
         [[storage.providers]]\nname = \"Archive\"\ntype = \"S3\"\nbucket = \"b\"\nroot = \"r\"\n\
         [[storage.providers]]\nname = \"archive\"\ntype = \"S3\"\nbucket = \"b\"\nroot = \"r\"\n";
    let (code, report, all) = datanode(storage, &[]);
    assert_eq!(code, 3, "{all}");
    let lint = checks(&report, "config_lint")[0];
    assert_eq!(lint["status"], "fail", "{lint}");
    assert!(
        lint["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("archive"),
        "{lint}"
    );
}
