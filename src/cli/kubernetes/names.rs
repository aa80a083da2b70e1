//! Which names in the rendered configs resolve from this host. A pod reaches its metasrv as
//! `mycluster-meta.default:3002` and its store as `etcd.etcd.svc.cluster.local:2379`; outside
//! the cluster those names do not resolve, and a check that dials them would only say
//! "unreachable" about a cluster that may be fine. So before the run every host name the
//! effective configs hold (after the pods' arguments) is looked up here, once; one that does
//! not resolve and has the shape of a cluster DNS name is an in-cluster name, and the checks
//! that dial it are skipped with their own verdict (see `engine::reach`).
//!
//! Cluster DNS shapes: `*.svc`, `*.svc.<domain>` (`*.svc.cluster.local`), `*.cluster.local`,
//! `<service>.<namespace>` for the resource's namespace or any namespace the input documents
//! name (the operator writes `<cluster>-meta.<namespace>`), and a bare `<service>` (resolved
//! in the pod's own namespace). Any other name that does not resolve is left to the checks,
//! which report it as unreachable, as for any other command.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;

use crate::cli::cluster_plan::PlannedNode;
use crate::engine::reach::{Reach, Redirect};
use crate::kubernetes::rendered::RenderedCluster;
use crate::notation::hosts::named_hosts;

/// How long one name may take to resolve before it counts as not resolving.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// What the look-up found.
#[derive(Debug, Default)]
pub struct Names {
    /// Names that resolve here (checked as usual).
    pub resolved: Vec<String>,
    /// In-cluster names that do not resolve here.
    pub in_cluster: Vec<String>,
    /// Other names that do not resolve here (the checks will say so).
    pub unresolved: Vec<String>,
    /// `--resolve` flags for a name that match no `host:port` in any config (a flag for an IP
    /// may be meant for an address learnt while running, a leader's pod IP).
    pub unused_redirects: Vec<String>,
}

impl Names {
    /// The engine's reach for this run.
    pub fn reach(&self, redirects: &[Redirect], cluster: &RenderedCluster) -> Reach {
        Reach::new(
            redirects.to_vec(),
            self.in_cluster.iter().cloned(),
            Some(cluster.namespace.clone()),
        )
    }
}

/// Looks every host name of the nodes' configs up, concurrently, each at most
/// [`LOOKUP_TIMEOUT`].
pub async fn look_up(
    nodes: &[PlannedNode],
    redirects: &[Redirect],
    cluster: &RenderedCluster,
    namespaces: &BTreeSet<String>,
) -> Names {
    let mut hosts = BTreeSet::new();
    let mut host_ports = BTreeSet::new();
    for node in nodes {
        for text in strings(&node.config.value) {
            for named in named_hosts(text) {
                let host = named.host.to_ascii_lowercase();
                if let Some(port) = named.port {
                    host_ports.insert((host.clone(), port));
                }
                if named.is_name() {
                    hosts.insert(host);
                }
            }
        }
    }
    let hosts: Vec<String> = hosts.into_iter().collect();
    let answers = join_all(hosts.iter().map(|host| resolves(host))).await;
    let mut namespaces = namespaces.clone();
    namespaces.insert(cluster.namespace.to_ascii_lowercase());
    let mut names = Names::default();
    for (host, resolves) in hosts.into_iter().zip(answers) {
        if resolves {
            names.resolved.push(host);
        } else if looks_in_cluster(&host, &namespaces) {
            names.in_cluster.push(host);
        } else {
            names.unresolved.push(host);
        }
    }
    // an IP may be one learnt while running (the pod IP a metasrv leader advertises)
    names.unused_redirects = redirects
        .iter()
        .filter(|r| r.host.parse::<std::net::IpAddr>().is_err())
        .filter(|r| !host_ports.contains(&(r.host.to_ascii_lowercase(), r.port)))
        .map(Redirect::from)
        .collect();
    names
}

/// Every string leaf of a config.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

async fn resolves(host: &str) -> bool {
    match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, 0))).await {
        Ok(Ok(mut addrs)) => addrs.next().is_some(),
        _ => false,
    }
}

/// Whether a (lower-case) name has the shape of a Kubernetes cluster DNS name.
pub fn looks_in_cluster(host: &str, namespaces: &BTreeSet<String>) -> bool {
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    match labels.as_slice() {
        [_] => true,
        [_, namespace] => namespaces.contains(*namespace),
        [_, rest @ ..] => rest.contains(&"svc") || host.ends_with(".cluster.local"),
        [] => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_dns_shapes() {
        let namespaces: BTreeSet<String> = ["default".to_string(), "kafka".to_string()].into();
        for host in [
            "mycluster-meta.default",
            "kafka.kafka",
            "etcd.etcd-cluster.svc",
            "etcd.etcd-cluster.svc.cluster.local",
            "k-0.k-headless.kafka.svc.cluster.local",
            "minio.storage.svc.corp.internal",
            "node.cluster.local",
            "etcd",
        ] {
            assert!(looks_in_cluster(host, &namespaces), "{host}");
        }
        for host in [
            "s3.amazonaws.com",
            "etcd.other-ns",
            "db.example.com",
            "svc.example.com",
        ] {
            assert!(!looks_in_cluster(host, &namespaces), "{host}");
        }
    }

    #[tokio::test]
    async fn names_are_sorted_by_what_they_resolve_to_and_unused_redirects_found() {
        use crate::config::{Component, EffectiveConfig};
        let node = PlannedNode {
            name: "c-datanode-0".into(),
            component: Component::Datanode,
            host: None,
            aliases: Vec::new(),
            local: false,
            config: EffectiveConfig {
                component: Component::Datanode,
                file: None,
                value: serde_json::json!({
                    "meta_client": {"metasrv_addrs": ["c-meta.ns:3002"]},
                    "wal": {"broker_endpoints": ["localhost:9092", "kafka.elsewhere:9092"]},
                    "grpc": {"server_addr": "<POD_IP of c-datanode-0>:4001"},
                }),
                findings: Vec::new(),
                secrets: Vec::new(),
            },
            playbooks: Vec::new(),
            vars: Default::default(),
        };
        let cluster = RenderedCluster {
            name: "c".into(),
            namespace: "ns".into(),
            nodes: Vec::new(),
            findings: Vec::new(),
            secrets: Vec::new(),
        };
        let redirects = [
            Redirect::parse("c-meta.ns:3002:127.0.0.1:13002").unwrap(),
            Redirect::parse("c-meta.ns:3003:127.0.0.1:13003").unwrap(),
            Redirect::parse("10.1.2.3:3002:127.0.0.1:13002").unwrap(),
        ];
        let names = look_up(&[node], &redirects, &cluster, &BTreeSet::new()).await;
        assert_eq!(names.in_cluster, ["c-meta.ns"]);
        assert_eq!(names.resolved, ["localhost"]);
        assert_eq!(names.unresolved, ["kafka.elsewhere"]);
        assert_eq!(
            names.unused_redirects,
            ["c-meta.ns:3003"],
            "IPs may be learnt at run time"
        );
    }

    #[tokio::test]
    async fn localhost_resolves_and_an_invalid_name_does_not() {
        assert!(resolves("localhost").await);
        assert!(!resolves("gst-no-such-name.invalid").await);
    }
}
