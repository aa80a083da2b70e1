//! The address notations GreptimeDB configs are written in, each parsed in one place so that
//! the masker (`config::secrets`), the template filters (`playbook::template`) and the plugins
//! read an address the same way:
//!
//! - [`endpoint`]: `host:port`, `[v6]:port`, and the host and port of any URL or connection
//!   string (userinfo dropped, ports defaulted by scheme);
//! - [`uri`]: `scheme://[userinfo@]authority[/path][?query][#fragment]` split as written,
//!   userinfo included;
//! - [`conninfo`]: PostgreSQL connection strings (libpq keywords or URIs), with the rules of
//!   tokio-postgres, which metasrv uses;
//! - [`hosts`]: every host any value names, with where it stands (for `--resolve`).
//!
//! Nothing here imports the rest of the crate.

pub(crate) mod conninfo;
pub(crate) mod endpoint;
pub(crate) mod hosts;
pub(crate) mod uri;

/// Percent-decodes `text` (a malformed `%` sequence is kept as written) into UTF-8.
pub(crate) fn percent_decode(text: &str) -> Result<String, std::str::Utf8Error> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("s3cr%40t").unwrap(), "s3cr@t");
        assert_eq!(percent_decode("%2Fvar%2frun").unwrap(), "/var/run");
        // malformed sequences stay as written, as libpq and tokio-postgres keep them
        assert_eq!(percent_decode("50%").unwrap(), "50%");
        assert_eq!(percent_decode("a%zzb%4").unwrap(), "a%zzb%4");
        assert!(percent_decode("%ff").is_err());
    }
}
