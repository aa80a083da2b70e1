//! `net.*`: TCP reachability of a dependency and bindability of a component's own listen
//! address.

mod bind_available;
mod tcp_connect;

pub use bind_available::{BindAvailable, BindAvailableOutput, BindAvailableParams};
pub use tcp_connect::{TcpConnect, TcpConnectOutput, TcpConnectParams};

pub(super) static STEPS: &[&dyn super::DynStep] = &[&TcpConnect, &BindAvailable];

/// Where the plugins (net, etcd, kafka, metasrv, cluster) take `host:port` from.
pub(crate) use crate::notation::endpoint::HostPort;
