//! What the operator would deploy for one `GreptimeDBCluster`: every pod's final config file
//! and command line. The renderer builds it; `--render`, `--emit-job` and the cluster run
//! read it.

use indexmap::IndexMap;

use crate::config::Component;

/// The operator line whose behaviour the renderer follows.
pub const OPERATOR_VERSION: &str = "v0.6.0";

/// Stands for the pod's IP, which is known only once the pod runs: in `grpc.server_addr` (the
/// initializer writes the IP there) and in args (`--rpc-server-addr $(POD_IP):3002`, which the
/// kubelet expands). GreptimeDB's config loading takes it as any string.
pub const POD_IP_PLACEHOLDER: &str = "<POD_IP>";

/// One rendered cluster.
#[derive(Debug, Clone)]
pub struct RenderedCluster {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (`default` when absent, as `kubectl apply` does).
    pub namespace: String,
    /// One entry per pod, in the order metasrv, frontend, datanode (group by group), flownode.
    pub nodes: Vec<RenderedNode>,
    /// Foot-guns of the resource itself, found while rendering.
    pub findings: Vec<ResourceFinding>,
    /// Values read from Secrets (and written into configs), masked in every output.
    pub secrets: Vec<String>,
}

/// One pod: `<cluster>-<role>[-<group>]-<ordinal>`.
#[derive(Debug, Clone)]
pub struct RenderedNode {
    /// Pod name, e.g. `mycluster-datanode-2`; names the node in every report.
    pub name: String,
    pub component: Component,
    /// The ConfigMap holding the generated file, e.g. `mycluster-datanode`.
    pub config_map: String,
    /// The file the process reads at `/etc/greptimedb/config.toml` (for datanodes and
    /// flownodes, after the initializer set `node_id` and the gRPC addresses).
    pub config_toml: String,
    /// The container's arguments after the image's `greptime` entrypoint, e.g.
    /// `["datanode", "start", "--metasrv-addrs", "mycluster-meta.default:3002", …]`.
    pub args: Vec<String>,
    /// The main container's environment as far as it is known: `template.main.env` (plain
    /// values, `secretKeyRef`/`configMapKeyRef` to objects in the input, the pod's name and
    /// namespace), `envFrom` of objects in the input, then the operator's `POD_IP` (the
    /// placeholder), `POD_NAME`, `POD_NAMESPACE`, `ROLE`. What cannot be known is left out (a
    /// finding names it).
    pub env: IndexMap<String, String>,
}

/// A problem in the resource, stated in the resource's own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFinding {
    /// Stable code, e.g. `kafka_tls_empty`, `credential_not_url_safe`.
    pub code: String,
    /// `error` when GreptimeDB (or the operator) would refuse or misbehave for sure,
    /// `warning` when the result is legal but probably not what was meant.
    pub severity: FindingSeverity,
    /// The resource field to change, e.g. `spec.wal.kafka.tls`.
    pub field: String,
    pub message: String,
    /// What to write instead, in the resource's terms.
    pub fix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingSeverity {
    Warning,
    Error,
}
