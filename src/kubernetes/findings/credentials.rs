//! Credentials the operator pastes into metasrv's `store_addrs` URL without escaping, read
//! back with the parser metasrv uses (sqlx's URL reading for MySQL, tokio-postgres' for
//! PostgreSQL); and Secret values with stray whitespace. Messages never quote a secret.

use super::values::generated_store_addrs_kept;
use super::{finding, Context};
use crate::kubernetes::dbconfig::Role;
use crate::kubernetes::rendered::{FindingSeverity, ResourceFinding};
use crate::notation::conninfo::{PgConnInfo, PgHost};

pub fn find(cx: &Context, out: &mut Vec<ResourceFinding>) {
    url_safety(cx, out);
    whitespace(cx, out);
}

/// What the operator meant the URL to say.
struct Intended {
    user: String,
    password: String,
    host: String,
    port: u16,
    database: String,
}

/// What metasrv's driver reads from it.
#[derive(Debug, PartialEq, Eq)]
struct Read {
    user: String,
    password: String,
    host: String,
    port: Option<u16>,
    database: String,
}

fn read_mysql(url: &str) -> Result<Read, String> {
    let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|e| e.to_string())
    };
    Ok(Read {
        user: decode(parsed.username())?,
        password: decode(parsed.password().unwrap_or_default())?,
        host: parsed.host_str().unwrap_or_default().to_string(),
        port: parsed.port(),
        database: decode(parsed.path().trim_start_matches('/'))?,
    })
}

fn read_postgres(url: &str) -> Result<Read, String> {
    let info = PgConnInfo::parse(url)?;
    let host = match info.hosts.first() {
        Some(PgHost::Tcp(h)) => h.clone(),
        Some(PgHost::Unix(dir)) => dir.display().to_string(),
        None => String::new(),
    };
    Ok(Read {
        user: info.user.unwrap_or_default(),
        password: info.password.unwrap_or_default(),
        host,
        port: info.ports.first().copied(),
        database: info.dbname.unwrap_or_default(),
    })
}

/// Characters the operator does not escape and a URL gives a meaning to.
const URL_SPECIAL: [char; 10] = ['@', ':', '/', '?', '#', '%', '[', ']', ' ', '\\'];

fn special_chars(text: &str) -> Vec<char> {
    let mut found: Vec<char> = text.chars().filter(|c| URL_SPECIAL.contains(c)).collect();
    found.dedup();
    found.sort_unstable();
    found.dedup();
    found
}

fn url_safety(cx: &Context, out: &mut Vec<ResourceFinding>) {
    let Some(meta) = cx
        .workloads
        .iter()
        .find(|w| matches!(w.role, Role::Meta(_)))
    else {
        return;
    };
    if !generated_store_addrs_kept(meta) {
        return;
    }
    let backend = cx
        .raw
        .meta
        .as_ref()
        .and_then(|m| m.backend_storage.as_ref());
    let (kind, sql) = match backend {
        Some(b) if b.mysql.is_some() => (
            "mysql",
            crate::kubernetes::resource::SqlStorage::from(b.mysql.clone().unwrap_or_default()),
        ),
        Some(b) if b.postgresql.is_some() => {
            ("postgresql", b.postgresql.clone().unwrap_or_default())
        }
        _ => return,
    };
    let field = format!("spec.meta.backendStorage.{kind}.credentialsSecretName");
    let reads = cx.store.reads();
    let value = |key: &str| {
        reads
            .iter()
            .find(|r| r.field == field && r.key == key)
            .map(|r| r.value.clone())
            .unwrap_or_default()
    };
    let intended = Intended {
        user: value("username"),
        password: value("password"),
        host: sql.host.clone().unwrap_or_default(),
        port: sql.port.unwrap_or(0).clamp(0, i32::from(u16::MAX)) as u16,
        database: sql.database.clone().unwrap_or_default(),
    };
    let scheme = if kind == "mysql" { "mysql" } else { "postgres" };
    let url = format!(
        "{scheme}://{}:{}@{}:{}/{}",
        intended.user, intended.password, intended.host, intended.port, intended.database
    );
    let read = if kind == "mysql" {
        read_mysql(&url)
    } else {
        read_postgres(&url)
    };
    let secret = sql.credentials_secret_name.clone().unwrap_or_default();
    let user_chars = special_chars(&intended.user);
    let password_chars = special_chars(&intended.password);
    let mut holds = Vec::new();
    if !user_chars.is_empty() {
        holds.push(format!("the user holds {}", chars(&user_chars)));
    }
    if !password_chars.is_empty() {
        holds.push(format!("the password holds {}", chars(&password_chars)));
    }
    let holds = if holds.is_empty() {
        String::new()
    } else {
        format!(" ({})", holds.join(", "))
    };
    let driver = if kind == "mysql" {
        "sqlx, metasrv's MySQL driver,"
    } else {
        "tokio-postgres, metasrv's PostgreSQL driver,"
    };
    let fix = format!(
        "in Secret `{secret}`, store the user and password percent-encoded (e.g. `@` as %40, \
         `:` as %3A, `/` as %2F, `%` as %25): the operator pastes them into the URL as they \
         are and the driver decodes them; or use credentials without URL special characters"
    );
    match read {
        Err(e) => out.push(finding(
            "credential_not_url_safe",
            FindingSeverity::Error,
            field,
            format!(
                "the operator pastes the Secret's user and password into store_addrs \
                 unescaped{holds}, and {driver} cannot read the resulting URL ({}); metasrv does \
                 not start",
                scrub(&e, &intended)
            ),
            fix,
        )),
        Ok(read) => {
            let mut wrong = Vec::new();
            if read.user != intended.user {
                wrong.push("user".to_string());
            }
            if read.password != intended.password {
                wrong.push("password".to_string());
            }
            if read.host != intended.host {
                wrong.push(format!("host (not `{}`)", intended.host));
            }
            if read.port.unwrap_or(intended.port) != intended.port {
                wrong.push(format!("port (not {})", intended.port));
            }
            if read.database != intended.database {
                wrong.push(format!("database (not `{}`)", intended.database));
            }
            if !wrong.is_empty() {
                out.push(finding(
                    "credential_not_url_safe",
                    FindingSeverity::Error,
                    field,
                    format!(
                        "the operator pastes the Secret's user and password into store_addrs \
                         unescaped{holds}, so {driver} reads a different {} from the URL: \
                         metasrv logs in wrongly or connects elsewhere",
                        wrong.join(", ")
                    ),
                    fix,
                ));
            }
        }
    }
}

fn chars(found: &[char]) -> String {
    found
        .iter()
        .map(|c| match c {
            ' ' => "a space".to_string(),
            c => format!("`{c}`"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parser's message without the credentials in it.
fn scrub(message: &str, intended: &Intended) -> String {
    let mut text = message.to_string();
    for secret in [&intended.password, &intended.user] {
        if !secret.is_empty() {
            text = text.replace(secret.as_str(), "******");
        }
    }
    text
}

fn whitespace(cx: &Context, out: &mut Vec<ResourceFinding>) {
    for read in cx.store.reads() {
        if read.value.trim() != read.value && !read.value.is_empty() {
            out.push(finding(
                "secret_value_whitespace",
                FindingSeverity::Warning,
                read.field.clone(),
                format!(
                    "key `{}` of Secret `{}` starts or ends with whitespace (often the newline \
                     of `echo … | base64` or `--from-file`); the operator writes it as is, and \
                     GreptimeDB sends it as is",
                    read.key, read.secret
                ),
                format!(
                    "recreate the Secret without the whitespace, e.g. `kubectl create secret \
                     generic {} --from-literal={}=…`",
                    read.secret, read.key
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::mysql::MySqlConnectOptions;

    /// Our reading of a MySQL URL agrees with sqlx's (metasrv's parser) on what both expose.
    #[test]
    fn mysql_urls_read_as_sqlx_reads_them() {
        for url in [
            "mysql://greptime:plain@mysql:3306/meta",
            "mysql://greptime:p@ss@mysql:3306/meta",
            "mysql://greptime:p%41ss@mysql:3306/meta",
            "mysql://gr@eptime:x@mysql:3306/meta",
            "mysql://greptime:pa#ss@mysql:3306/meta",
        ] {
            let ours = read_mysql(url);
            let theirs = url.parse::<MySqlConnectOptions>();
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => {
                    assert_eq!(ours.host, theirs.get_host(), "{url}");
                    assert_eq!(ours.port.unwrap_or(3306), theirs.get_port(), "{url}");
                    assert_eq!(ours.user, theirs.get_username(), "{url}");
                    assert_eq!(
                        Some(ours.database.as_str()).filter(|d| !d.is_empty()),
                        theirs.get_database(),
                        "{url}"
                    );
                }
                (Err(_), Err(_)) => {}
                (ours, theirs) => panic!("{url}: ours {ours:?}, sqlx {:?}", theirs.is_ok()),
            }
        }
    }

    #[test]
    fn postgres_passwords_end_at_the_first_at_sign() {
        let read = read_postgres("postgres://greptime:pa@ss@pg:5432/meta").unwrap();
        assert_eq!(read.password, "pa");
        assert_ne!(read.host, "pg");
        let read = read_postgres("postgres://greptime:p%40ss@pg:5432/meta").unwrap();
        assert_eq!(read.password, "p@ss");
        assert_eq!(read.host, "pg");
    }
}
