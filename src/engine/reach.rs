//! Which dependencies this host can reach by the names a config gives them: `--resolve`
//! redirects (a name pointed at a port-forward) and the in-cluster names that do not resolve
//! here (a Kubernetes Service name seen from outside the cluster).
//!
//! Applied by the engine to the rendered parameters of every step that reaches a dependency
//! named in its parameters (the shareable steps, see `Step::SHAREABLE`): a redirect rewrites
//! `host:port` to `addr:port` and leaves a detail line; a parameter still naming an in-cluster
//! host skips the instance with [`Skip::InCluster`](super::result::Skip::InCluster). Steps
//! that only read the config (lint, cross-node rules) are left alone, so they judge the config
//! as written. Empty (the default) for every command but `kubernetes`.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use crate::notation::hosts::named_hosts;
pub use crate::notation::hosts::Redirect;

/// The redirects and in-cluster names of one invocation.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    redirects: Arc<[Redirect]>,
    /// Lower-case names that do not resolve here and name something inside the cluster.
    in_cluster: BTreeSet<String>,
    /// The namespace the fix of a one-label name points `kubectl -n` at.
    namespace: Option<String>,
}

/// Why an instance cannot be run from here: a parameter names this in-cluster host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InCluster {
    pub host: String,
    pub port: Option<u16>,
}

impl Reach {
    pub fn new(
        redirects: Vec<Redirect>,
        in_cluster: impl IntoIterator<Item = String>,
        namespace: Option<String>,
    ) -> Self {
        Self {
            redirects: redirects.into(),
            in_cluster: in_cluster
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            namespace,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.redirects.is_empty() && self.in_cluster.is_empty()
    }

    /// Rewrites every redirected `host:port` in the string leaves of `params` and returns one
    /// detail line per distinct rewrite; `Err` when a parameter still names an in-cluster host.
    pub fn apply(&self, params: &mut Value) -> Result<Vec<String>, InCluster> {
        let mut notes = Vec::new();
        self.rewrite(params, &mut notes);
        match self.first_in_cluster(params) {
            Some(found) => Err(found),
            None => Ok(notes),
        }
    }

    fn rewrite(&self, value: &mut Value, notes: &mut Vec<String>) {
        match value {
            Value::String(text) => {
                if let Some(rewritten) = self.rewrite_text(text, notes) {
                    *text = rewritten;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.rewrite(v, notes)),
            Value::Object(map) => map.values_mut().for_each(|v| self.rewrite(v, notes)),
            _ => {}
        }
    }

    /// `text` with its redirected hosts replaced (one note per distinct redirect), or `None`.
    fn rewrite_text(&self, text: &str, notes: &mut Vec<String>) -> Option<String> {
        let (rewritten, used) = Redirect::apply_all(&self.redirects, text)?;
        for redirect in used {
            let note = redirect.note();
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        Some(rewritten)
    }

    /// The redirects, for steps that dial addresses they learn while running (a metasrv
    /// leader's advertised address).
    pub fn redirects(&self) -> Arc<[Redirect]> {
        self.redirects.clone()
    }

    fn first_in_cluster(&self, value: &Value) -> Option<InCluster> {
        match value {
            Value::String(text) => named_hosts(text)
                .into_iter()
                .find(|named| self.in_cluster.contains(&named.host.to_ascii_lowercase()))
                .map(|named| InCluster {
                    host: named.host,
                    port: named.port,
                }),
            Value::Array(items) => items.iter().find_map(|v| self.first_in_cluster(v)),
            Value::Object(map) => map.values().find_map(|v| self.first_in_cluster(v)),
            _ => None,
        }
    }

    /// The fix for an in-cluster host: a port-forward plus `--resolve`, or a run inside.
    pub fn hint(&self, found: &InCluster) -> String {
        let port = found.port.unwrap_or(80);
        let local = if port <= 55535 { port + 10000 } else { port };
        let (target, namespace) = kubectl_target(&found.host, self.namespace.as_deref());
        let ns = namespace.map(|ns| format!("-n {ns} ")).unwrap_or_default();
        format!(
            "this name resolves only inside the Kubernetes cluster; forward a local port to it \
             and point the name there (one --resolve per name), or run the check inside the \
             cluster with --emit-job:\n\
             $ kubectl {ns}port-forward {target} {local}:{port}\n\
             $ greptime-self-test kubernetes -f … --resolve {}:{port}:127.0.0.1:{local}\n\
             $ greptime-self-test kubernetes -f … --emit-job | kubectl apply -f -",
            found.host
        )
    }
}

/// What `kubectl port-forward` takes for a cluster DNS name, and its namespace:
/// `svc.ns[.svc…]` is `svc/svc -n ns`, `pod.svc.ns.svc…` is `pod/pod -n ns`, a bare name is a
/// Service of `default_ns`.
fn kubectl_target(host: &str, default_ns: Option<&str>) -> (String, Option<String>) {
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [pod, _svc, ns, "svc", ..] => (format!("pod/{pod}"), Some(ns.to_string())),
        [svc, ns, ..] if *ns != "svc" => (format!("svc/{svc}"), Some(ns.to_string())),
        [svc, ..] => (format!("svc/{svc}"), default_ns.map(str::to_string)),
        [] => (format!("svc/{host}"), default_ns.map(str::to_string)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn curl_form_and_a_local_port() {
        let curl = Redirect::parse("meta.default:3002:127.0.0.1").unwrap();
        assert_eq!(
            (curl.from(), curl.to()),
            ("meta.default:3002".into(), "127.0.0.1:3002".into())
        );
        let forward = Redirect::parse("meta.default:3002:127.0.0.1:13002").unwrap();
        assert_eq!(forward.to(), "127.0.0.1:13002");
        assert_eq!(Redirect::parse("m:1:[::1]").unwrap().to(), "[::1]:1");
        assert_eq!(Redirect::parse("m:1:::1").unwrap().to(), "[::1]:1");
        assert_eq!(Redirect::parse("m:1:[::1]:2").unwrap().to(), "[::1]:2");
        for bad in [
            "m",
            "m:1",
            "m:x:1.2.3.4",
            "m:1:a:b",
            ":1:a",
            "m:0:a",
            "m:1:[::1",
        ] {
            assert!(Redirect::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirects_rewrite_urls_lists_and_addresses_and_say_so() {
        let reach = Reach::new(
            vec![
                Redirect::parse("pg.db:5432:127.0.0.1:15432").unwrap(),
                Redirect::parse("meta.default:3002:127.0.0.1:13002").unwrap(),
                Redirect::parse("minio.s3:80:127.0.0.1:19000").unwrap(),
            ],
            [],
            None,
        );
        let mut params = json!({
            "store_addr": "postgres://u:p@ss@pg.db:5432/meta",
            "addresses": ["meta.default:3002", "other:3002"],
            "list": "meta.default:3002,meta.default:3003",
            "endpoint": "http://minio.s3/bucket",
            "n": 3
        });
        let notes = reach.apply(&mut params).unwrap();
        assert_eq!(
            params["store_addr"],
            "postgres://u:p@ss@127.0.0.1:15432/meta"
        );
        assert_eq!(
            params["addresses"],
            json!(["127.0.0.1:13002", "other:3002"])
        );
        assert_eq!(params["list"], "127.0.0.1:13002,meta.default:3003");
        assert_eq!(params["endpoint"], "http://127.0.0.1:19000/bucket");
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(
            notes[0].contains("127.0.0.1:15432 for pg.db:5432"),
            "{}",
            notes[0]
        );
    }

    #[test]
    fn an_in_cluster_name_left_unredirected_stops_the_instance() {
        let reach = Reach::new(
            vec![Redirect::parse("mycluster-meta.default:3002:127.0.0.1:13002").unwrap()],
            [
                "mycluster-meta.default".to_string(),
                "Kafka.ns.svc".to_string(),
            ],
            Some("default".into()),
        );
        let mut redirected = json!({"address": "mycluster-meta.default:3002"});
        assert!(reach.apply(&mut redirected).is_ok());
        let mut other_port = json!({"peers": ["mycluster-meta.default:3003"]});
        let found = reach.apply(&mut other_port).unwrap_err();
        assert_eq!(found.port, Some(3003));
        let mut kafka = json!({"brokers": ["kafka.ns.svc:9092"]});
        let found = reach.apply(&mut kafka).unwrap_err();
        assert_eq!(found.host, "kafka.ns.svc");
        let hint = reach.hint(&found);
        assert!(
            hint.contains("$ kubectl -n ns port-forward svc/kafka 19092:9092"),
            "{hint}"
        );
        assert!(
            hint.contains("--resolve kafka.ns.svc:9092:127.0.0.1:19092"),
            "{hint}"
        );
        assert!(Reach::default()
            .apply(&mut json!({"a": "kafka.ns.svc:9092"}))
            .is_ok());
    }

    #[test]
    fn kubectl_targets() {
        assert_eq!(
            kubectl_target("mycluster-meta.default", None),
            ("svc/mycluster-meta".into(), Some("default".into()))
        );
        assert_eq!(
            kubectl_target("k-0.k-headless.kafka.svc.cluster.local", None),
            ("pod/k-0".into(), Some("kafka".into()))
        );
        assert_eq!(
            kubectl_target("etcd", Some("gt")),
            ("svc/etcd".into(), Some("gt".into()))
        );
    }
}
