//! What the operator does to the resource before generating configs (`apis/v1alpha1/
//! defaulting.go`), limited to what reaches a config file or a command line: `SetDefaults`
//! (written back to the resource), then, in memory, `MergeWithBaseTemplate`,
//! `MergeWithGlobalLogging` and `MergeWithGlobalTracing`.
//!
//! The operator merges with mergo without overwrite (`merge.rs`): an explicit `false` (or `0`)
//! is replaced by a default or global `true`: `slowQuery.enabled: false` comes back `true`.

mod merge;

use indexmap::IndexMap;

use self::merge::{
    fill, fill_struct, merge_audit_log, merge_file_storage, merge_logging, merge_slow_query,
    merge_template, merge_tracing,
};
use super::resource::{
    AuditLogSpec, ClusterSpec, DatanodeSpec, DatanodeStorage, FileStorage, FlownodeSpec,
    FrontendSpec, InitializerSpec, LogFormat, LogLevel, LoggingSpec, MetaSpec, MonitoringSpec,
    PodTemplate, RetainPolicy, SlowQuery, SlowQueryRecordType, TracingSpec,
};

pub const DEFAULT_HTTP_PORT: i32 = 4000;
pub const DEFAULT_RPC_PORT: i32 = 4001;
pub const DEFAULT_MYSQL_PORT: i32 = 4002;
pub const DEFAULT_POSTGRES_PORT: i32 = 4003;
pub const DEFAULT_META_RPC_PORT: i32 = 3002;
pub const DEFAULT_INTERNAL_RPC_PORT: i32 = 4010;
pub const DEFAULT_DATA_HOME: &str = "/data/greptimedb";
pub const DEFAULT_LOGS_DIR: &str = "/data/greptimedb/logs";
pub const DEFAULT_AUDIT_LOGS_DIR: &str = "/data/greptimedb/audit-logs";
pub const DEFAULT_MONITORING_TTL: &str = "30d";
/// The value `SetDefaults` writes over whatever `configMergeStrategy` says.
pub const INJECTED_DATA_FIRST: &str = "ConfigMergeStrategyInjectedDataFirst";
pub const OPERATOR_FIRST: &str = "ConfigMergeStrategyOperatorFirst";

fn default_logging(monitoring: bool) -> LoggingSpec {
    LoggingSpec {
        level: Some(LogLevel::Info),
        filters: None,
        logs_dir: Some(DEFAULT_LOGS_DIR.into()),
        persistent_with_data: Some(false),
        only_log_to_stdout: Some(false),
        format: Some(if monitoring {
            LogFormat::Json
        } else {
            LogFormat::Text
        }),
    }
}

fn default_slow_query() -> SlowQuery {
    SlowQuery {
        enabled: Some(true),
        record_type: Some(SlowQueryRecordType::SystemTable),
        threshold: Some("30s".into()),
        sample_ratio: Some("1.0".into()),
        ttl: Some("90d".into()),
    }
}

fn default_audit_log() -> AuditLogSpec {
    AuditLogSpec {
        enabled: Some(true),
        dir: Some(DEFAULT_AUDIT_LOGS_DIR.into()),
        sources: Some("all".into()),
        classes: Some("all".into()),
        commands: Some("all".into()),
        object_types: Some("all".into()),
        max_log_files: Some(30),
    }
}

fn default_datanode_storage() -> DatanodeStorage {
    DatanodeStorage {
        data_home: Some(DEFAULT_DATA_HOME.into()),
        fs: Some(FileStorage {
            name: Some("datanode".into()),
            storage_size: Some("10Gi".into()),
            mount_path: Some(DEFAULT_DATA_HOME.into()),
            storage_retain_policy: Some(RetainPolicy::Retain),
            ..FileStorage::default()
        }),
    }
}

/// The `Template`, `Logging`, `Tracing` every component gets (`&{}` when absent).
fn component_defaults(
    template: &mut Option<PodTemplate>,
    logging: &mut Option<LoggingSpec>,
    tracing: &mut Option<TracingSpec>,
) {
    template.get_or_insert_with(PodTemplate::default);
    logging.get_or_insert_with(LoggingSpec::default);
    tracing.get_or_insert_with(TracingSpec::default);
}

fn default_meta(meta: &mut MetaSpec) {
    component_defaults(&mut meta.template, &mut meta.logging, &mut meta.tracing);
    fill(&mut meta.rpc_port, &Some(DEFAULT_META_RPC_PORT));
    fill(&mut meta.http_port, &Some(DEFAULT_HTTP_PORT));
    meta.enable_region_failover.get_or_insert(false);
    meta.replicas.get_or_insert(1);
}

/// `defaultFrontend`; `top_audit` is whether the top-level frontend enables its audit log,
/// which the operator checks for every frontend (groups included).
fn default_frontend(frontend: &mut FrontendSpec, top_replicas_set: bool, top_audit: bool) {
    component_defaults(
        &mut frontend.template,
        &mut frontend.logging,
        &mut frontend.tracing,
    );
    fill(&mut frontend.rpc_port, &Some(DEFAULT_RPC_PORT));
    fill(&mut frontend.http_port, &Some(DEFAULT_HTTP_PORT));
    fill(&mut frontend.mysql_port, &Some(DEFAULT_MYSQL_PORT));
    fill(&mut frontend.postgresql_port, &Some(DEFAULT_POSTGRES_PORT));
    fill(
        &mut frontend.internal_port,
        &Some(DEFAULT_INTERNAL_RPC_PORT),
    );
    fill_struct(
        &mut frontend.slow_query,
        &Some(default_slow_query()),
        merge_slow_query,
    );
    if !top_replicas_set {
        frontend.replicas.get_or_insert(1);
    }
    if top_audit {
        fill_struct(
            &mut frontend.audit_log,
            &Some(default_audit_log()),
            merge_audit_log,
        );
    }
}

fn default_datanode(datanode: &mut DatanodeSpec) {
    component_defaults(
        &mut datanode.template,
        &mut datanode.logging,
        &mut datanode.tracing,
    );
    fill(&mut datanode.rpc_port, &Some(DEFAULT_RPC_PORT));
    fill(&mut datanode.http_port, &Some(DEFAULT_HTTP_PORT));
    fill_struct(
        &mut datanode.storage,
        &Some(default_datanode_storage()),
        |dst, src| {
            fill(&mut dst.data_home, &src.data_home);
            fill_struct(&mut dst.fs, &src.fs, merge_file_storage);
        },
    );
    datanode.replicas.get_or_insert(1);
}

fn default_flownode(flownode: &mut FlownodeSpec) {
    component_defaults(
        &mut flownode.template,
        &mut flownode.logging,
        &mut flownode.tracing,
    );
    fill(&mut flownode.rpc_port, &Some(DEFAULT_RPC_PORT));
    fill(&mut flownode.http_port, &Some(DEFAULT_HTTP_PORT));
    flownode.replicas.get_or_insert(1);
}

/// `SetDefaults`, then the in-memory merges, as reconcile runs them.
pub fn apply(spec: &mut ClusterSpec) {
    set_defaults(spec);
    merge_with_base_template(spec);
    merge_with_global_logging(spec);
    merge_with_global_tracing(spec);
}

/// `SetDefaults`: the defaults written back into the resource.
pub fn set_defaults(spec: &mut ClusterSpec) {
    let monitoring = MonitoringSpec::is_enabled(spec.monitoring.as_ref());
    spec.base.get_or_insert_with(PodTemplate::default);
    fill_struct(
        &mut spec.initializer,
        &Some(InitializerSpec {
            image: Some("greptime/greptimedb-initializer:latest".into()),
        }),
        |dst, src| fill(&mut dst.image, &src.image),
    );
    fill(&mut spec.http_port, &Some(DEFAULT_HTTP_PORT));
    fill(&mut spec.rpc_port, &Some(DEFAULT_RPC_PORT));
    fill(&mut spec.mysql_port, &Some(DEFAULT_MYSQL_PORT));
    fill(&mut spec.postgresql_port, &Some(DEFAULT_POSTGRES_PORT));
    default_meta(spec.meta.get_or_insert_with(MetaSpec::default));

    let top_replicas_set = spec.frontend.as_ref().is_some_and(|f| f.replicas.is_some());
    let top_audit = spec
        .frontend
        .as_ref()
        .and_then(|f| f.audit_log.as_ref())
        .is_some_and(|a| a.enabled == Some(true));
    if let Some(frontend) = &mut spec.frontend {
        default_frontend(frontend, top_replicas_set, top_audit);
    }
    for group in spec.frontend_groups.iter_mut().flatten() {
        default_frontend(group, top_replicas_set, top_audit);
    }
    if let Some(flownode) = &mut spec.flownode {
        default_flownode(flownode);
    }
    if let Some(datanode) = &mut spec.datanode {
        default_datanode(datanode);
    }
    for group in spec.datanode_groups.iter_mut().flatten() {
        default_datanode(group);
    }
    fill_struct(
        &mut spec.logging,
        &Some(default_logging(monitoring)),
        merge_logging,
    );
    if monitoring {
        let m = spec.monitoring.get_or_insert_with(MonitoringSpec::default);
        fill(&mut m.ttl, &Some(DEFAULT_MONITORING_TTL.into()));
        let ttl = m
            .ttl
            .clone()
            .unwrap_or_else(|| DEFAULT_MONITORING_TTL.into());
        let headers = IndexMap::from([("x-greptime-hint-ttl".to_string(), ttl)]);
        fill_struct(
            &mut spec.tracing,
            &Some(TracingSpec {
                headers: Some(headers),
                ..TracingSpec::default()
            }),
            merge_tracing,
        );
    }
    spec.config_merge_strategy = Some(INJECTED_DATA_FIRST.into());
}

/// Every component's pod template, in the operator's order.
fn templates(spec: &mut ClusterSpec) -> Vec<&mut Option<PodTemplate>> {
    let mut out = Vec::new();
    for f in spec.frontend_groups.iter_mut().flatten() {
        out.push(&mut f.template);
    }
    if let Some(f) = &mut spec.frontend {
        out.push(&mut f.template);
    }
    if let Some(m) = &mut spec.meta {
        out.push(&mut m.template);
    }
    for d in spec.datanode_groups.iter_mut().flatten() {
        out.push(&mut d.template);
    }
    if let Some(d) = &mut spec.datanode {
        out.push(&mut d.template);
    }
    if let Some(f) = &mut spec.flownode {
        out.push(&mut f.template);
    }
    out
}

fn merge_with_base_template(spec: &mut ClusterSpec) {
    let base = spec.base.clone();
    for template in templates(spec) {
        fill_struct(template, &base, merge_template);
    }
}

/// Every component's `(logging, tracing)`.
fn component_observability(
    spec: &mut ClusterSpec,
) -> Vec<(&mut Option<LoggingSpec>, &mut Option<TracingSpec>)> {
    let mut out = Vec::new();
    if let Some(m) = &mut spec.meta {
        out.push((&mut m.logging, &mut m.tracing));
    }
    if let Some(f) = &mut spec.flownode {
        out.push((&mut f.logging, &mut f.tracing));
    }
    if let Some(d) = &mut spec.datanode {
        out.push((&mut d.logging, &mut d.tracing));
    }
    for d in spec.datanode_groups.iter_mut().flatten() {
        out.push((&mut d.logging, &mut d.tracing));
    }
    if let Some(f) = &mut spec.frontend {
        out.push((&mut f.logging, &mut f.tracing));
    }
    for f in spec.frontend_groups.iter_mut().flatten() {
        out.push((&mut f.logging, &mut f.tracing));
    }
    out
}

fn merge_with_global_logging(spec: &mut ClusterSpec) {
    let Some(global) = spec.logging.clone() else {
        return;
    };
    let monitoring = MonitoringSpec::is_enabled(spec.monitoring.as_ref());
    for (logging, _) in component_observability(spec) {
        if let Some(logging) = logging {
            merge_logging(logging, &global);
            if monitoring {
                logging.format = Some(LogFormat::Json);
            }
        }
    }
}

fn merge_with_global_tracing(spec: &mut ClusterSpec) {
    let Some(global) = spec.tracing.clone() else {
        return;
    };
    for (_, tracing) in component_observability(spec) {
        if let Some(tracing) = tracing {
            merge_tracing(tracing, &global);
        }
    }
}
