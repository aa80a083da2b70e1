//! The main container's command line (`generateMainContainerArgs` in each deployer):
//! `greptime <role> start` with the listen and advertise addresses, `--metasrv-addrs` and
//! `--config-file`, then `extraArgs`. `template.main.args` replaces all of it.

use super::initializer::{bind_address, server_address};
use super::resource::MainContainer;

/// The config file every role's process reads (`/etc/greptimedb/config.toml`).
pub const CONFIG_FILE: &str = "/etc/greptimedb/config.toml";
/// Where the frontend's TLS Secret is mounted.
pub const TLS_DIR: &str = "/etc/greptimedb/tls";
/// Kubernetes' reference to the pod IP, expanded by the kubelet.
const POD_IP_REF: &str = "$(POD_IP)";

/// What a role's generated flags need.
#[derive(Debug, Clone, Copy)]
pub enum Flags<'a> {
    Meta {
        rpc: i32,
        http: i32,
    },
    Frontend {
        rpc: i32,
        http: i32,
        mysql: i32,
        postgres: i32,
        internal: i32,
        metasrv: &'a str,
        tls: bool,
    },
    Datanode {
        http: i32,
        metasrv: &'a str,
    },
    Flownode {
        rpc: i32,
        http: i32,
        metasrv: &'a str,
    },
}

/// `<cluster>-meta.<namespace>:<meta rpcPort>`: the meta Service's short name.
pub fn metasrv_addr(cluster: &str, namespace: &str, meta_rpc_port: i32) -> String {
    format!("{cluster}-meta.{namespace}:{meta_rpc_port}")
}

/// The operator's flags for one role, before `extraArgs`.
pub fn generated(flags: Flags, ipv6: bool) -> Vec<String> {
    let bind = |port| bind_address(ipv6, port);
    let server = |port| server_address(ipv6, POD_IP_REF, port);
    let config = CONFIG_FILE.to_string();
    let args: Vec<String> = match flags {
        Flags::Meta { rpc, http } => vec![
            "metasrv".into(),
            "start".into(),
            "--rpc-bind-addr".into(),
            bind(rpc),
            "--http-addr".into(),
            bind(http),
            "--rpc-server-addr".into(),
            server(rpc),
            "--config-file".into(),
            config,
        ],
        Flags::Frontend {
            rpc,
            http,
            mysql,
            postgres,
            internal,
            metasrv,
            tls,
        } => {
            let mut args = vec![
                "frontend".into(),
                "start".into(),
                "--rpc-bind-addr".into(),
                bind(rpc),
                "--rpc-server-addr".into(),
                server(rpc),
                "--metasrv-addrs".into(),
                metasrv.to_string(),
                "--http-addr".into(),
                bind(http),
                "--mysql-addr".into(),
                bind(mysql),
                "--postgres-addr".into(),
                bind(postgres),
                "--config-file".into(),
                config,
                "--internal-rpc-bind-addr".into(),
                bind(internal),
                "--internal-rpc-server-addr".into(),
                server(internal),
            ];
            if tls {
                args.extend([
                    "--tls-mode".into(),
                    "prefer".into(),
                    "--tls-cert-path".into(),
                    format!("{TLS_DIR}/tls.crt"),
                    "--tls-key-path".into(),
                    format!("{TLS_DIR}/tls.key"),
                ]);
            }
            args
        }
        Flags::Datanode { http, metasrv } => vec![
            "datanode".into(),
            "start".into(),
            "--metasrv-addrs".into(),
            metasrv.to_string(),
            "--http-addr".into(),
            bind(http),
            "--config-file".into(),
            config,
        ],
        Flags::Flownode { rpc, http, metasrv } => vec![
            "flownode".into(),
            "start".into(),
            "--rpc-bind-addr".into(),
            bind(rpc),
            "--rpc-server-addr".into(),
            server(rpc),
            "--http-addr".into(),
            bind(http),
            "--metasrv-addrs".into(),
            metasrv.to_string(),
            "--config-file".into(),
            config,
        ],
    };
    args
}

/// The container's `args` as the operator sets them: the template's own `args` when it has
/// any (its `extraArgs` are then dropped), else the generated ones followed by `extraArgs`.
pub fn container_args(main: Option<&MainContainer>, generated: Vec<String>) -> Vec<String> {
    let own = main.and_then(|m| m.args.clone()).unwrap_or_default();
    if !own.is_empty() {
        return own;
    }
    let mut args = generated;
    args.extend(main.and_then(|m| m.extra_args.clone()).unwrap_or_default());
    args
}

/// Whether `args` tell GreptimeDB to read a config file (`-c`/`--config-file`).
pub fn reads_config_file(args: &[String]) -> bool {
    args.iter().any(|a| {
        a == "-c"
            || a == "--config-file"
            || a.starts_with("--config-file=")
            || (a.starts_with("-c") && !a.starts_with("--") && a.len() > 2)
    })
}
