//! A stand-in metasrv for the tests: a real tonic gRPC server on a loopback address that
//! implements `Heartbeat.AskLeader`, `Cluster.MetasrvPeers` and `Store.Range` from the crate's
//! own generated code (`greptime_self_test::plugins::metasrv::proto`), so it speaks exactly the
//! contract the steps speak. No metasrv binary can be installed on the test machines.
//!
//! Each instance is configured with a [`Behaviour`]: leader (names itself), follower (names
//! another address), no leader (three ways), slow, advertising a wrong address, with or without
//! the Heartbeat service. It records every request, so tests can check what the steps send.
//!
//! Its metadata store follows the rules of GreptimeDB's etcd backend, the default: a `Range`
//! with an empty key is refused with `InvalidArgument: Empty key is not allowed`
//! (`ensure!(!key.is_empty(), EmptyKey)` in `src/common/meta/src/kv_backend/etcd.rs`, observed
//! on GreptimeDB 1.0 in greptimedb.md §10), and a failing backend surfaces as a gRPC status,
//! never as a response-header error: metasrv's Store service answers `ResponseHeader::success()`
//! or propagates the error (`src/meta-srv/src/service/store.rs`), which
//! `define_into_tonic_status!` (`src/common/error/src/status_code.rs`) turns into the tonic
//! code of its status code, with the status code in `x-greptime-err-code` and, for internal
//! errors, the masked message `Internal error: 1003` (`output_msg` in
//! `src/common/error/src/ext.rs`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use greptime_self_test::plugins::metasrv::proto::cluster_server::{Cluster, ClusterServer};
use greptime_self_test::plugins::metasrv::proto::heartbeat_server::{Heartbeat, HeartbeatServer};
use greptime_self_test::plugins::metasrv::proto::store_server::{Store, StoreServer};
use greptime_self_test::plugins::metasrv::proto::{
    AskLeaderRequest, AskLeaderResponse, Error, KeyValue, MetasrvNodeInfo, MetasrvPeersRequest,
    MetasrvPeersResponse, NodeInfo, Peer, RangeRequest, RangeResponse, ResponseHeader,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataMap;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;
use tonic::{Code, Request, Response, Status};

/// What AskLeader answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This instance is the leader: it names its advertised address.
    Leader,
    /// A follower: names this address as the leader.
    Follower(String),
    /// No leader, reported in the response header (`error { code: 2 }`).
    NoLeaderHeader,
    /// No leader, reported as a success with no `leader` peer.
    NoLeaderEmpty,
    /// No leader, reported as a gRPC error status, as GreptimeDB does when its election has
    /// no leader (`ElectionNoLeader`, an internal error: `Internal error: 1003`).
    NoLeaderStatus,
}

/// How one stand-in behaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub answer: Answer,
    /// The address it advertises (its `grpc.server_addr`): named by AskLeader as leader and
    /// listed by MetasrvPeers. Default: the address it listens on.
    pub advertise: Option<String>,
    /// Delay before every answer.
    pub delay: Duration,
    /// Followers that MetasrvPeers lists (when leader).
    pub followers: Vec<String>,
    /// Version reported by MetasrvPeers, in `info.version`.
    pub version: String,
    /// Keys of its metadata store.
    pub keys: Vec<Vec<u8>>,
    /// Whether the backend is broken: Store.Range then fails as metasrv fails when etcd is
    /// unreachable (`EtcdFailed`, an internal error).
    pub broken_backend: bool,
    /// Whether Store.Range accepts an empty key: false for the default etcd backend; true for
    /// the PostgreSQL and MySQL backends (`src/common/meta/src/kv_backend/rds/*` treat it as
    /// the start of the key space) and for any backend under a `store_key_prefix` (the
    /// `ChrootKvBackend` prepends the prefix, so the backend never sees an empty key).
    pub empty_key_allowed: bool,
    /// Whether the Heartbeat service (AskLeader) is served; without it the server answers
    /// AskLeader with Unimplemented, as a non-metasrv gRPC server does.
    pub heartbeat: bool,
}

impl Behaviour {
    fn new(answer: Answer) -> Self {
        Self {
            answer,
            advertise: None,
            delay: Duration::ZERO,
            followers: Vec::new(),
            version: "v1.0.0-standin".into(),
            keys: vec![b"__standin/a".to_vec(), b"__standin/b".to_vec()],
            broken_backend: false,
            empty_key_allowed: false,
            heartbeat: true,
        }
    }

    pub fn leader() -> Self {
        Self::new(Answer::Leader)
    }

    pub fn follower(of: &str) -> Self {
        Self::new(Answer::Follower(of.to_string()))
    }

    pub fn no_leader(answer: Answer) -> Self {
        Self::new(answer)
    }

    pub fn slow(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn advertise(mut self, address: &str) -> Self {
        self.advertise = Some(address.to_string());
        self
    }

    pub fn followers(mut self, followers: &[&str]) -> Self {
        self.followers = followers.iter().map(|f| f.to_string()).collect();
        self
    }

    pub fn keys(mut self, keys: &[&str]) -> Self {
        self.keys = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
        self
    }

    pub fn broken_backend(mut self) -> Self {
        self.broken_backend = true;
        self
    }

    /// A backend that takes an empty key: PostgreSQL, MySQL, or etcd under a
    /// `store_key_prefix`.
    pub fn empty_key_allowed(mut self) -> Self {
        self.empty_key_allowed = true;
        self
    }

    pub fn without_heartbeat(mut self) -> Self {
        self.heartbeat = false;
        self
    }
}

/// A request the stand-in received.
#[derive(Debug, Clone)]
pub enum Received {
    AskLeader(AskLeaderRequest),
    MetasrvPeers(MetasrvPeersRequest),
    Range(RangeRequest),
}

#[derive(Clone)]
struct Service {
    behaviour: Behaviour,
    /// The advertised address.
    advertised: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Service {
    async fn receive(&self, request: Received) {
        self.received.lock().unwrap().push(request);
        if !self.behaviour.delay.is_zero() {
            tokio::time::sleep(self.behaviour.delay).await;
        }
    }

    fn ok_header() -> Option<ResponseHeader> {
        Some(ResponseHeader {
            protocol_version: 1,
            error: None,
        })
    }

    fn error_header(code: i32, message: &str) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            protocol_version: 1,
            error: Some(Error {
                code,
                err_msg: message.to_string(),
            }),
        })
    }

    fn node(&self, addr: &str) -> MetasrvNodeInfo {
        MetasrvNodeInfo {
            peer: Some(Peer {
                id: 0,
                addr: addr.to_string(),
            }),
            version: String::new(),
            info: Some(NodeInfo {
                version: self.behaviour.version.clone(),
                git_commit: "0123456789abcdef".into(),
                start_time_ms: 1_700_000_000_000,
                hostname: "standin".into(),
            }),
        }
    }
}

#[tonic::async_trait]
impl Heartbeat for Service {
    async fn ask_leader(
        &self,
        request: Request<AskLeaderRequest>,
    ) -> Result<Response<AskLeaderResponse>, Status> {
        self.receive(Received::AskLeader(request.into_inner()))
            .await;
        let peer = |addr: &str| {
            Some(Peer {
                id: 0,
                addr: addr.to_string(),
            })
        };
        let response = match &self.behaviour.answer {
            Answer::Leader => AskLeaderResponse {
                header: Self::ok_header(),
                leader: peer(&self.advertised),
            },
            Answer::Follower(leader) => AskLeaderResponse {
                header: Self::ok_header(),
                leader: peer(leader),
            },
            Answer::NoLeaderHeader => AskLeaderResponse {
                header: Self::error_header(2, "no leader elected yet"),
                leader: None,
            },
            Answer::NoLeaderEmpty => AskLeaderResponse {
                header: Self::ok_header(),
                leader: None,
            },
            Answer::NoLeaderStatus => return Err(greptime_status(Code::Internal, 1003, "")),
        };
        Ok(Response::new(response))
    }
}

#[tonic::async_trait]
impl Cluster for Service {
    async fn metasrv_peers(
        &self,
        request: Request<MetasrvPeersRequest>,
    ) -> Result<Response<MetasrvPeersResponse>, Status> {
        self.receive(Received::MetasrvPeers(request.into_inner()))
            .await;
        let response = if matches!(self.behaviour.answer, Answer::Leader) {
            MetasrvPeersResponse {
                header: Self::ok_header(),
                leader: Some(self.node(&self.advertised)),
                followers: self
                    .behaviour
                    .followers
                    .iter()
                    .map(|f| self.node(f))
                    .collect(),
            }
        } else {
            // GreptimeDB: a non-leader answers with header error NotLeader (code 2).
            MetasrvPeersResponse {
                header: Self::error_header(2, &format!("{} is not leader", self.advertised)),
                leader: None,
                followers: Vec::new(),
            }
        };
        Ok(Response::new(response))
    }
}

#[tonic::async_trait]
impl Store for Service {
    async fn range(
        &self,
        request: Request<RangeRequest>,
    ) -> Result<Response<RangeResponse>, Status> {
        let request = request.into_inner();
        self.receive(Received::Range(request.clone())).await;
        if request.key.is_empty() && !self.behaviour.empty_key_allowed {
            // GreptimeDB's EtcdStore: `EmptyKey`, status code InvalidArguments (1004).
            return Err(greptime_status(
                Code::InvalidArgument,
                1004,
                "Empty key is not allowed",
            ));
        }
        if self.behaviour.broken_backend {
            return Err(greptime_status(Code::Internal, 1003, ""));
        }
        let mut keys = self.behaviour.keys.clone();
        keys.sort();
        // The range convention of `to_range` (`src/common/meta/src/rpc/store.rs`), which etcd
        // shares: no range_end is one key, `\0` as range_end is "from key on", and `\0` for
        // both is every key.
        let in_range = |key: &Vec<u8>| match (request.key.as_slice(), request.range_end.as_slice())
        {
            (_, []) => *key == request.key,
            ([0], [0]) => true,
            (_, [0]) => *key >= request.key,
            _ => *key >= request.key && *key < request.range_end,
        };
        let matching: Vec<Vec<u8>> = keys.into_iter().filter(in_range).collect();
        let limit = if request.limit > 0 {
            request.limit as usize
        } else {
            usize::MAX
        };
        let kvs = matching
            .iter()
            .take(limit)
            .map(|key| KeyValue {
                key: key.clone(),
                value: if request.keys_only {
                    Vec::new()
                } else {
                    b"value".to_vec()
                },
            })
            .collect();
        Ok(Response::new(RangeResponse {
            header: Self::ok_header(),
            kvs,
            more: matching.len() > limit,
        }))
    }
}

/// An error status as GreptimeDB's metasrv sends it: the tonic code of its status code, the
/// status code in `x-greptime-err-code`, and the message; an internal error (1003) has its
/// message masked as `Internal error: 1003`.
fn greptime_status(code: Code, status_code: u32, message: &str) -> Status {
    let message = if status_code == 1003 {
        format!("Internal error: {status_code}")
    } else {
        message.to_string()
    };
    let mut metadata = MetadataMap::new();
    metadata.insert("x-greptime-err-code", status_code.into());
    Status::with_metadata(code, message, metadata)
}

/// A running stand-in; stops when dropped.
pub struct StandIn {
    /// The socket address it listens on.
    pub addr: SocketAddr,
    /// `host:port` it listens on (`[::1]:port` for IPv6), as a metasrv_addrs entry.
    pub address: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl StandIn {
    /// Starts a stand-in on 127.0.0.1.
    pub async fn start(behaviour: Behaviour) -> Self {
        Self::start_on("127.0.0.1", behaviour).await
    }

    /// Starts a stand-in on `ip` (a loopback address: `127.0.0.2`, `::1`), port chosen by the
    /// system.
    pub async fn start_on(ip: &str, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind stand-in");
        let addr = listener.local_addr().unwrap();
        let address = addr.to_string();
        let advertised = behaviour
            .advertise
            .clone()
            .unwrap_or_else(|| address.clone());
        let received = Arc::new(Mutex::new(Vec::new()));
        let service = Service {
            behaviour: behaviour.clone(),
            advertised,
            received: received.clone(),
        };
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let mut router = Server::builder()
            .add_service(ClusterServer::new(service.clone()))
            .add_service(StoreServer::new(service.clone()));
        if behaviour.heartbeat {
            router = router.add_service(HeartbeatServer::new(service));
        }
        let task = tokio::spawn(async move {
            router
                .serve_with_incoming(incoming)
                .await
                .expect("stand-in serves");
        });
        Self {
            addr,
            address,
            received,
            task,
        }
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TCP server on 127.0.0.1 that is not gRPC: it answers every connection with an HTTP/1.1
/// 400 and closes it (as metasrv's HTTP port, or any HTTP/1 server, would). Stops when the
/// handle is dropped.
pub async fn http1_server() -> (String, AbortOnDrop) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    (address, AbortOnDrop(task))
}

/// A TCP server on 127.0.0.1 that accepts connections and never sends a byte. Stops when the
/// handle is dropped.
pub async fn silent_server() -> (String, AbortOnDrop) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    (address, AbortOnDrop(task))
}

/// Aborts a server task when dropped.
pub struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
