//! The integration tests, built as one test binary.
//!
//! Every integration test links the whole crate and its dependency tree (OpenDAL, sqlx, tonic,
//! rskafka…); as separate binaries they took ~340 MB each and over 9 GB together in a debug
//! build, enough to fill a CI machine's disk. One binary links once, and its tests still run in
//! parallel. `Cargo.toml` sets `autotests = false` so cargo does not also build each file alone.
//!
//! Run one area with a filter: `cargo test --test integration plugins_etcd::`.

#[macro_use]
mod common;
#[path = "support/dead_servers.rs"]
mod dead_servers;
#[path = "support/metasrv_standin.rs"]
mod metasrv_standin;

mod bench_object_store;
mod cli;
mod cluster_cli;
mod datanode_cli;
mod dead_path;
mod dockerfile;
mod examples;
mod fix_etcd;
mod fix_sql;
mod frontend_cli;
mod generate_cli;
mod interrupt_cli;
mod kubernetes_cli;
mod kubernetes_errors;
mod kubernetes_render;
mod metasrv_cli;
mod plugins_cluster;
mod plugins_config;
mod plugins_etcd;
mod plugins_fs;
mod plugins_http;
mod plugins_kafka;
mod plugins_metasrv;
mod plugins_net;
mod plugins_object_store;
mod plugins_sql;
mod report_json;
mod report_junit;
mod report_text;
mod schema_validate;
mod start_flags_cli;
mod steps;
mod wal_cli;
