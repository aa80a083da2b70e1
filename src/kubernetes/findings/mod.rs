//! Foot-guns of the resource itself, found while rendering: what the operator writes that
//! GreptimeDB then reads differently from what the resource meant. Each names the resource
//! field to change and says how, in the resource's terms.

mod credentials;
mod overrides;
mod values;

use super::pods::Workload;
use super::rendered::{FindingSeverity, ResourceFinding};
use super::resource::ClusterSpec;
use super::secrets::SecretStore;

/// What the findings look at: the resource as written and what was rendered from it.
pub struct Context<'a> {
    pub raw: &'a ClusterSpec,
    pub workloads: &'a [Workload<'a>],
    pub namespace: &'a str,
    pub store: &'a SecretStore,
}

/// Every finding, errors first, each once.
pub fn find(cx: &Context) -> Vec<ResourceFinding> {
    let mut out = Vec::new();
    values::find(cx, &mut out);
    credentials::find(cx, &mut out);
    overrides::find(cx, &mut out);
    let mut unique: Vec<ResourceFinding> = Vec::new();
    for f in out {
        if !unique.contains(&f) {
            unique.push(f);
        }
    }
    unique.sort_by_key(|f| f.severity != FindingSeverity::Error);
    unique
}

fn finding(
    code: &str,
    severity: FindingSeverity,
    field: impl Into<String>,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> ResourceFinding {
    ResourceFinding {
        code: code.to_string(),
        severity,
        field: field.into(),
        message: message.into(),
        fix: fix.into(),
    }
}
