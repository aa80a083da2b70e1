//! A MySQL user's privileges as information_schema lists them (global, database and table
//! grants), which `sql.metadata_table` and `sql.election` judge; grants through roles are not
//! listed there.

use sqlx::mysql::MySqlConnection;

use super::client::my_text;

/// `'user'@'host'` as information_schema writes grantees, from `CURRENT_USER()`.
fn grantee(current_user: &str) -> String {
    let (user, host) = current_user.rsplit_once('@').unwrap_or((current_user, "%"));
    format!(
        "'{}'@'{}'",
        user.replace('\'', "''"),
        host.replace('\'', "''")
    )
}

/// Every privilege metasrv's MySQL backend uses on its database: the metadata table's
/// statements, CREATE TABLE IF NOT EXISTS for it and `<table>_election` on every start, and the
/// ALTER that widens column v.
pub(crate) const METASRV_PRIVILEGES: &[&str] =
    &["SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER"];

/// The GRANT statement an administrator runs to give the session's user (`CURRENT_USER()`,
/// `user@host`) `privileges` on every table of `database`, ready to paste into a client.
pub(crate) fn grant_statement(privileges: &[&str], database: &str, current_user: &str) -> String {
    format!(
        "GRANT {} ON `{}`.* TO {};",
        privileges.join(", "),
        database.replace('`', "``"),
        grantee(current_user)
    )
}

/// The hint line (a command on its own line) granting everything metasrv needs on `database`.
pub(crate) fn metasrv_grant_hint(database: &str, current_user: &str) -> String {
    format!(
        "$ {}",
        grant_statement(METASRV_PRIVILEGES, database, current_user)
    )
}

/// Privileges the current MySQL user holds on `database`.`table` per information_schema
/// (global, database-level with grant wildcards, and table-level), upper-case.
/// Privileges that only come from roles are not visible here.
pub(crate) async fn granted(
    conn: &mut MySqlConnection,
    database: &str,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let current_user: String = sqlx::query_scalar("SELECT CURRENT_USER()")
        .fetch_one(&mut *conn)
        .await?;
    let grantee = grantee(&current_user);
    let rows = sqlx::query(
        "SELECT CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.USER_PRIVILEGES \
           WHERE GRANTEE = ? \
         UNION SELECT CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.SCHEMA_PRIVILEGES \
           WHERE GRANTEE = ? AND ? LIKE TABLE_SCHEMA \
         UNION SELECT CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.TABLE_PRIVILEGES \
           WHERE GRANTEE = ? AND TABLE_SCHEMA = ? AND TABLE_NAME = ?",
    )
    .bind(&grantee)
    .bind(&grantee)
    .bind(database)
    .bind(&grantee)
    .bind(database)
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut privileges: Vec<String> = rows
        .iter()
        .filter_map(|row| my_text(row, 0))
        .map(|p| p.to_ascii_uppercase())
        .collect();
    privileges.sort();
    privileges.dedup();
    Ok(privileges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grantees_from_current_user() {
        assert_eq!(grantee("gt_rw@%"), "'gt_rw'@'%'");
        assert_eq!(grantee("a@b@127.0.0.1"), "'a@b'@'127.0.0.1'");
    }

    #[test]
    fn grant_names_the_session_user_and_quotes_the_database() {
        assert_eq!(
            grant_statement(&["CREATE", "SELECT"], "gt`db", "o'k@10.0.0.%"),
            "GRANT CREATE, SELECT ON `gt``db`.* TO 'o''k'@'10.0.0.%';"
        );
    }
}
