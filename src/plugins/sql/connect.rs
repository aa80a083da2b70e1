//! `sql.connect`: connect to the metadata store as metasrv would and report what the server
//! is.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::client::{self, my_fetch_all, my_text, within, SqlConn, SqlConnection};
use super::errors::query_error;
use super::{Backend, StoreParams};
use crate::plugins::{Step, StepCx, StepError};

/// Connects with `store_addrs[0]` and `backend_tls` as metasrv does, and reports the server
/// version, the user and database of the session, whether TLS was negotiated, and whether
/// metasrv's leader election can run on this server version.
pub struct Connect;

/// Parameters of `sql.connect`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectParams {
    #[serde(flatten)]
    pub store: StoreParams,
}

/// Output of `sql.connect`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectOutput {
    /// The backend checked.
    pub backend: Backend,
    /// `host:port` (or socket) the connection was made to.
    pub endpoint: String,
    /// The server's version string (PostgreSQL `server_version`, MySQL `VERSION()`).
    pub server_version: String,
    /// The version as a number: PostgreSQL `server_version_num` (150018), MySQL
    /// major*10000 + minor*100 + patch (80036; MariaDB 10.11.19 is 101119).
    pub version_num: u64,
    /// True for MariaDB (its version string contains `MariaDB`).
    pub is_mariadb: bool,
    /// True when the session is encrypted (PostgreSQL `pg_stat_ssl.ssl`, MySQL a non-empty
    /// `Ssl_cipher` status).
    pub tls: bool,
    /// TLS protocol version of the session, when encrypted.
    pub tls_version: Option<String>,
    /// TLS cipher of the session, when encrypted.
    pub tls_cipher: Option<String>,
    /// How TLS was requested, from `sslmode` / `ssl-mode` and `backend_tls.mode`.
    pub tls_plan: String,
    /// The user of the session (PostgreSQL `current_user`, MySQL `CURRENT_USER()`, which is
    /// `user@host` as the server matched the account).
    pub user: String,
    /// The database of the session (PostgreSQL `current_database()`, MySQL `DATABASE()`;
    /// null when the MySQL URL names none).
    pub database: Option<String>,
    /// Time to connect (TCP, TLS, authentication), in milliseconds.
    pub connect_ms: f64,
    /// Whether metasrv's leader election can run on this server. PostgreSQL: version 14 or
    /// later (the election sets `idle_session_timeout`). MySQL: the server has the
    /// `max_execution_time` variable the election sets (MariaDB has not).
    pub election_supported: bool,
    /// Why metasrv would complain about this server version, or null. MySQL: metasrv warns
    /// unless the version starts with 8.0 or 5.7; MariaDB lacks `max_execution_time`.
    /// PostgreSQL: versions before 14 cannot run the election.
    pub version_warning: Option<String>,
    /// How `store_addrs[0]` is written: `uri` or `keywords` (libpq key=value) for
    /// PostgreSQL, `url` for MySQL.
    pub address_form: String,
    /// Things to know about the connection string (defaults it relies on, settings this
    /// check could not reproduce exactly).
    pub notes: Vec<String>,
}

impl Step for Connect {
    const NAME: &'static str = "sql.connect";
    const SUMMARY: &'static str =
        "Connect to a PostgreSQL or MySQL metadata store as metasrv does and report the server";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "backend: postgres_store\n\
store_addr: postgresql://greptime:password@127.0.0.1:5432/greptime_meta?sslmode=prefer\n\
tls:\n  mode: prefer\n  ca_cert_path: \"\"\n";
    type Params = ConnectParams;
    type Output = ConnectOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let connection = client::connect(&params.store, cx).await?;
        within(
            cx,
            "reading the server's version and session",
            facts(connection),
        )
        .await
    }

    fn details(output: &Self::Output) -> Vec<String> {
        let mut lines = vec![format!("tls: {}", output.tls_plan)];
        lines.extend(output.notes.iter().map(|n| format!("note: {n}")));
        lines
    }
}

async fn facts(connection: SqlConnection) -> Result<ConnectOutput, StepError> {
    let SqlConnection {
        mut conn,
        endpoint,
        connect_ms,
        tls_plan,
        notes,
        form,
        ..
    } = connection;
    let output = match &mut conn {
        SqlConn::Pg(pg) => {
            let backend = Backend::PostgresStore;
            let row = sqlx::query(
                "SELECT current_setting('server_version'), \
                        current_setting('server_version_num')::int8, \
                        current_user::text, current_database()::text, \
                        s.ssl, s.version, s.cipher \
                 FROM (SELECT 1) AS one \
                 LEFT JOIN pg_stat_ssl s ON s.pid = pg_backend_pid()",
            )
            .fetch_one(&mut *pg)
            .await
            .map_err(|e| query_error(backend, &e, "reading the server version"))?;
            let server_version: String = row.try_get(0).unwrap_or_default();
            let version_num = row.try_get::<i64, _>(1).unwrap_or(0).max(0) as u64;
            let tls = row
                .try_get::<Option<bool>, _>(4)
                .ok()
                .flatten()
                .unwrap_or(false);
            let election_supported = version_num >= 140_000;
            ConnectOutput {
                backend,
                endpoint,
                version_warning: (!election_supported).then(|| {
                    format!(
                        "PostgreSQL {server_version} has no idle_session_timeout (added in 14): \
                         metasrv's leader election runs SET idle_session_timeout and fails"
                    )
                }),
                server_version,
                version_num,
                is_mariadb: false,
                tls,
                tls_version: row.try_get(5).ok().flatten(),
                tls_cipher: row.try_get(6).ok().flatten(),
                tls_plan,
                user: row.try_get(2).unwrap_or_default(),
                database: row.try_get(3).ok(),
                connect_ms,
                election_supported,
                address_form: form.into(),
                notes,
            }
        }
        SqlConn::My(my) => {
            let backend = Backend::MysqlStore;
            let row = sqlx::query("SELECT VERSION(), CURRENT_USER(), DATABASE()")
                .fetch_one(&mut *my)
                .await
                .map_err(|e| query_error(backend, &e, "reading the server version"))?;
            let server_version = my_text(&row, 0).unwrap_or_default();
            let user = my_text(&row, 1).unwrap_or_default();
            let database = my_text(&row, 2);
            let status = my_fetch_all(
                my,
                "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_cipher', 'Ssl_version')",
            )
            .await
            .map_err(|e| query_error(backend, &e, "reading the session's TLS status"))?;
            let status_value = |name: &str| {
                status
                    .iter()
                    .find(|row| my_text(row, 0).as_deref() == Some(name))
                    .and_then(|row| my_text(row, 1))
                    .filter(|v| !v.is_empty())
            };
            let tls_cipher = status_value("Ssl_cipher");
            let tls_version = status_value("Ssl_version");
            let election_supported = sqlx::query("SELECT @@max_execution_time")
                .fetch_one(&mut *my)
                .await
                .is_ok();
            let is_mariadb = server_version.contains("MariaDB");
            ConnectOutput {
                backend,
                endpoint,
                version_num: mysql_version_num(&server_version),
                version_warning: mysql_version_warning(&server_version, election_supported),
                server_version,
                is_mariadb,
                tls: tls_cipher.is_some(),
                tls_version,
                tls_cipher,
                tls_plan,
                user,
                database,
                connect_ms,
                election_supported,
                address_form: form.into(),
                notes,
            }
        }
    };
    conn.close().await;
    Ok(output)
}

/// `major*10000 + minor*100 + patch` of a MySQL version string (`8.0.36-log`,
/// `10.11.19-MariaDB-0+deb12u1`); 0 when it cannot be read.
pub(crate) fn mysql_version_num(version: &str) -> u64 {
    let numeric = version
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()
        .unwrap_or_default();
    let mut parts = numeric.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    major * 10_000 + minor * 100 + patch
}

/// What metasrv would complain about, as one sentence, or `None`.
fn mysql_version_warning(version: &str, has_max_execution_time: bool) -> Option<String> {
    let mut warnings = Vec::new();
    if !version.starts_with("8.0") && !version.starts_with("5.7") {
        warnings.push(format!(
            "metasrv logs \"Unsupported MySQL version: {version}, expected: [5.7, 8.0]\" when its \
             election starts"
        ));
    }
    if !has_max_execution_time {
        warnings.push(if version.contains("MariaDB") {
            "max_execution_time is not a MariaDB variable (MariaDB has max_statement_time), so \
             metasrv's election session setup `SET SESSION wait_timeout = ?, \
             innodb_lock_wait_timeout = ?, max_execution_time = ?` fails with \"Unknown system \
             variable\""
                .to_string()
        } else {
            "the server has no max_execution_time variable (MySQL 5.7.8 or later has it), so \
             metasrv's election session setup fails"
                .to_string()
        });
    }
    (!warnings.is_empty()).then(|| warnings.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_versions_become_numbers() {
        assert_eq!(mysql_version_num("8.0.36"), 80036);
        assert_eq!(mysql_version_num("5.7.44-log"), 50744);
        assert_eq!(mysql_version_num("10.11.19-MariaDB-0+deb12u1"), 101119);
        assert_eq!(mysql_version_num("garbage"), 0);
    }

    #[test]
    fn mysql_version_warnings_follow_metasrv() {
        assert!(mysql_version_warning("8.0.36", true).is_none());
        assert!(mysql_version_warning("5.7.44-log", true).is_none());
        let w = mysql_version_warning("8.4.2", true).unwrap();
        assert!(w.contains("expected: [5.7, 8.0]"), "{w}");
        let w = mysql_version_warning("10.11.19-MariaDB", false).unwrap();
        assert!(w.contains("max_statement_time") && w.contains("8.0"), "{w}");
    }
}
