//! `etcd.endpoint`: one etcd endpoint's status and alarms, reached as metasrv reaches it.

use etcd_client::{AlarmAction, AlarmType, GetOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::client;
use super::{hex_id, timed};
use crate::plugins::backend_tls::BackendTls;
use crate::plugins::{Step, StepCx, StepError};

/// Asks one endpoint for its status (version, member, leader, raft index, database size) and
/// its active alarms, and proves that it serves key reads without credentials.
pub struct Endpoint;

/// Parameters of `etcd.endpoint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointParams {
    /// The endpoint to check: one entry of metasrv's `store_addrs`, `host:port` or
    /// `http(s)://host:port`.
    pub endpoint: String,
    /// All of `store_addrs`. With `tls.mode: prefer`, metasrv uses TLS only when every one of
    /// them starts with `https`, so the decision needs the whole list. Default: `[endpoint]`.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Metasrv's `backend_tls` table.
    #[serde(default)]
    pub tls: BackendTls,
    /// Metasrv's `store_key_prefix`; the key read that proves no credentials are needed is
    /// `{key_prefix}__metasrv_election` (count only, so no value is transferred).
    #[serde(default)]
    pub key_prefix: String,
}

/// Output of `etcd.endpoint`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EndpointOutput {
    /// The endpoint as given.
    pub endpoint: String,
    /// Whether TLS was used (decided as metasrv decides it).
    pub tls: bool,
    /// etcd server version, e.g. `3.5.9`.
    pub version: String,
    /// Cluster id, in hex as etcdctl prints it.
    pub cluster_id: String,
    /// Member id of this endpoint, in hex.
    pub member_id: String,
    /// Member id of the raft leader this member knows, in hex; null when it knows none.
    pub leader: Option<String>,
    /// Whether this member is the leader.
    pub is_leader: bool,
    /// Whether this member is a learner (a non-voting member).
    pub is_learner: bool,
    /// Raft index of this member.
    pub raft_index: u64,
    /// Raft applied index of this member.
    pub raft_applied_index: u64,
    /// Raft term of this member.
    pub raft_term: u64,
    /// Physical size of the backend database, in bytes.
    pub db_size: i64,
    /// Logical size of the backend database in use, in bytes (less than `db_size` before a
    /// defragmentation).
    pub db_size_in_use: i64,
    /// The backend quota (`--quota-backend-bytes`), in bytes; null when the server does not
    /// report it (etcd before 3.6).
    pub db_size_quota: Option<i64>,
    /// Errors the member reports in its status (e.g. raft errors).
    pub errors: Vec<String>,
    /// Active alarms of the cluster, each `TYPE (member <hex id>)`, e.g.
    /// `NOSPACE (member 8e9e05c52164694d)`. Any alarm makes etcd refuse writes (`NOSPACE`) or
    /// serve nothing (`CORRUPT`); this step reports them, the playbook fails on them.
    pub alarms: Vec<String>,
    /// Time of the status request, in milliseconds.
    pub latency_ms: f64,
    /// When the NOSPACE alarm is raised or the database is over 80% of its quota (2 GiB when
    /// not reported): the `$ etcdctl …` lines that free space, filled with the endpoint and the
    /// store revision read; null otherwise.
    pub fix: Option<String>,
}

/// etcd's default `--quota-backend-bytes`.
const DEFAULT_QUOTA: i64 = 2 << 30;

impl Step for Endpoint {
    const NAME: &'static str = "etcd.endpoint";
    const SUMMARY: &'static str =
        "Status and alarms of one etcd endpoint, connected with metasrv's TLS and no credentials";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "\
endpoint: 127.0.0.1:2379
endpoints: [\"127.0.0.1:2379\"]
tls:
  mode: prefer
  ca_cert_path: \"\"
  cert_path: \"\"
  key_path: \"\"
";
    type Params = EndpointParams;
    type Output = EndpointOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let target = [params.endpoint.clone()];
        let all = if client::clean_endpoints(&params.endpoints).is_empty() {
            &target[..]
        } else {
            &params.endpoints[..]
        };
        let etcd = client::connect(&target, all, &params.tls, cx)
            .await?
            .with_key_prefix(&params.key_prefix);

        let mut maintenance = etcd.client.maintenance_client();
        let (status, latency_ms) = timed(etcd.call(cx, "status", maintenance.status())).await?;
        let alarms = etcd
            .call(
                cx,
                "alarm list",
                maintenance.alarm(AlarmAction::Get, AlarmType::None, None),
            )
            .await?;
        // A key read, as metasrv's first request is: fails when etcd requires authentication.
        let mut kv = etcd.client.kv_client();
        let key = format!("{}__metasrv_election", params.key_prefix);
        let read = etcd
            .call(
                cx,
                &format!("reading `{key}`"),
                kv.get(key.as_bytes(), Some(GetOptions::new().with_count_only())),
            )
            .await?;
        let revision = read.header().map_or(0, |h| h.revision());
        let nospace = alarms
            .alarms()
            .iter()
            .any(|a| a.alarm() == AlarmType::Nospace);
        let quota = match status.db_size_quota() {
            q if q > 0 => q,
            _ => DEFAULT_QUOTA,
        };
        let fix = (nospace || status.db_size() as f64 > 0.8 * quota as f64)
            .then(|| etcd.nospace_hint(revision, nospace));

        let header = status.header();
        let member = header.map_or(0, |h| h.member_id());
        let leader = status.leader();
        Ok(EndpointOutput {
            endpoint: params.endpoint,
            tls: etcd.tls,
            version: status.version().to_string(),
            cluster_id: hex_id(header.map_or(0, |h| h.cluster_id())),
            member_id: hex_id(member),
            leader: (leader != 0).then(|| hex_id(leader)),
            is_leader: leader != 0 && leader == member,
            is_learner: status.is_learner(),
            raft_index: status.raft_index(),
            raft_applied_index: status.raft_applied_index(),
            raft_term: status.raft_term(),
            db_size: status.db_size(),
            db_size_in_use: status.raft_used_db_size(),
            db_size_quota: (status.db_size_quota() > 0).then(|| status.db_size_quota()),
            errors: status.errors().to_vec(),
            alarms: alarms
                .alarms()
                .iter()
                .filter(|a| a.alarm() != AlarmType::None)
                .map(|a| {
                    format!(
                        "{} (member {})",
                        a.alarm().as_str_name(),
                        hex_id(a.member_id())
                    )
                })
                .collect(),
            latency_ms,
            fix,
        })
    }

    fn details(output: &Self::Output) -> Vec<String> {
        let mut lines = vec![format!(
            "etcd {} member {} of cluster {}, leader {}, raft index {}, db {} bytes ({} in use)",
            output.version,
            output.member_id,
            output.cluster_id,
            output.leader.as_deref().unwrap_or("none"),
            output.raft_index,
            output.db_size,
            output.db_size_in_use
        )];
        lines.extend(output.alarms.iter().map(|a| format!("alarm: {a}")));
        lines.extend(output.errors.iter().map(|e| format!("status error: {e}")));
        lines
    }
}
