//! The datanode's and flownode's init container (`cmd/initializer`): it reads the ConfigMap,
//! sets `node_id` and the gRPC addresses over whatever the file says (its merge is
//! OperatorFirst), and writes the file the process reads.
//!
//! The pod IP is not known before the pod runs: `grpc.server_addr` carries
//! [`POD_IP_PLACEHOLDER`] where the initializer writes the IP.

use toml::{Table, Value};

use super::dbconfig;
use super::rendered::POD_IP_PLACEHOLDER;

/// What the initializer is told (its flags and environment).
#[derive(Debug, Clone, Copy)]
pub struct Initializer {
    /// `--rpc-port`: the role's `rpcPort`.
    pub rpc_port: i32,
    /// `--datanode-group-id`: the group's index in `datanodeGroups`.
    pub group_id: Option<u32>,
    /// `--start-node-id`.
    pub start_node_id: i32,
    /// `ENABLE_IPV6=true` in its environment (datanodes only: the flownode's initializer is
    /// not given that variable).
    pub ipv6: bool,
}

impl Initializer {
    /// `allocateNodeID`: the pod ordinal (the number after the hostname's last `-`), with the
    /// group id in the high 32 bits, plus the start id.
    pub fn node_id(&self, ordinal: u32) -> i64 {
        let mut id = u64::from(ordinal);
        if let Some(group) = self.group_id {
            id |= u64::from(group) << 32;
        }
        (id as i64).wrapping_add(i64::from(self.start_node_id))
    }

    /// The final file of the pod with `ordinal`.
    pub fn generate(&self, config_map: &Table, ordinal: u32) -> Table {
        let bind = bind_address(self.ipv6, self.rpc_port);
        let server = server_address(self.ipv6, POD_IP_PLACEHOLDER, self.rpc_port);
        let generated = [
            ("node_id", Value::Integer(self.node_id(ordinal))),
            ("grpc.bind_addr", Value::String(bind)),
            ("grpc.server_addr", Value::String(server)),
        ];
        dbconfig::merge(config_map, &generated, false)
    }
}

/// `GetBindAddress`: `0.0.0.0:port`, `[::]:port` with IPv6.
pub fn bind_address(ipv6: bool, port: i32) -> String {
    if ipv6 {
        format!("[::]:{port}")
    } else {
        format!("0.0.0.0:{port}")
    }
}

/// `GetServerAddress`: `ip:port`, `[ip]:port` with IPv6.
pub fn server_address(ipv6: bool, ip: &str, port: i32) -> String {
    if ipv6 {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_follow_the_initializer() {
        let plain = Initializer {
            rpc_port: 4001,
            group_id: None,
            start_node_id: 10,
            ipv6: false,
        };
        assert_eq!(plain.node_id(1), 11);
        let grouped = Initializer {
            group_id: Some(42),
            start_node_id: 0,
            ..plain
        };
        assert_eq!(grouped.node_id(1), (42_i64 << 32) | 1);
    }
}
