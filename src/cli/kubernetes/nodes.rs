//! A rendered pod as a node of the cluster run: its config file's text (held in memory, named
//! after its ConfigMap), its container environment and its arguments, read the way the pod's
//! process reads them (the arguments over the file, as GreptimeDB applies its start flags).
//!
//! The pod's IP, unknown until it runs, stands as `<POD_IP of <pod>>`, each pod's its own.
//!
//! Each pod is its own host (its own network namespace: no port clashes between pods, and a
//! loopback address advertised by one pod is wrong for the others) and none is this machine's
//! (`local: false`: listen ports and local directories are the pod's, not ours).

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::cli::cluster_plan::{in_node, PlannedNode};
use crate::cli::Failure;
use crate::config::Component;
use crate::config::{self, ConfigText, LoadOptions};
use crate::diag::Diagnostic;
use crate::kubernetes::rendered::{RenderedCluster, RenderedNode, POD_IP_PLACEHOLDER};
use crate::playbook;

/// The name a pod's config stands under in reports and diagnostics.
pub fn config_name(node: &RenderedNode) -> PathBuf {
    PathBuf::from(format!("configmap/{}/config.toml", node.config_map))
}

/// The pod as a planned node running its component's built-in playbook with `vars`.
pub fn planned(
    node: &RenderedNode,
    cluster: &RenderedCluster,
    vars: &Map<String, Value>,
) -> Result<PlannedNode, Failure> {
    let config = config_of(node)?;
    Ok(PlannedNode {
        name: node.name.clone(),
        component: node.component,
        host: Some(node.name.clone()),
        aliases: service_addresses(node, &config.value, cluster),
        local: false,
        config,
        playbooks: vec![playbook::load_builtin(node.component)?],
        vars: vars.clone(),
    })
}

/// The addresses of the meta Service in front of a metasrv pod, as the other pods may name it
/// (`<cluster>-meta.<ns>:<port>`, the operator's `--metasrv-addrs`, and its longer and shorter
/// DNS forms). The port is the one the pod serves gRPC on (`grpc.bind_addr`, its
/// `--rpc-bind-addr` applied), which the operator also gives the Service.
fn service_addresses(
    node: &RenderedNode,
    config: &Value,
    cluster: &RenderedCluster,
) -> Vec<String> {
    if node.component != Component::Metasrv {
        return Vec::new();
    }
    let bind = config.pointer("/grpc/bind_addr").and_then(Value::as_str);
    let Some(port) = bind.and_then(|b| b.rsplit_once(':')).map(|(_, p)| p) else {
        return Vec::new();
    };
    let service = format!("{}-meta", cluster.name);
    let ns = &cluster.namespace;
    [
        format!("{service}.{ns}:{port}"),
        format!("{service}.{ns}.svc:{port}"),
        format!("{service}.{ns}.svc.cluster.local:{port}"),
        format!("{service}:{port}"),
    ]
    .into()
}

/// The pod's own stand-in for its IP. The renderer writes one placeholder for every pod (the
/// IP is known only once the pod runs); each pod's IP is its own, so the cross-node checks
/// must not take all pods for one address.
fn pod_ip(node: &RenderedNode) -> String {
    format!("<POD_IP of {}>", node.name)
}

fn config_of(node: &RenderedNode) -> Result<config::EffectiveConfig, Diagnostic> {
    let own_ip = |text: &str| text.replace(POD_IP_PLACEHOLDER, &pod_ip(node));
    let args: Vec<String> = node.args.iter().map(|a| own_ip(a)).collect();
    let in_pod = |d: Diagnostic| {
        let d = in_node(d, Some(&node.name));
        Diagnostic {
            message: format!("{} (ConfigMap `{}`)", d.message, node.config_map),
            ..d
        }
    };
    let start_flags = config::start_flags::parse(node.component, &args).map_err(|d| {
        in_pod(d).with_hint(
            "the operator wrote these arguments from the resource: check the component's \
             `template.main.args` and `extraArgs`",
        )
    })?;
    let env_prefix = start_flags.choose_env_prefix(None).map_err(in_pod)?;
    let opts = LoadOptions {
        component: node.component,
        file: None,
        env: node
            .env
            .iter()
            .map(|(k, v)| (k.clone(), own_ip(v)))
            .collect(),
        env_prefix,
        overrides: Vec::new(),
        start_flags,
    };
    let text = ConfigText {
        name: config_name(node),
        text: own_ip(&node.config_toml),
    };
    config::load_text(&opts, text).map_err(in_pod)
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;

    pub fn datanode(toml: &str, args: &[&str]) -> RenderedNode {
        RenderedNode {
            name: "mycluster-datanode-0".into(),
            component: Component::Datanode,
            config_map: "mycluster-datanode".into(),
            config_toml: toml.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: IndexMap::new(),
        }
    }

    #[test]
    fn the_arguments_apply_over_the_config_text() {
        let node = datanode(
            "node_id = 2\n[storage]\ndata_home = \"/data/greptimedb\"\n",
            &[
                "datanode",
                "start",
                "--metasrv-addrs",
                "mycluster-meta.default:3002",
                "--http-addr",
                "0.0.0.0:4000",
                "--config-file",
                "/etc/greptimedb/config.toml",
            ],
        );
        let planned = planned(&node, &cluster(vec![node.clone()]), &Map::new()).unwrap();
        let value = &planned.config.value;
        assert_eq!(
            value["meta_client"]["metasrv_addrs"],
            serde_json::json!(["mycluster-meta.default:3002"])
        );
        assert_eq!(value["http"]["addr"], "0.0.0.0:4000");
        assert_eq!(value["node_id"], 2);
        assert_eq!(
            planned.config.file.unwrap(),
            PathBuf::from("configmap/mycluster-datanode/config.toml")
        );
        assert!(!planned.local);
        assert_eq!(planned.host.as_deref(), Some("mycluster-datanode-0"));
    }

    #[test]
    fn each_pod_advertises_an_ip_of_its_own() {
        let node = datanode(
            "node_id = 2\n[grpc]\nserver_addr = \"<POD_IP>:4001\"\n",
            &["datanode", "start", "--http-addr", "0.0.0.0:4000"],
        );
        let config = config_of(&node).unwrap();
        assert_eq!(
            config.value["grpc"]["server_addr"],
            "<POD_IP of mycluster-datanode-0>:4001"
        );
    }

    #[test]
    fn errors_name_the_pod_and_the_config_map() {
        let bad_toml = datanode("node_id = 2\n[storage\n", &["datanode", "start"]);
        let err = config_of(&bad_toml).unwrap_err();
        assert!(
            err.message.contains("node `mycluster-datanode-0`"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("ConfigMap `mycluster-datanode`"),
            "{}",
            err.message
        );
        let span = err.span.unwrap();
        assert_eq!(
            span.to_string(),
            "configmap/mycluster-datanode/config.toml:2:9"
        );
        let bad_flag = datanode("node_id = 2\n", &["datanode", "start", "--no-such-flag"]);
        let err = config_of(&bad_flag).unwrap_err();
        assert!(
            err.message.contains("ConfigMap `mycluster-datanode`"),
            "{}",
            err.message
        );
    }

    fn cluster(nodes: Vec<RenderedNode>) -> RenderedCluster {
        RenderedCluster {
            name: "mycluster".into(),
            namespace: "prod".into(),
            nodes,
            findings: Vec::new(),
            secrets: Vec::new(),
        }
    }

    #[test]
    fn a_metasrv_pod_is_also_reached_by_its_meta_service() {
        let mut meta = datanode(
            "",
            &[
                "metasrv",
                "start",
                // the `=` form too: the port is read from the config the flags made
                "--rpc-bind-addr=0.0.0.0:3302",
                "--rpc-server-addr",
                "$(POD_IP):3302",
            ],
        );
        meta.component = Component::Metasrv;
        meta.name = "mycluster-meta-0".into();
        let aliases = planned(&meta, &cluster(vec![meta.clone()]), &Map::new())
            .unwrap()
            .aliases;
        assert!(
            aliases.contains(&"mycluster-meta.prod:3302".to_string()),
            "{aliases:?}"
        );
        assert!(aliases.contains(&"mycluster-meta.prod.svc.cluster.local:3302".to_string()));
        let dn = datanode("", &["datanode", "start"]);
        assert!(planned(&dn, &cluster(vec![dn.clone()]), &Map::new())
            .unwrap()
            .aliases
            .is_empty());
    }
}
