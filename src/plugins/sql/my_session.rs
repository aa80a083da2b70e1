//! The settings metasrv's MySQL election puts on every session it opens, replayed on this
//! tool's own session so that the server itself says whether it accepts them.
//!
//! metasrv (GreptimeDB `election/rds/mysql.rs`, `ElectionMysqlClient::maybe_init_client`) runs,
//! on each new election session and before anything else, `SET SESSION TRANSACTION ISOLATION
//! LEVEL SERIALIZABLE` (also what its metadata transactions run first, `kv_backend/rds/mysql.rs`)
//! and then `SET SESSION wait_timeout = ?, innodb_lock_wait_timeout = ?, max_execution_time = ?`
//! with the meta lease (5 s), half of it (2 s) and the lease in milliseconds (5000). An error
//! from either ends metasrv's start-up; MariaDB refuses the second with error 1193, as it has
//! no `max_execution_time` (MySQL 5.7.8 added it). Both statements change this session only,
//! which is closed right after, so replaying them has no side effect.

use sqlx::mysql::{MySqlConnection, MySqlDatabaseError};

use super::errors::query_error;
use super::Backend;
use crate::plugins::StepError;

/// GreptimeDB's `META_LEASE_SECS`: the election's `wait_timeout`, in seconds.
const META_LEASE_SECS: u64 = 5;

/// MySQL's "Unknown system variable" error number.
const UNKNOWN_SYSTEM_VARIABLE: u16 = 1193;

/// The first of metasrv's session settings the server refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The statement, as metasrv sends it (placeholders, not values).
    pub statement: &'static str,
    /// The server's answer, with its error number.
    pub error: String,
    /// The variable an "Unknown system variable" answer names.
    pub unknown_variable: Option<String>,
}

/// Runs metasrv's election session settings in its order, with its values and as prepared
/// statements (as sqlx sends them for metasrv), stopping where metasrv would stop; returns
/// the first the server refuses, or `None` when it accepts them all. A lost connection is an
/// error, not a refusal.
pub(crate) async fn replay_election_settings(
    conn: &mut MySqlConnection,
) -> Result<Option<Refusal>, StepError> {
    let isolation = "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE";
    let result = sqlx::query(isolation).execute(&mut *conn).await;
    if let Some(refusal) = refusal(isolation, result)? {
        return Ok(Some(refusal));
    }
    let timeouts =
        "SET SESSION wait_timeout = ?, innodb_lock_wait_timeout = ?, max_execution_time = ?;";
    let result = sqlx::query(timeouts)
        .bind(META_LEASE_SECS)
        .bind(META_LEASE_SECS / 2)
        .bind(META_LEASE_SECS * 1000)
        .execute(&mut *conn)
        .await;
    refusal(timeouts, result)
}

/// The server's refusal of `statement`, if it refused it.
fn refusal<T>(
    statement: &'static str,
    result: Result<T, sqlx::Error>,
) -> Result<Option<Refusal>, StepError> {
    let Err(e) = result else { return Ok(None) };
    let Some(db) = e
        .as_database_error()
        .and_then(|db| db.try_downcast_ref::<MySqlDatabaseError>())
    else {
        return Err(query_error(
            Backend::MysqlStore,
            &e,
            "replaying metasrv's election session settings",
        ));
    };
    Ok(Some(Refusal {
        statement,
        error: format!("{} (MySQL error {})", db.message(), db.number()),
        unknown_variable: (db.number() == UNKNOWN_SYSTEM_VARIABLE)
            .then(|| quoted(db.message()))
            .flatten(),
    }))
}

/// The first `'…'`-quoted word of a server message.
fn quoted(message: &str) -> Option<String> {
    let (_, rest) = message.split_once('\'')?;
    let (name, _) = rest.split_once('\'')?;
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unknown_variable_is_read_from_the_answer() {
        assert_eq!(
            quoted("Unknown system variable 'max_execution_time'").as_deref(),
            Some("max_execution_time")
        );
        assert_eq!(quoted("no quotes"), None);
    }
}
