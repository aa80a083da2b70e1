//! `sql.metadata_table`: the schema and the metadata table exist or can be created, with
//! metasrv's column types.

use std::sync::LazyLock;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::client::{my_fetch_all, my_text, with_connection, SqlConn, SqlConnection};
use super::errors::{is_permission_denied, no_database, query_error, query_failed};
use super::my_grants;
use super::sql_text::pg_ident;
use super::{default_auto_create_schema, Backend, MetaTableParams, StoreParams};
use crate::plugins::{Step, StepCx, StepError};

/// Reads (never writes) what metasrv's start-up DDL will meet.
///
/// PostgreSQL: metasrv runs `CREATE SCHEMA IF NOT EXISTS "<schema>"` (when
/// `auto_create_schema` and `meta_schema_name` are set) and `CREATE TABLE IF NOT EXISTS
/// <T>(k bytea PRIMARY KEY, v bytea)` at every start, where `<T>` is `"<schema>"."<table>"`,
/// or `"<table>"` resolved through `search_path`. PostgreSQL checks the CREATE privilege
/// before it looks at IF NOT EXISTS, so the role needs CREATE on the database (for the
/// schema) and on the schema (for the table) even when both already exist.
///
/// MySQL: metasrv runs ``CREATE TABLE IF NOT EXISTS `<table>`(k VARBINARY(3072) PRIMARY KEY,
/// v MEDIUMBLOB)`` in the URL's database (MySQL, too, needs CREATE although the table
/// exists), then ``SHOW CREATE TABLE`` and, when `v` is still BLOB, ``ALTER TABLE `<table>`
/// MODIFY COLUMN v MEDIUMBLOB`` (needs ALTER, CREATE and INSERT).
///
/// Fails (Rejected) only for states in which metasrv cannot start; softer findings are
/// output fields.
pub struct MetadataTable;

/// Parameters of `sql.metadata_table`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetadataTableParams {
    #[serde(flatten)]
    pub store: StoreParams,
    #[serde(flatten)]
    pub meta: MetaTableParams,
    /// metasrv `auto_create_schema` (PostgreSQL only, default true): whether metasrv runs
    /// `CREATE SCHEMA IF NOT EXISTS` for `schema`.
    #[serde(default = "default_auto_create_schema")]
    pub auto_create_schema: bool,
}

/// Output of `sql.metadata_table`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MetadataTableOutput {
    /// The backend checked.
    pub backend: Backend,
    /// The session's database (PostgreSQL `current_database()`, MySQL the URL's database).
    pub database: String,
    /// The session's user.
    pub user: String,
    /// `meta_table_name`.
    pub table: String,
    /// The table as metasrv writes it in its SQL: `"schema"."table"`, `"table"` or
    /// `` `table` ``.
    pub qualified_table: String,
    /// PostgreSQL: the schema metasrv creates the table in (`meta_schema_name`, or the first
    /// existing schema of `search_path`); null for MySQL or when no schema can be found.
    pub schema: Option<String>,
    /// PostgreSQL: where `schema` comes from: `meta_schema_name` or `search_path`.
    pub schema_source: Option<String>,
    /// PostgreSQL: the session's `search_path`.
    pub search_path: Option<String>,
    /// PostgreSQL: whether `schema` exists (null for MySQL).
    pub schema_exists: Option<bool>,
    /// PostgreSQL: whether the role may create schemas (CREATE on the database), needed
    /// at every start when `auto_create_schema` and `meta_schema_name` are set.
    pub can_create_schema: Option<bool>,
    /// Whether the metadata table exists.
    pub table_exists: bool,
    /// PostgreSQL: the schema the existing table was found in.
    pub table_schema: Option<String>,
    /// Whether the user may run metasrv's CREATE TABLE IF NOT EXISTS (PostgreSQL: CREATE on
    /// `schema`, or owning the schema it creates; MySQL: CREATE on the table per
    /// information_schema).
    pub can_create_table: bool,
    /// Type of column `k` of the existing table (`bytea`; MySQL `varbinary(3072)`).
    pub k_type: Option<String>,
    /// Type of column `v` of the existing table (`bytea`; MySQL `mediumblob`).
    pub v_type: Option<String>,
    /// Whether `k` has a unique index (PRIMARY KEY), which metasrv's upserts need.
    pub k_is_unique: Option<bool>,
    /// MySQL: `v` is BLOB (64 KiB values), the layout before GreptimeDB PR #7985; metasrv
    /// widens it with ALTER TABLE at start-up. Always false for PostgreSQL.
    pub v_is_blob: bool,
    /// MySQL: whether the user may run that ALTER TABLE (ALTER, CREATE and INSERT on the
    /// table); null for PostgreSQL.
    pub can_alter: Option<bool>,
    /// MySQL: the storage engine of the existing table.
    pub engine: Option<String>,
    /// MySQL: the user's privileges on the table per information_schema (global, database
    /// and table grants; grants through roles are not listed).
    pub privileges: Option<Vec<String>>,
    /// Softer findings for the playbook to judge.
    pub notes: Vec<String>,
}

impl Step for MetadataTable {
    const NAME: &'static str = "sql.metadata_table";
    const SUMMARY: &'static str =
        "Check the metadata schema and table exist or can be created, with metasrv's column types";
    const SHAREABLE: bool = true;
    const EXAMPLE: &'static str = "backend: postgres_store\n\
store_addr: postgresql://greptime:password@127.0.0.1:5432/greptime_meta\n\
table: greptime_metakv\nschema: greptime_schema\nauto_create_schema: true\n";
    type Params = MetadataTableParams;
    type Output = MetadataTableOutput;

    async fn run(&self, params: Self::Params, cx: &StepCx) -> Result<Self::Output, StepError> {
        let schema = params.meta.checked_schema(params.store.backend)?;
        with_connection(
            &params.store,
            cx,
            "reading the metadata table",
            async |connection: &mut SqlConnection| match &mut connection.conn {
                SqlConn::Pg(conn) => check_pg(conn, &params, schema).await,
                SqlConn::My(conn) => check_my(conn, &params).await,
            },
        )
        .await
    }

    fn details(output: &Self::Output) -> Vec<String> {
        output.notes.iter().map(|n| format!("note: {n}")).collect()
    }
}

/// The facts of a PostgreSQL metadata table.
pub(crate) struct PgTableFacts {
    pub database: String,
    pub user: String,
    pub version_num: i64,
    pub search_path: String,
    /// The schema CREATE TABLE creates in (meta_schema_name or current_schema()).
    pub schema: Option<String>,
    pub schema_exists: bool,
    pub can_create_schema: bool,
    pub can_create_table: bool,
    pub has_usage: bool,
    pub ident: String,
    pub table_schema: Option<String>,
    pub k_type: Option<String>,
    pub v_type: Option<String>,
    pub k_is_unique: Option<bool>,
}

/// Reads everything about the schema and table metasrv will use.
pub(crate) async fn pg_facts(
    conn: &mut PgConnection,
    table: &str,
    schema_param: Option<&str>,
) -> Result<PgTableFacts, StepError> {
    let backend = Backend::PostgresStore;
    let row = sqlx::query(
        "SELECT current_database()::text, current_user::text, current_schema()::text, \
                current_setting('search_path'), \
                has_database_privilege(current_database(), 'CREATE'), \
                current_setting('server_version_num')::int8",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(query_failed(backend, "reading the session"))?;
    let database: String = row.try_get(0).unwrap_or_default();
    let user: String = row.try_get(1).unwrap_or_default();
    let current_schema: Option<String> = row.try_get(2).ok().flatten();
    let search_path: String = row.try_get(3).unwrap_or_default();
    let can_create_schema: bool = row.try_get(4).unwrap_or(false);
    let version_num: i64 = row.try_get(5).unwrap_or(0);

    let schema = schema_param.map(str::to_string).or(current_schema);
    let (schema_exists, has_usage, schema_create) = match &schema {
        Some(name) => {
            let row = sqlx::query(
                "SELECT n.oid IS NOT NULL, \
                        COALESCE(has_schema_privilege(n.oid, 'USAGE'), false), \
                        COALESCE(has_schema_privilege(n.oid, 'CREATE'), false) \
                 FROM (SELECT 1) AS one LEFT JOIN pg_namespace n ON n.nspname = $1",
            )
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .map_err(query_failed(backend, "looking up the schema"))?;
            (
                row.try_get(0).unwrap_or(false),
                row.try_get(1).unwrap_or(false),
                row.try_get(2).unwrap_or(false),
            )
        }
        None => (false, false, false),
    };
    // A schema metasrv creates itself is owned by the role, which may then create in it.
    let can_create_table = if schema_exists {
        schema_create
    } else {
        schema_param.is_some() && can_create_schema
    };

    let ident = pg_ident(schema_param, table);
    let mut facts = PgTableFacts {
        database,
        user,
        version_num,
        search_path,
        schema,
        schema_exists,
        can_create_schema,
        can_create_table,
        has_usage,
        ident,
        table_schema: None,
        k_type: None,
        v_type: None,
        k_is_unique: None,
    };
    if schema_param.is_some() && (!schema_exists || !has_usage) {
        return Ok(facts);
    }
    let found = sqlx::query_scalar::<_, String>(
        "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.oid = to_regclass($1)",
    )
    .bind(&facts.ident)
    .fetch_optional(&mut *conn)
    .await;
    facts.table_schema = match found {
        Ok(found) => found,
        Err(e) if is_permission_denied(&e) => None,
        Err(e) => return Err(query_error(backend, &e, "looking up the metadata table")),
    };
    if facts.table_schema.is_some() {
        let columns = sqlx::query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) \
             FROM pg_attribute a \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
               AND a.attname IN ('k', 'v')",
        )
        .bind(&facts.ident)
        .fetch_all(&mut *conn)
        .await
        .map_err(query_failed(
            backend,
            "reading the columns of the metadata table",
        ))?;
        for column in &columns {
            let name: String = column.try_get(0).unwrap_or_default();
            let kind: Option<String> = column.try_get(1).ok();
            match name.as_str() {
                "k" => facts.k_type = kind,
                "v" => facts.v_type = kind,
                _ => {}
            }
        }
        facts.k_is_unique = Some(
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_index i \
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
                   WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indnatts = 1 \
                     AND a.attname = 'k')",
            )
            .bind(&facts.ident)
            .fetch_one(&mut *conn)
            .await
            .map_err(query_failed(
                backend,
                "reading the indexes of the metadata table",
            ))?,
        );
    }
    Ok(facts)
}

/// The sentence about PostgreSQL 15's `public` schema, when it applies.
pub(crate) fn pg15_public_note(schema: &str, version_num: i64) -> &'static str {
    if schema == "public" && version_num >= 150_000 {
        " (PostgreSQL 15 and later no longer grant CREATE on schema public to every role)"
    } else {
        ""
    }
}

/// The hint for a role that may not create the metadata table.
pub(crate) fn pg_create_table_hint(schema: &str, user: &str) -> String {
    format!(
        "grant CREATE on the schema, or set meta_schema_name to a schema the role owns (with \
         auto_create_schema = true the role creates it, given CREATE on the database):\n$ GRANT \
         CREATE ON SCHEMA \"{schema}\" TO {};",
        pg_role(user)
    )
}

/// A PostgreSQL role name quoted for a statement a person pastes.
pub(crate) fn pg_role(user: &str) -> String {
    format!("\"{}\"", user.replace('"', "\"\""))
}

async fn check_pg(
    conn: &mut PgConnection,
    params: &MetadataTableParams,
    schema_param: Option<&str>,
) -> Result<MetadataTableOutput, StepError> {
    let facts = pg_facts(conn, &params.meta.table, schema_param).await?;
    let user = &facts.user;
    let mut notes = Vec::new();

    if let Some(schema) = schema_param {
        if !facts.schema_exists && !params.auto_create_schema {
            return Err(StepError::rejected(format!(
                "schema \"{schema}\" does not exist and auto_create_schema = false; metasrv fails \
                 at start-up with SQLSTATE 3F000 (invalid_schema_name)"
            ))
            .with_hint(format!(
                "create the schema, set auto_create_schema = true, or fix \
                 meta_schema_name:\n$ CREATE SCHEMA \"{schema}\" AUTHORIZATION {};",
                pg_role(user)
            )));
        }
        if params.auto_create_schema && !facts.can_create_schema {
            let exists = if facts.schema_exists {
                "; PostgreSQL checks this privilege before IF NOT EXISTS, so it fails although \
                 the schema exists"
            } else {
                ""
            };
            return Err(StepError::rejected(format!(
                "role `{user}` may not create schemas in database `{}` (no CREATE privilege on \
                 the database), and with auto_create_schema = true metasrv runs CREATE SCHEMA \
                 IF NOT EXISTS \"{schema}\" at every start-up{exists}",
                facts.database
            ))
            .with_hint(format!(
                "grant CREATE on the database, or create the schema beforehand and set \
                 auto_create_schema = false:\n$ GRANT CREATE ON DATABASE \"{}\" TO {};",
                facts.database,
                pg_role(user)
            )));
        }
        if facts.schema_exists && !facts.has_usage {
            return Err(StepError::rejected(format!(
                "role `{user}` has no USAGE privilege on schema \"{schema}\", so metasrv cannot \
                 use its tables"
            ))
            .with_hint(format!(
                "$ GRANT USAGE, CREATE ON SCHEMA \"{schema}\" TO {};",
                pg_role(user)
            )));
        }
    }
    let Some(schema) = facts.schema.clone() else {
        return Err(StepError::rejected(format!(
            "no schema of search_path ({}) exists for role `{user}`, and meta_schema_name is not \
             set: metasrv's CREATE TABLE fails with \"no schema has been selected to create in\" \
             (SQLSTATE 3F000)",
            facts.search_path
        ))
        .with_hint(
            "set meta_schema_name (with auto_create_schema = true), or fix the role's search_path",
        ));
    };

    let table_exists = facts.table_schema.is_some();
    if !facts.can_create_table {
        let pg15 = pg15_public_note(&schema, facts.version_num);
        let message = if table_exists {
            format!(
                "role `{user}` may not create tables in schema \"{schema}\" (no CREATE \
                 privilege){pg15}; metasrv runs CREATE TABLE IF NOT EXISTS {} at every start-up \
                 and PostgreSQL checks CREATE before IF NOT EXISTS, so start-up fails although \
                 the table exists",
                facts.ident
            )
        } else {
            format!(
                "table {} does not exist and role `{user}` may not create it: no CREATE \
                 privilege on schema \"{schema}\"{pg15}",
                facts.ident
            )
        };
        return Err(StepError::rejected(message).with_hint(pg_create_table_hint(&schema, user)));
    }
    if table_exists {
        let (k, v) = (facts.k_type.as_deref(), facts.v_type.as_deref());
        if k != Some("bytea") || v != Some("bytea") {
            return Err(StepError::rejected(format!(
                "table {} has k {} and v {}, but metasrv reads and writes bytea (its DDL is \
                 (k bytea PRIMARY KEY, v bytea))",
                facts.ident,
                k.unwrap_or("missing"),
                v.unwrap_or("missing")
            ))
            .with_hint("point meta_table_name at metasrv's own table, or recreate this one with metasrv's DDL"));
        }
        if facts.k_is_unique == Some(false) {
            return Err(StepError::rejected(format!(
                "column k of {} has no unique index; metasrv's upserts (ON CONFLICT (k)) fail",
                facts.ident
            ))
            .with_hint("add PRIMARY KEY (k), as metasrv's DDL has"));
        }
        if schema_param.is_none() && facts.table_schema.as_deref() != Some(schema.as_str()) {
            notes.push(format!(
                "the table was found in schema \"{}\", later in search_path than \"{schema}\"; \
                 metasrv's CREATE TABLE IF NOT EXISTS only looks in \"{schema}\" and creates an \
                 empty table there, which then hides the existing one",
                facts.table_schema.as_deref().unwrap_or_default()
            ));
        }
    }
    if schema_param.is_none() {
        notes.push(format!(
            "meta_schema_name is not set: the table lives in the first schema of search_path \
             (\"{schema}\")"
        ));
    }
    Ok(MetadataTableOutput {
        backend: Backend::PostgresStore,
        database: facts.database,
        user: facts.user,
        table: params.meta.table.clone(),
        qualified_table: facts.ident,
        schema: Some(schema),
        schema_source: Some(
            if schema_param.is_some() {
                "meta_schema_name"
            } else {
                "search_path"
            }
            .into(),
        ),
        search_path: Some(facts.search_path),
        schema_exists: Some(facts.schema_exists),
        can_create_schema: Some(facts.can_create_schema),
        table_exists,
        table_schema: facts.table_schema,
        can_create_table: facts.can_create_table,
        k_type: facts.k_type,
        v_type: facts.v_type,
        k_is_unique: facts.k_is_unique,
        v_is_blob: false,
        can_alter: None,
        engine: None,
        privileges: None,
        notes,
    })
}

/// The facts of a MySQL metadata table.
pub(crate) struct MyTableFacts {
    pub database: String,
    pub user: String,
    pub exists: bool,
    pub engine: Option<String>,
    pub privileges: Vec<String>,
    /// Whether a role is active, so information_schema may not show every privilege.
    pub roles_active: bool,
}

impl MyTableFacts {
    pub(crate) fn has(&self, privilege: &str) -> bool {
        self.privileges.iter().any(|p| p == privilege)
    }
}

/// The session's database or the error metasrv would hit without one.
pub(crate) async fn my_facts(
    conn: &mut MySqlConnection,
    table: &str,
) -> Result<MyTableFacts, StepError> {
    let backend = Backend::MysqlStore;
    let row = sqlx::query("SELECT DATABASE(), CURRENT_USER()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| query_error(backend, &e, "reading the session"))?;
    let user = my_text(&row, 1).unwrap_or_default();
    let Some(database) = my_text(&row, 0) else {
        return Err(no_database());
    };
    let engine = sqlx::query(
        "SELECT CAST(ENGINE AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| query_error(backend, &e, "looking up the metadata table"))?;
    let privileges = my_grants::granted(conn, &database, table)
        .await
        .map_err(|e| query_error(backend, &e, "reading the user's privileges"))?;
    let role = sqlx::query("SELECT CURRENT_ROLE()")
        .fetch_one(&mut *conn)
        .await
        .ok()
        .and_then(|row| my_text(&row, 0));
    Ok(MyTableFacts {
        database,
        user,
        exists: engine.is_some(),
        engine: engine.as_ref().and_then(|row| my_text(row, 0)),
        privileges,
        roles_active: role.is_some_and(|r| !r.is_empty() && r != "NONE"),
    })
}

/// Column types from `SHOW CREATE TABLE` output, lower-case: `(k, v)`.
pub(crate) fn my_column_types(create_table: &str) -> (Option<String>, Option<String>) {
    static COLUMN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^\s*`([kv])`\s+([A-Za-z]+(?:\(\d+\))?)").unwrap());
    let mut k = None;
    let mut v = None;
    for caps in COLUMN.captures_iter(create_table) {
        let kind = caps[2].to_ascii_lowercase();
        match &caps[1] {
            "k" => k = Some(kind),
            _ => v = Some(kind),
        }
    }
    (k, v)
}

async fn check_my(
    conn: &mut MySqlConnection,
    params: &MetadataTableParams,
) -> Result<MetadataTableOutput, StepError> {
    let backend = Backend::MysqlStore;
    let table = &params.meta.table;
    let facts = my_facts(conn, table).await?;
    let (database, user) = (&facts.database, &facts.user);
    let mut notes = Vec::new();
    if params.meta.schema().is_some() {
        notes.push("meta_schema_name is ignored by metasrv for MySQL; the table lives in the URL's database".into());
    }
    if facts.roles_active {
        notes.push(
            "a role is active for this user; privileges granted through roles are not listed, \
             so CREATE/ALTER verdicts rely on sql.privileges"
                .into(),
        );
    }
    let can_create_table = facts.has("CREATE");
    let can_alter = facts.has("ALTER") && facts.has("CREATE") && facts.has("INSERT");

    let (mut k_type, mut v_type) = (None, None);
    if facts.exists {
        let sql = format!("SHOW CREATE TABLE `{table}`");
        let rows = my_fetch_all(conn, &sql).await;
        let row = rows
            .and_then(|rows| rows.into_iter().next().ok_or(sqlx::Error::RowNotFound))
            .map_err(|e| {
                let error = query_error(backend, &e, &format!("SHOW CREATE TABLE `{table}`"));
                StepError::rejected(format!(
                    "{}; metasrv runs this at start-up to check column v",
                    error.message
                ))
                .with_hint(format!(
                    "grant what metasrv needs:\n{}",
                    my_grants::metasrv_grant_hint(database, user)
                ))
            })?;
        let ddl = my_text(&row, 1).unwrap_or_default();
        (k_type, v_type) = my_column_types(&ddl);
    }
    let v_is_blob = v_type.as_deref() == Some("blob");

    if !can_create_table && !facts.roles_active {
        let message = if facts.exists {
            format!(
                "user {user} has no CREATE privilege on `{database}`.`{table}`; metasrv runs \
                 CREATE TABLE IF NOT EXISTS at every start-up, and MySQL checks CREATE even when \
                 the table exists"
            )
        } else {
            format!(
                "table `{database}`.`{table}` does not exist and user {user} may not create it \
                 (no CREATE privilege)"
            )
        };
        return Err(StepError::rejected(message).with_hint(format!(
            "grant what metasrv needs (it also creates `{table}_election`):\n{}",
            my_grants::metasrv_grant_hint(database, user)
        )));
    }
    if v_is_blob && !can_alter && !facts.roles_active {
        return Err(StepError::rejected(format!(
            "column v of `{database}`.`{table}` is BLOB (64 KiB values) and user {user} may not \
             alter the table; metasrv runs ALTER TABLE `{table}` MODIFY COLUMN v MEDIUMBLOB at \
             start-up and fails"
        ))
        .with_hint(format!(
            "grant what metasrv needs, or run that ALTER TABLE yourself before starting \
             metasrv:\n{}",
            my_grants::metasrv_grant_hint(database, user)
        )));
    }
    if facts.exists {
        if k_type.as_deref() != Some("varbinary(3072)") {
            notes.push(format!(
                "column k is {}, metasrv creates VARBINARY(3072)",
                k_type.as_deref().unwrap_or("missing")
            ));
        }
        match v_type.as_deref() {
            Some("mediumblob" | "longblob") => {}
            Some("blob") => notes.push(
                "column v is BLOB: metasrv widens it to MEDIUMBLOB with ALTER TABLE at start-up, \
                 which rewrites the table"
                    .into(),
            ),
            other => notes.push(format!(
                "column v is {}, metasrv creates MEDIUMBLOB and leaves other types alone; values \
                 larger than the column allows fail at write time",
                other.unwrap_or("missing")
            )),
        }
        if let Some(engine) = &facts.engine {
            if !engine.eq_ignore_ascii_case("InnoDB") {
                notes.push(format!(
                    "the table uses the {engine} engine; metasrv's transactions and SELECT … FOR \
                     UPDATE need a transactional engine such as InnoDB"
                ));
            }
        }
    }
    Ok(MetadataTableOutput {
        backend,
        database: facts.database.clone(),
        user: facts.user.clone(),
        table: table.clone(),
        qualified_table: format!("`{table}`"),
        schema: None,
        schema_source: None,
        search_path: None,
        schema_exists: None,
        can_create_schema: None,
        table_exists: facts.exists,
        table_schema: None,
        can_create_table,
        k_type,
        v_type,
        k_is_unique: None,
        v_is_blob,
        can_alter: Some(can_alter),
        engine: facts.engine,
        privileges: Some(facts.privileges),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_from_show_create_table() {
        let ddl = "CREATE TABLE `greptime_metakv` (\n  `k` varbinary(3072) NOT NULL,\n  `v` blob \
                   DEFAULT NULL,\n  PRIMARY KEY (`k`)\n) ENGINE=InnoDB";
        assert_eq!(
            my_column_types(ddl),
            (Some("varbinary(3072)".into()), Some("blob".into()))
        );
        let ddl = "CREATE TABLE `t` (\n  `k` VARBINARY(3072) NOT NULL,\n  `v` MEDIUMBLOB,\n";
        assert_eq!(
            my_column_types(ddl),
            (Some("varbinary(3072)".into()), Some("mediumblob".into()))
        );
    }
}
