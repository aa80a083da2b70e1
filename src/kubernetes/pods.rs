//! The workloads the operator creates (one Deployment or StatefulSet per role and group, each
//! with its ConfigMap) and their pods, in the order metasrv, frontend, datanode, flownode.

use crate::config::Component;
use crate::diag::Diagnostic;

use super::args::{self, Flags};
use super::dbconfig::{self, Role, RoleConfig};
use super::env::{ContainerEnv, PodFacts};
use super::initializer::Initializer;
use super::rendered::{RenderedNode, POD_IP_PLACEHOLDER};
use super::resource::{ClusterSpec, MainContainer, MonitoringSpec, PodTemplate};
use super::secrets::SecretStore;

/// One Deployment or StatefulSet with its ConfigMap.
#[derive(Debug)]
pub struct Workload<'a> {
    pub role: Role<'a>,
    /// The resource field of its spec, e.g. `spec.datanodeGroups[1]`.
    pub field: String,
    /// `<cluster>-<role>[-<name>]`: the ConfigMap, Service and workload name.
    pub resource: String,
    pub replicas: u32,
    pub config: RoleConfig,
    /// The main container after the base template was merged in.
    pub main: Option<MainContainer>,
    /// The container's `args` as the operator sets them (before the kubelet's expansion).
    pub args: Vec<String>,
    /// Datanodes and flownodes: the init container that writes the final file.
    pub initializer: Option<Initializer>,
    /// The operator's variables appended to the container's `env`.
    pub operator_env: Vec<(String, String)>,
}

impl Workload<'_> {
    pub fn component(&self) -> Component {
        match self.role {
            Role::Meta(_) => Component::Metasrv,
            Role::Frontend(_) => Component::Frontend,
            Role::Datanode(_) => Component::Datanode,
            Role::Flownode(_) => Component::Flownode,
        }
    }

    /// The environment of the pod named `pod`.
    pub fn env(&self, pod: &str, namespace: &str, store: &SecretStore) -> ContainerEnv {
        let main = self.main.as_ref();
        let operator: Vec<(String, String)> = self
            .operator_env
            .iter()
            .map(|(k, v)| {
                let v = if k == "POD_NAME" {
                    pod.to_string()
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect();
        ContainerEnv::build(
            main.and_then(|m| m.env_from.as_deref()).unwrap_or_default(),
            main.and_then(|m| m.env.as_deref()).unwrap_or_default(),
            &operator,
            PodFacts {
                name: pod,
                namespace,
            },
            store,
        )
    }
}

fn replicas(r: Option<i32>) -> u32 {
    // A nil replica count is Kubernetes' default of one; a negative one is refused by the
    // CRD's minimum of 0.
    r.map_or(1, |r| r.max(0) as u32)
}

fn port(p: Option<i32>) -> i32 {
    p.unwrap_or_default()
}

fn main_of(template: &Option<PodTemplate>) -> Option<MainContainer> {
    template.as_ref().and_then(|t| t.main.clone())
}

/// Every workload of the defaulted `spec`.
pub fn workloads<'a>(
    cluster: &str,
    namespace: &str,
    spec: &'a ClusterSpec,
    store: &SecretStore,
) -> Result<Vec<Workload<'a>>, Diagnostic> {
    let ipv6 = spec.enable_ipv6 == Some(true);
    let meta_rpc = spec
        .meta
        .as_ref()
        .and_then(|m| m.rpc_port)
        .unwrap_or_default();
    let metasrv = args::metasrv_addr(cluster, namespace, meta_rpc);
    let name = |kind: &str, extra: Option<&str>| match extra.filter(|e| !e.is_empty()) {
        Some(extra) => format!("{cluster}-{kind}-{extra}"),
        None => format!("{cluster}-{kind}"),
    };
    let monitoring = MonitoringSpec::is_enabled(spec.monitoring.as_ref());
    let operator_env = |kind: &str| {
        let mut env = vec![
            ("POD_IP".to_string(), POD_IP_PLACEHOLDER.to_string()),
            ("POD_NAME".to_string(), String::new()),
            ("POD_NAMESPACE".to_string(), namespace.to_string()),
            ("ROLE".to_string(), kind.to_string()),
        ];
        if monitoring {
            env.push((
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS".into(),
                "x-greptime-pipeline-name=greptime_trace_v1".into(),
            ));
        }
        if ipv6 {
            env.push(("ENABLE_IPV6".into(), "true".into()));
        }
        env
    };

    let mut out = Vec::new();
    let mut push = |role: Role<'a>,
                    field: String,
                    resource: String,
                    replica_count: Option<i32>,
                    template: &Option<PodTemplate>,
                    flags: Flags,
                    initializer: Option<Initializer>|
     -> Result<(), Diagnostic> {
        let config = dbconfig::from_cluster(spec, role, store)?;
        let main = main_of(template);
        let args = args::container_args(main.as_ref(), args::generated(flags, ipv6));
        out.push(Workload {
            role,
            field,
            resource,
            replicas: replicas(replica_count),
            config,
            main,
            args,
            initializer,
            operator_env: operator_env(role.kind()),
        });
        Ok(())
    };

    if let Some(meta) = &spec.meta {
        push(
            Role::Meta(meta),
            "spec.meta".into(),
            name("meta", None),
            meta.replicas,
            &meta.template,
            Flags::Meta {
                rpc: port(meta.rpc_port),
                http: port(meta.http_port),
            },
            None,
        )?;
    }
    let frontends = spec
        .frontend
        .iter()
        .map(|f| (f, "spec.frontend".to_string()))
        .chain(
            spec.frontend_groups
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, f)| (f, format!("spec.frontendGroups[{i}]"))),
        );
    for (frontend, field) in frontends {
        push(
            Role::Frontend(frontend),
            field,
            name("frontend", frontend.name.as_deref()),
            frontend.replicas,
            &frontend.template,
            Flags::Frontend {
                rpc: port(frontend.rpc_port),
                http: port(frontend.http_port),
                mysql: port(frontend.mysql_port),
                postgres: port(frontend.postgresql_port),
                internal: port(frontend.internal_port),
                metasrv: &metasrv,
                tls: frontend.tls.is_some(),
            },
            None,
        )?;
    }
    // The operator builds either the top-level datanode or the groups, never both.
    let datanodes: Vec<_> = match &spec.datanode {
        Some(d) => vec![(d, "spec.datanode".to_string(), None)],
        None => spec
            .datanode_groups
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, d)| (d, format!("spec.datanodeGroups[{i}]"), Some(i as u32)))
            .collect(),
    };
    for (datanode, field, group) in datanodes {
        push(
            Role::Datanode(datanode),
            field,
            name("datanode", datanode.name.as_deref()),
            datanode.replicas,
            &datanode.template,
            Flags::Datanode {
                http: port(datanode.http_port),
                metasrv: &metasrv,
            },
            Some(Initializer {
                rpc_port: port(datanode.rpc_port),
                group_id: group,
                start_node_id: datanode.start_node_id.unwrap_or(0),
                ipv6,
            }),
        )?;
    }
    if let Some(flownode) = &spec.flownode {
        push(
            Role::Flownode(flownode),
            "spec.flownode".into(),
            name("flownode", None),
            flownode.replicas,
            &flownode.template,
            Flags::Flownode {
                rpc: port(flownode.rpc_port),
                http: port(flownode.http_port),
                metasrv: &metasrv,
            },
            Some(Initializer {
                rpc_port: port(flownode.rpc_port),
                group_id: None,
                start_node_id: flownode.start_node_id.unwrap_or(0),
                ipv6: false,
            }),
        )?;
    }
    Ok(out)
}

/// Every pod of every workload.
pub fn nodes(
    workloads: &[Workload],
    namespace: &str,
    store: &SecretStore,
) -> Result<Vec<RenderedNode>, Diagnostic> {
    let mut nodes = Vec::new();
    for w in workloads {
        for ordinal in 0..w.replicas {
            let pod = format!("{}-{ordinal}", w.resource);
            let file = match &w.initializer {
                Some(init) => init.generate(&w.config.merged, ordinal),
                None => w.config.merged.clone(),
            };
            let config_toml = toml::to_string(&file).map_err(|e| {
                Diagnostic::new("cannot write the rendered config", format!("{pod}: {e}"))
            })?;
            let env = w.env(&pod, namespace, store);
            let args = command_line(w.main.as_ref(), &w.args)
                .iter()
                .map(|a| super::env::expand(a, |n| env.vars.get(n).cloned()))
                .collect();
            nodes.push(RenderedNode {
                name: pod,
                component: w.component(),
                config_map: w.resource.clone(),
                config_toml,
                args,
                env: env.vars,
            });
        }
    }
    Ok(nodes)
}

/// The arguments after the `greptime` entrypoint: a `command` of `greptime …` contributes its
/// own arguments first; any other command runs something else, and the args are left as the
/// operator set them (a finding says so).
pub fn command_line(main: Option<&MainContainer>, args: &[String]) -> Vec<String> {
    let command = main.and_then(|m| m.command.clone()).unwrap_or_default();
    match command.split_first() {
        Some((program, rest)) if is_greptime(program) => rest.iter().chain(args).cloned().collect(),
        _ => args.to_vec(),
    }
}

pub fn is_greptime(program: &str) -> bool {
    std::path::Path::new(program)
        .file_name()
        .is_some_and(|n| n == "greptime")
}
