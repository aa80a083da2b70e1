//! `etcd.*`: metasrv's etcd metadata store, reached exactly as metasrv reaches it
//! (`backend_tls`, no credentials): per-endpoint status and alarms, cluster agreement, a write
//! probe proving metasrv's limits (`max_txn_ops`, `procedure.max_metadata_value_size`), a
//! read-only look at the metadata and election keys, and put/get latency.
//!
//! Steps that write keep every key under `{key_prefix}__greptime_self_test/{run_id}/`, put each
//! with a lease of their own (so keys a killed run could not remove expire), and register their
//! cleanup before the first write.

mod client;
mod cluster;
mod endpoint;
mod latency;
mod metadata;
mod probe;

use std::future::Future;

use etcd_client::{Client, DeleteOptions, GetOptions, PutOptions};
use tokio::time::Instant;

pub use cluster::{Cluster, ClusterMember, ClusterOutput, ClusterParams};
pub use endpoint::{Endpoint, EndpointOutput, EndpointParams};
pub use latency::{Latency, LatencyOutput, LatencyParams};
pub use metadata::{Metadata, MetadataOutput, MetadataParams};
pub use probe::{Probe, ProbeOutput, ProbeParams};

use crate::plugins::backend_tls::BackendTls;
use crate::plugins::{millis, StepCx, StepError};
use client::Etcd;

pub(super) static STEPS: &[&dyn super::DynStep] =
    &[&Endpoint, &Cluster, &Probe, &Metadata, &Latency];

/// The folder every self-test key lives in, below `store_key_prefix`.
pub const NAMESPACE_DIR: &str = "__greptime_self_test/";

/// The keys of one writing step.
pub(crate) struct Namespace {
    /// `{key_prefix}__greptime_self_test/`: nothing but self-test keys may live here.
    pub root: String,
    /// `{root}{session}`: the keys of this run and its siblings (see [`StepCx::session`]).
    pub session: String,
    /// `{root}{run_id}/{tag}-{nonce}/`: this step's keys (steps of one run may run
    /// concurrently).
    pub own: String,
}

impl Namespace {
    pub fn new(key_prefix: &str, run_id: &str, session: &str, tag: &str) -> Self {
        let root = format!("{key_prefix}{NAMESPACE_DIR}");
        let run = format!("{root}{run_id}/");
        let session = format!("{root}{session}");
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let own = format!("{run}{tag}-{}/", &nonce[..8]);
        Self { root, session, own }
    }
}

/// The end of the range of keys starting with `prefix` (etcd's `GetPrefixRangeEnd`).
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte is 0xff: the range runs to the end of the keyspace.
    vec![0]
}

/// What the self-test namespace holds before a step writes.
pub(crate) struct NamespaceState {
    /// Store revision when it was read.
    pub revision: i64,
    /// Keys under the root that neither this run nor a sibling wrote.
    pub foreign: i64,
    /// A few of those keys.
    pub sample: Vec<String>,
}

/// Connects to every endpoint as metasrv does and reads the namespace of the writing step
/// `tag`, before any write.
pub(crate) async fn open_namespace(
    endpoints: &[String],
    tls: &BackendTls,
    key_prefix: &str,
    tag: &str,
    cx: &StepCx,
) -> Result<(Etcd, Namespace, NamespaceState), StepError> {
    let etcd = client::connect(endpoints, endpoints, tls, cx)
        .await?
        .with_key_prefix(key_prefix);
    let ns = Namespace::new(key_prefix, &cx.run_id, cx.session(), tag);
    let state = read_namespace(&etcd, cx, &ns).await?;
    Ok((etcd, ns, state))
}

/// How long a step's keys outlive its deadline if its cleanup never runs (a killed run):
/// every key is put with a lease of the step's remaining time plus this, so etcd removes them.
const LEASE_MARGIN_S: i64 = 60;

/// A namespace readied for the step's writes.
pub(crate) struct Claim {
    /// The lease every key of the step is put with. The cleanup revokes it, which removes its
    /// keys at once and makes a put still in flight from a cancelled step fail instead of
    /// landing after the cleanup.
    pub lease: i64,
    /// Set when the namespace root holds keys of other runs.
    pub warning: Option<String>,
}

impl Claim {
    /// Options for every put of the step: its lease.
    pub fn put_options(&self) -> PutOptions {
        PutOptions::new().with_lease(self.lease)
    }
}

/// Readies the namespace for the step's first write: grants the step's lease, registers the
/// cleanup of the step's folder and, when the namespace root holds keys of other runs, warns
/// about them. They are left alone (this run writes and removes only its own folder): another
/// self-test running now (the metasrvs of a cluster run share one store) or one killed before
/// its cleanup.
pub(crate) async fn claim_namespace(
    etcd: &Etcd,
    cx: &StepCx,
    ns: &Namespace,
    state: &NamespaceState,
) -> Result<Claim, StepError> {
    let ttl = i64::try_from(cx.remaining().as_secs()).unwrap_or(i64::MAX / 2) + LEASE_MARGIN_S;
    let mut leases = etcd.client.lease_client();
    let what = format!("granting a {ttl} s lease for `{}`", ns.own);
    let lease = etcd.call(cx, &what, leases.grant(ttl, None)).await?.id();
    register_cleanup(etcd, cx, ns, lease);
    Ok(Claim {
        lease,
        warning: (state.foreign > 0).then(|| other_runs_warning(etcd, ns, state)),
    })
}

/// Reads the namespace root, counting the keys that are neither this run's nor its siblings'.
async fn read_namespace(
    etcd: &Etcd,
    cx: &StepCx,
    ns: &Namespace,
) -> Result<NamespaceState, StepError> {
    let mut kv = etcd.client.kv_client();
    let what = format!("reading `{}`", ns.root);
    let session_end = prefix_end(ns.session.as_bytes());
    let root_end = prefix_end(ns.root.as_bytes());
    let before = etcd
        .call(
            cx,
            &what,
            kv.get(
                ns.root.as_bytes(),
                Some(
                    GetOptions::new()
                        .with_range(ns.session.as_bytes())
                        .with_keys_only()
                        .with_limit(3),
                ),
            ),
        )
        .await?;
    let after = etcd
        .call(
            cx,
            &what,
            kv.get(
                session_end,
                Some(
                    GetOptions::new()
                        .with_range(root_end)
                        .with_keys_only()
                        .with_limit(3),
                ),
            ),
        )
        .await?;
    let revision = before.header().map_or(0, |h| h.revision());
    let sample = before
        .kvs()
        .iter()
        .chain(after.kvs())
        .map(|kv| String::from_utf8_lossy(kv.key()).into_owned())
        .take(3)
        .collect();
    Ok(NamespaceState {
        revision,
        foreign: before.count() + after.count(),
        sample,
    })
}

/// The warning when the namespace root holds keys of other runs.
fn other_runs_warning(etcd: &Etcd, ns: &Namespace, state: &NamespaceState) -> String {
    let etcdctl = etcd.etcdctl();
    format!(
        "the self-test namespace `{root}` holds {} key(s) of other runs (e.g. {}), left alone; \
         if no other self-test runs now, they are left over from one killed before its cleanup: \
         inspect them with `{etcdctl} get --prefix --keys-only '{root}'` and remove them with \
         `{etcdctl} del --prefix '{root}'`",
        state.foreign,
        state
            .sample
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", "),
        root = ns.root
    )
}

/// Registers the removal of every key under the step's folder: revoking its lease, then
/// deleting the folder and checking it is empty. Idempotent; runs however the step ends
/// (success, failure, timeout, Ctrl-C). With several endpoints it falls back to each endpoint
/// alone, so a dead endpoint picked by the balancer does not leave keys behind.
fn register_cleanup(etcd: &Etcd, cx: &StepCx, ns: &Namespace, lease: i64) {
    let client = etcd.client.clone();
    let fallbacks = etcd.fallbacks();
    let own = ns.own.clone();
    cx.on_cleanup(format!("etcd keys under `{own}`"), async move {
        let mut problems = Vec::new();
        match remove_all(&client, lease, &own).await {
            Ok(()) => return Ok(()),
            Err(e) => problems.push(e),
        }
        for (endpoint, options) in fallbacks {
            let result = match Client::connect([endpoint.as_str()], Some(options)).await {
                Ok(client) => remove_all(&client, lease, &own).await,
                Err(e) => Err(e.to_string()),
            };
            match result {
                Ok(()) => return Ok(()),
                Err(e) => problems.push(format!("via {endpoint}: {e}")),
            }
        }
        Err(problems.join("; "))
    });
}

/// Revokes `lease` (removing its keys; a lease already gone is fine), then deletes every key
/// starting with `prefix` and checks none is left.
async fn remove_all(client: &Client, lease: i64, prefix: &str) -> Result<(), String> {
    if let Err(e) = client.lease_client().revoke(lease).await {
        if !client::status_message(&e).is_some_and(|m| m.contains("lease not found")) {
            return Err(format!("cannot revoke the lease of `{prefix}`: {e}"));
        }
    }
    let mut kv = client.kv_client();
    kv.delete(prefix.as_bytes(), Some(DeleteOptions::new().with_prefix()))
        .await
        .map_err(|e| format!("cannot delete `{prefix}`: {e}"))?;
    let left = kv
        .get(
            prefix.as_bytes(),
            Some(GetOptions::new().with_prefix().with_count_only()),
        )
        .await
        .map_err(|e| format!("cannot list `{prefix}`: {e}"))?
        .count();
    if left == 0 {
        Ok(())
    } else {
        Err(format!("{left} key(s) are still left under `{prefix}`"))
    }
}

/// Deletes every key under the step's folder and checks none is left; returns the revision.
pub(crate) async fn delete_own(etcd: &Etcd, cx: &StepCx, ns: &Namespace) -> Result<i64, StepError> {
    let mut kv = etcd.client.kv_client();
    let what = format!("deleting `{}`", ns.own);
    etcd.call(
        cx,
        &what,
        kv.delete(ns.own.as_bytes(), Some(DeleteOptions::new().with_prefix())),
    )
    .await?;
    let left = etcd
        .call(
            cx,
            &format!("listing `{}`", ns.own),
            kv.get(
                ns.own.as_bytes(),
                Some(GetOptions::new().with_prefix().with_count_only()),
            ),
        )
        .await?;
    if left.count() != 0 {
        return Err(StepError::rejected(format!(
            "{} key(s) are still under `{}` after deleting them all",
            left.count(),
            ns.own
        ))
        .with_hint("another client writes under the self-test namespace; find it and stop it"));
    }
    Ok(left.header().map_or(0, |h| h.revision()))
}

/// Awaits a request; returns its answer and how long it took, in milliseconds.
pub(crate) async fn timed<T>(
    request: impl Future<Output = Result<T, StepError>>,
) -> Result<(T, f64), StepError> {
    let started = Instant::now();
    let answer = request.await?;
    Ok((answer, millis(started.elapsed())))
}

/// `size` bytes of a printable pattern, for the values the writing steps put.
pub(crate) fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

/// A member or cluster id as etcdctl prints it.
pub(crate) fn hex_id(id: u64) -> String {
    format!("{id:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_etcds() {
        assert_eq!(prefix_end(b"a/"), b"a0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }

    #[test]
    fn namespaces_nest() {
        let ns = Namespace::new("p/", "run-1", "run", "probe");
        assert_eq!(ns.root, "p/__greptime_self_test/");
        assert_eq!(ns.session, "p/__greptime_self_test/run");
        assert!(ns.own.starts_with("p/__greptime_self_test/run-1/probe-"));
        assert!(ns.own.ends_with('/'));
        assert_ne!(ns.own, Namespace::new("p/", "run-1", "run", "probe").own);
        assert_eq!(
            Namespace::new("", "r", "r", "x").root,
            "__greptime_self_test/"
        );
    }
}
