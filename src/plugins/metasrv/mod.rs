//! `metasrv.*`: what a frontend, datanode or flownode needs from metasrv at start-up, asked
//! over metasrv's own gRPC contract, plaintext `http://` as GreptimeDB's meta client connects:
//! `Heartbeat.AskLeader` on each `meta_client.metasrv_addrs` entry, agreement on one leader
//! that this host can reach, `Cluster.MetasrvPeers` on the leader and a read-only
//! `Store.Range` (keys only, limit 1) through metasrv to its metadata backend.
//!
//! The messages come from our own `.proto` (`proto/greptime/v1/meta/selftest.proto`, compiled by
//! `build.rs` into [`proto`]), which declares only what these steps use, with GreptimeDB's field
//! numbers. The server side of the generated code exists for the stand-in metasrv of the tests.

mod ask_leader;
mod client;
mod leader;
mod peers;
mod store_range;

use std::net::IpAddr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use ask_leader::{AskLeader, AskLeaderOutput, AskLeaderParams};
pub use leader::{AddressAnswer, Leader, LeaderOutput, LeaderParams};
pub use peers::{MetasrvNode, Peers, PeersOutput, PeersParams};
pub use store_range::{StoreRange, StoreRangeOutput, StoreRangeParams};

pub(super) static STEPS: &[&dyn super::DynStep] = &[&AskLeader, &Leader, &Peers, &StoreRange];

/// Code generated from `proto/greptime/v1/meta/selftest.proto` (package `greptime.v1.meta`):
/// messages, the `*_client` modules the steps use and the `*_server` modules the test
/// stand-in implements.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("greptime.v1.meta");
}

/// `PROTOCOL_VERSION` of GreptimeDB's meta protocol, sent in every request header.
pub const PROTOCOL_VERSION: u64 = 1;

/// Default of `timeout`: GreptimeDB's `meta_client.timeout`, and also the meta client's
/// heartbeat-channel timeout that bounds its own AskLeader (`HEARTBEAT_TIMEOUT`, 3 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// Default of `connect_timeout`: GreptimeDB's `meta_client.connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The role sent in the request header. Metasrv does not check it for the RPCs these steps
/// use; it only shows up in metasrv's logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `DATANODE` (0).
    Datanode,
    /// `FRONTEND` (1), the default.
    #[default]
    Frontend,
    /// `FLOWNODE` (2).
    Flownode,
}

impl Role {
    fn to_proto(self) -> proto::Role {
        match self {
            Role::Datanode => proto::Role::Datanode,
            Role::Frontend => proto::Role::Frontend,
            Role::Flownode => proto::Role::Flownode,
        }
    }
}

/// The request header GreptimeDB's meta client sends: protocol version 1, the sender's id and
/// role, no cluster id (removed from the protocol), no tracing context.
pub(crate) fn request_header(member_id: u64, role: Role) -> proto::RequestHeader {
    proto::RequestHeader {
        protocol_version: PROTOCOL_VERSION,
        member_id,
        role: role.to_proto() as i32,
        tracing_context: Default::default(),
    }
}

/// The error a response header carries, as `Name (code N): message`; `None` when the request
/// succeeded. As in GreptimeDB's meta client, the presence of `error` is the failure.
pub(crate) fn header_error(header: Option<&proto::ResponseHeader>) -> Option<String> {
    let error = header?.error.as_ref()?;
    let name = match error.code {
        1 => "NotEnoughAvailableDatanodes",
        2 => "NotLeader",
        _ => "error",
    };
    let message = error.err_msg.trim();
    Some(if message.is_empty() {
        format!("{name} (code {})", error.code)
    } else {
        format!("{name} (code {}): {message}", error.code)
    })
}

/// Whether an address means "this host" to whoever connects to it: a loopback address
/// (127.0.0.0/8, ::1, or either mapped into IPv6) or the unspecified address (0.0.0.0, ::).
pub fn ip_is_local_only(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_unspecified(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.is_loopback() || v4.is_unspecified(),
            None => v6.is_loopback() || v6.is_unspecified(),
        },
    }
}

/// Whether a host, as written, means "this host": `Some(true)` for a loopback or unspecified IP
/// literal and for `localhost` (or a name under `.localhost`), `Some(false)` for any other IP
/// literal, `None` for other names, whose meaning depends on where they are resolved. IPv6
/// literals may carry brackets.
pub fn literal_loopback(host: &str) -> Option<bool> {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip_is_local_only(ip));
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    (name == "localhost" || name.ends_with(".localhost")).then_some(true)
}

/// Whether the configured addresses are all loopback, from what is known of each (`None`:
/// a name that did not resolve). False when nothing is known.
pub fn all_loopback(configured: &[Option<bool>]) -> bool {
    let known: Vec<bool> = configured.iter().flatten().copied().collect();
    !known.is_empty() && known.iter().all(|&loopback| loopback)
}

/// The one verdict on loopback leaders: a leader advertised on a loopback address is wrong
/// when this host reaches metasrv on a non-loopback address, because every client that is
/// not on the leader's host is then sent to itself. When the configured addresses are
/// loopback too (everything on one host), it is fine.
pub fn loopback_leader_is_misconfigured(
    leader_is_loopback: bool,
    configured_loopback: bool,
) -> bool {
    leader_is_loopback && !configured_loopback
}

/// Whether GreptimeDB's meta client can make a channel for a `meta_client.metasrv_addrs`
/// entry: it builds `http://<entry>` as a tonic endpoint (`ChannelManager::build_endpoint`,
/// `src/common/grpc/src/channel_manager.rs`), and an entry for which that fails ends its whole
/// AskLeader round (`create_asker(addr)?` in `src/meta-client/src/client/ask_leader.rs`), live
/// entries or not. Any other bad entry is only dialled and skipped.
pub fn greptimedb_makes_channel(entry: &str) -> bool {
    tonic::transport::Endpoint::from_shared(format!("http://{}", entry.trim())).is_ok()
}

/// Trims the addresses and drops empty ones, keeping the order.
pub(crate) fn clean_addresses(addresses: &[String]) -> Vec<String> {
    addresses
        .iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::proto::*;
    use super::*;
    use prost::Message;

    fn bytes(message: &impl Message) -> Vec<u8> {
        message.encode_to_vec()
    }

    #[test]
    fn field_numbers_are_greptimedbs() {
        // Each expected byte string is tag (field << 3 | wire type) followed by the value, so a
        // renumbered or retyped field changes it.
        assert_eq!(
            bytes(&Peer {
                id: 1,
                addr: "a".into()
            }),
            [0x08, 0x01, 0x12, 0x01, b'a']
        );
        // RequestHeader: 1 protocol_version, 3 member_id, 4 role (varint), 5 tracing_context.
        let mut header = RequestHeader {
            protocol_version: 1,
            member_id: 7,
            role: proto::Role::Flownode as i32,
            tracing_context: Default::default(),
        };
        assert_eq!(bytes(&header), [0x08, 0x01, 0x18, 0x07, 0x20, 0x02]);
        header.tracing_context.insert("t".into(), "v".into());
        assert_eq!(
            bytes(&header)[6..],
            [0x2a, 0x06, 0x0a, 0x01, b't', 0x12, 0x01, b'v']
        );
        // ResponseHeader: 1 protocol_version, 3 error; Error: 1 code, 2 err_msg.
        let header = ResponseHeader {
            protocol_version: 1,
            error: Some(Error {
                code: 2,
                err_msg: "x".into(),
            }),
        };
        assert_eq!(
            bytes(&header),
            [0x08, 0x01, 0x1a, 0x05, 0x08, 0x02, 0x12, 0x01, b'x']
        );
        // AskLeaderRequest: 1 header; AskLeaderResponse: 1 header, 2 leader.
        let request = AskLeaderRequest {
            header: Some(RequestHeader {
                protocol_version: 1,
                ..Default::default()
            }),
        };
        assert_eq!(bytes(&request), [0x0a, 0x02, 0x08, 0x01]);
        let response = AskLeaderResponse {
            header: Some(ResponseHeader {
                protocol_version: 1,
                error: None,
            }),
            leader: Some(Peer {
                id: 0,
                addr: "b".into(),
            }),
        };
        assert_eq!(
            bytes(&response),
            [0x0a, 0x02, 0x08, 0x01, 0x12, 0x03, 0x12, 0x01, b'b']
        );
        // KeyValue: 1 key, 2 value.
        let kv = KeyValue {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
        };
        assert_eq!(bytes(&kv), [0x0a, 0x01, b'k', 0x12, 0x01, b'v']);
    }

    #[test]
    fn store_and_cluster_field_numbers_are_greptimedbs() {
        // RangeRequest: 1 header, 2 key, 3 range_end, 4 limit (varint), 5 keys_only.
        let request = RangeRequest {
            header: None,
            key: b"k".to_vec(),
            range_end: vec![0],
            limit: 1,
            keys_only: true,
        };
        assert_eq!(
            bytes(&request),
            [0x12, 0x01, b'k', 0x1a, 0x01, 0x00, 0x20, 0x01, 0x28, 0x01]
        );
        // RangeResponse: 1 header, 2 kvs (repeated), 3 more.
        let response = RangeResponse {
            header: None,
            kvs: vec![KeyValue {
                key: b"k".to_vec(),
                value: Vec::new(),
            }],
            more: true,
        };
        assert_eq!(bytes(&response), [0x12, 0x03, 0x0a, 0x01, b'k', 0x18, 0x01]);
        // MetasrvPeersRequest: 1 header.
        let request = MetasrvPeersRequest {
            header: Some(RequestHeader::default()),
        };
        assert_eq!(bytes(&request), [0x0a, 0x00]);
        // MetasrvPeersResponse: 1 header, 2 leader, 3 followers (repeated).
        let node = |addr: &str| MetasrvNodeInfo {
            peer: Some(Peer {
                id: 0,
                addr: addr.into(),
            }),
            version: String::new(),
            info: None,
        };
        let response = MetasrvPeersResponse {
            header: None,
            leader: Some(node("l")),
            followers: vec![node("f")],
        };
        assert_eq!(
            bytes(&response),
            [0x12, 0x05, 0x0a, 0x03, 0x12, 0x01, b'l', 0x1a, 0x05, 0x0a, 0x03, 0x12, 0x01, b'f']
        );
        // MetasrvNodeInfo: 1 peer, 2 version (deprecated), 7 info; NodeInfo: 1 version,
        // 2 git_commit, 3 start_time_ms, 6 hostname.
        let node = MetasrvNodeInfo {
            peer: None,
            version: "o".into(),
            info: Some(NodeInfo {
                version: "v".into(),
                git_commit: "g".into(),
                start_time_ms: 5,
                hostname: "h".into(),
            }),
        };
        assert_eq!(
            bytes(&node),
            [
                0x12, 0x01, b'o', 0x3a, 0x0b, 0x0a, 0x01, b'v', 0x12, 0x01, b'g', 0x18, 0x05, 0x32,
                0x01, b'h'
            ]
        );
    }

    #[test]
    fn role_numbers_are_greptimedbs() {
        assert_eq!(proto::Role::Datanode as i32, 0);
        assert_eq!(proto::Role::Frontend as i32, 1);
        assert_eq!(proto::Role::Flownode as i32, 2);
        assert_eq!(super::Role::default().to_proto(), proto::Role::Frontend);
        let header = request_header(3, super::Role::Datanode);
        assert_eq!(
            (header.protocol_version, header.member_id, header.role),
            (1, 3, 0)
        );
    }

    #[test]
    fn unknown_fields_from_a_newer_metasrv_are_skipped() {
        // NodeInfo with field 8 (total_memory_bytes, int64) and 4 (deprecated) set as well.
        let wire = [0x0a, 0x01, b'v', 0x20, 0x09, 0x40, 0x80, 0x01];
        let info = NodeInfo::decode(&wire[..]).expect("decodes");
        assert_eq!(info.version, "v");
    }

    #[test]
    fn grpc_paths_are_greptimedbs() {
        use tonic::server::NamedService;
        type Heartbeat = heartbeat_server::HeartbeatServer<NoService>;
        type Store = store_server::StoreServer<NoService>;
        type Cluster = cluster_server::ClusterServer<NoService>;
        assert_eq!(
            <Heartbeat as NamedService>::NAME,
            "greptime.v1.meta.Heartbeat"
        );
        assert_eq!(<Store as NamedService>::NAME, "greptime.v1.meta.Store");
        assert_eq!(<Cluster as NamedService>::NAME, "greptime.v1.meta.Cluster");
    }

    #[test]
    fn generated_clients_call_greptimedbs_paths() {
        let generated = include_str!(concat!(env!("OUT_DIR"), "/greptime.v1.meta.rs"));
        for path in [
            "\"/greptime.v1.meta.Heartbeat/AskLeader\"",
            "\"/greptime.v1.meta.Store/Range\"",
            "\"/greptime.v1.meta.Cluster/MetasrvPeers\"",
        ] {
            assert!(generated.contains(path), "{path} not in the generated code");
        }
    }

    /// A service type for naming the generated servers; never run.
    struct NoService;

    #[tonic::async_trait]
    impl heartbeat_server::Heartbeat for NoService {
        async fn ask_leader(
            &self,
            _: tonic::Request<AskLeaderRequest>,
        ) -> Result<tonic::Response<AskLeaderResponse>, tonic::Status> {
            unreachable!()
        }
    }

    #[tonic::async_trait]
    impl store_server::Store for NoService {
        async fn range(
            &self,
            _: tonic::Request<RangeRequest>,
        ) -> Result<tonic::Response<RangeResponse>, tonic::Status> {
            unreachable!()
        }
    }

    #[tonic::async_trait]
    impl cluster_server::Cluster for NoService {
        async fn metasrv_peers(
            &self,
            _: tonic::Request<MetasrvPeersRequest>,
        ) -> Result<tonic::Response<MetasrvPeersResponse>, tonic::Status> {
            unreachable!()
        }
    }

    #[test]
    fn header_errors_are_named() {
        let header = |code, msg: &str| ResponseHeader {
            protocol_version: 1,
            error: Some(Error {
                code,
                err_msg: msg.into(),
            }),
        };
        assert_eq!(header_error(None), None);
        assert_eq!(header_error(Some(&ResponseHeader::default())), None);
        assert_eq!(
            header_error(Some(&header(2, "not leader"))).as_deref(),
            Some("NotLeader (code 2): not leader")
        );
        assert_eq!(
            header_error(Some(&header(1, ""))).as_deref(),
            Some("NotEnoughAvailableDatanodes (code 1)")
        );
        assert_eq!(
            header_error(Some(&header(0, "backend down"))).as_deref(),
            Some("error (code 0): backend down")
        );
    }

    #[test]
    fn loopback_literals() {
        for host in [
            "127.0.0.1",
            "127.0.1.1",
            "127.255.255.254",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "::",
            "localhost",
            "LOCALHOST.",
            "metasrv.localhost",
        ] {
            assert_eq!(literal_loopback(host), Some(true), "{host}");
        }
        for host in [
            "10.0.0.5",
            "192.168.1.2",
            "fd00::1",
            "[2001:db8::1]",
            "::ffff:10.0.0.1",
        ] {
            assert_eq!(literal_loopback(host), Some(false), "{host}");
        }
        for host in ["metasrv-0.metasrv", "localhost-1", "my-localhost"] {
            assert_eq!(literal_loopback(host), None, "{host}");
        }
    }

    #[test]
    fn configured_addresses_are_loopback_only_when_all_known_ones_are() {
        assert!(all_loopback(&[Some(true)]));
        assert!(all_loopback(&[Some(true), None, Some(true)]));
        assert!(!all_loopback(&[Some(true), Some(false)]));
        assert!(!all_loopback(&[None]));
        assert!(!all_loopback(&[]));
    }

    #[test]
    fn loopback_leader_is_wrong_only_for_remote_clients() {
        assert!(loopback_leader_is_misconfigured(true, false));
        assert!(!loopback_leader_is_misconfigured(true, true));
        assert!(!loopback_leader_is_misconfigured(false, false));
        assert!(!loopback_leader_is_misconfigured(false, true));
    }
}
