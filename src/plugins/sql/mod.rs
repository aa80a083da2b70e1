//! `sql.*`: metasrv's PostgreSQL (`backend = "postgres_store"`) and MySQL
//! (`backend = "mysql_store"`) metadata stores.
//!
//! Every step connects with `store_addrs[0]` and `[backend_tls]` exactly as metasrv does (see
//! `pg_connect.rs` and `my_connect.rs` for the connection string forms, the TLS mapping and
//! where sqlx differs from metasrv's drivers), then checks one thing metasrv needs at start-up:
//!
//! * `sql.connect`: the connection, server version and TLS;
//! * `sql.metadata_table`: the schema and the metadata table exist or can be created, with
//!   metasrv's column types;
//! * `sql.privileges`: the role may create, read, write and delete its metadata, proven
//!   without leaving anything behind;
//! * `sql.election`: what leader election needs (PostgreSQL advisory lock, MySQL election
//!   table) and the current leader;
//! * `sql.latency`: upsert and point-select latency on a temporary copy of the table.
//!
//! Passwords are never put into messages: errors name the host, port, user and database only.

mod client;
mod connect;
mod election;
mod errors;
mod latency;
mod metadata_table;
mod my_connect;
mod my_grants;
mod my_privileges;
mod my_session;
mod pg_connect;
mod pg_privileges;
mod pg_witness;
mod privileges;
mod sql_text;

use schemars::JsonSchema;

pub use crate::plugins::backend_tls::{BackendTls, TlsMode};
use serde::{Deserialize, Serialize};

use super::StepError;

pub use connect::{Connect, ConnectOutput, ConnectParams};
pub use election::{Election, ElectionOutput, ElectionParams};
pub use latency::{Latency, LatencyOutput, LatencyParams};
pub use metadata_table::{MetadataTable, MetadataTableOutput, MetadataTableParams};
pub use privileges::{Privileges, PrivilegesOutput, PrivilegesParams};

pub(super) static STEPS: &[&dyn super::DynStep] =
    &[&Connect, &MetadataTable, &Privileges, &Election, &Latency];

/// metasrv's `backend`, for the two SQL stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "SqlBackend")]
pub enum Backend {
    /// PostgreSQL: `store_addrs[0]` is a `postgres://` URI or a libpq keyword string.
    PostgresStore,
    /// MySQL (or a MySQL-compatible server): `store_addrs[0]` is a `mysql://` URL.
    MysqlStore,
}

impl Backend {
    /// `PostgreSQL` or `MySQL`, for messages.
    pub fn product(self) -> &'static str {
        match self {
            Backend::PostgresStore => "PostgreSQL",
            Backend::MysqlStore => "MySQL",
        }
    }
}

/// What every `sql.*` step connects with: metasrv's `backend`, `store_addrs[0]` and
/// `[backend_tls]`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StoreParams {
    /// metasrv `backend`: `postgres_store` or `mysql_store`.
    pub backend: Backend,
    /// metasrv `store_addrs[0]` (metasrv uses only the first entry). PostgreSQL: a
    /// `postgres://` / `postgresql://` URI or a libpq keyword string (`host=… port=… user=…
    /// password=… dbname=… sslmode=… connect_timeout=…`). MySQL: a `mysql://` URL. The
    /// password is used to connect and never repeated in messages.
    pub store_addr: String,
    /// metasrv `[backend_tls]` (`mode`, `ca_cert_path`, `cert_path`, `key_path`), applied
    /// exactly as metasrv applies it (default: mode `prefer`, no files).
    #[serde(default)]
    pub tls: BackendTls,
}

/// Where metasrv keeps its metadata in the store: `meta_table_name` and `meta_schema_name`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct MetaTableParams {
    /// metasrv `meta_table_name` (default `greptime_metakv`). On MySQL, `sql.election` reads
    /// `<table>_election`, where metasrv's leader election keeps its rows; `sql.latency` reads
    /// the table in `--read-only` runs only.
    #[serde(default = "default_table")]
    pub table: String,
    /// metasrv `meta_schema_name` (PostgreSQL only; empty or null: none, the table resolves
    /// through `search_path`). Ignored for MySQL, as metasrv ignores it.
    #[serde(default)]
    pub schema: Option<String>,
}

impl MetaTableParams {
    /// `meta_schema_name`, or `None` when it is empty or null.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref().filter(|s| !s.is_empty())
    }

    /// Rejects a table name, and for PostgreSQL a schema name, that metasrv cannot quote;
    /// returns the schema.
    pub fn checked_schema(&self, backend: Backend) -> Result<Option<&str>, StepError> {
        sql_text::check_name(backend, "meta_table_name", &self.table)?;
        let schema = self.schema();
        if let (Backend::PostgresStore, Some(schema)) = (backend, schema) {
            sql_text::check_name(backend, "meta_schema_name", schema)?;
        }
        Ok(schema)
    }
}

/// metasrv's default `meta_table_name`.
fn default_table() -> String {
    "greptime_metakv".into()
}

/// metasrv's default `auto_create_schema`.
fn default_auto_create_schema() -> bool {
    true
}
