//! URLs as written: `scheme://[userinfo@]authority[/path][?query][#fragment]`, split into
//! substrings of the input without decoding or normalising anything.
//!
//! Why not the `url` crate: callers need the parts verbatim (the masker looks for the password
//! as written, messages name the host as configured) while `url` normalises what it parses
//! (lower-cased hosts, re-encoded userinfo, `0x7f.1` read as `127.0.0.1`); it refuses
//! PostgreSQL's multi-host authority (`postgresql://h1:1,h2:2/db`); and it reads
//! `postgresql://` and `mysql://` as non-special schemes, so it has no default ports for them
//! either. The tests check that this splitter agrees with `url` on the URLs both accept.

/// The parts of a URL, each a substring of the text it was split from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Url<'a> {
    /// As written.
    pub scheme: &'a str,
    /// `user[:password]`, still percent-encoded.
    pub userinfo: Option<&'a str>,
    /// The host or hosts with their ports (`h:1`, `[::1]:2`, `h1:1,h2:2`), userinfo excluded.
    pub authority: &'a str,
    /// Empty or starting with `/`.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub fragment: Option<&'a str>,
}

impl<'a> Url<'a> {
    /// Splits by the URL standard: the authority ends at the first `/`, `?` or `#`, and the
    /// userinfo at the last `@` inside it, so an unencoded `@` stays in the password. `None`
    /// when `text` does not start with `scheme://`.
    pub(crate) fn split(text: &'a str) -> Option<Self> {
        let (scheme, rest) = split_scheme(text)?;
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        Some(Self::split_at_userinfo(
            scheme,
            rest,
            rest[..authority_end].rfind('@'),
        ))
    }

    /// Splits with the widest userinfo: up to the last `@` before the query, so a password may
    /// hold `@` and `/` unencoded. For masking a SQL store's URL, whose path is at most a
    /// database name; a general URL's path may hold an `@`.
    pub(crate) fn split_widest_userinfo(text: &'a str) -> Option<Self> {
        let (scheme, rest) = split_scheme(text)?;
        let query = rest.find(['?', '#']).unwrap_or(rest.len());
        Some(Self::split_at_userinfo(
            scheme,
            rest,
            rest[..query].rfind('@'),
        ))
    }

    /// The parts of `rest` (after `scheme://`) whose userinfo ends at the `@` at byte `at`.
    fn split_at_userinfo(scheme: &'a str, rest: &'a str, at: Option<usize>) -> Self {
        let (userinfo, rest) = match at {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let after = &rest[authority_end..];
        let (after, fragment) = match after.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (after, None),
        };
        let (path, query) = match after.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (after, None),
        };
        Url {
            scheme,
            userinfo,
            authority: &rest[..authority_end],
            path,
            query,
            fragment,
        }
    }

    /// Splits as libpq and tokio-postgres (metasrv's driver) read a PostgreSQL URI: the
    /// userinfo ends at the first `@` anywhere (a password may hold an unencoded `/` but not
    /// an `@`), the authority at the next `/` or `?`, and `#` is not special.
    pub(crate) fn split_libpq(text: &'a str) -> Option<Self> {
        let (scheme, rest) = split_scheme(text)?;
        let (userinfo, rest) = match rest.split_once('@') {
            Some((userinfo, rest)) => (Some(userinfo), rest),
            None => (None, rest),
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let after = &rest[authority_end..];
        let (path, query) = match after.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (after, None),
        };
        Some(Url {
            scheme,
            userinfo,
            authority: &rest[..authority_end],
            path,
            query,
            fragment: None,
        })
    }

    /// The user name, still percent-encoded.
    pub(crate) fn user(&self) -> Option<&'a str> {
        let userinfo = self.userinfo?;
        Some(userinfo.split_once(':').map_or(userinfo, |(user, _)| user))
    }

    /// The password (after the first `:` of the userinfo), still percent-encoded.
    pub(crate) fn password(&self) -> Option<&'a str> {
        Some(self.userinfo?.split_once(':')?.1)
    }

    /// `key=value` pairs of the query, still percent-encoded; a pair without `=` is skipped.
    pub(crate) fn query_pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.query
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
    }
}

/// `(scheme, rest)` of `scheme://rest`, the scheme being `ALPHA *(ALPHA / DIGIT / + / - / .)`
/// (RFC 3986), so that a libpq keyword value holding `://` is not taken for a URL.
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

#[cfg(test)]
mod tests {
    use super::super::percent_decode;
    use super::Url;

    #[test]
    fn splits_every_part_as_written() {
        let url =
            Url::split("postgresql://gt:s3cr%40t@DB.example:6543/meta?sslmode=require#f").unwrap();
        assert_eq!(
            url,
            Url {
                scheme: "postgresql",
                userinfo: Some("gt:s3cr%40t"),
                authority: "DB.example:6543",
                path: "/meta",
                query: Some("sslmode=require"),
                fragment: Some("f"),
            }
        );
        assert_eq!(url.user(), Some("gt"));
        assert_eq!(url.password(), Some("s3cr%40t"));
        assert_eq!(
            url.query_pairs().collect::<Vec<_>>(),
            [("sslmode", "require")]
        );
        let url = Url::split("postgresql://h1:1,[::1]:2/db").unwrap();
        assert_eq!((url.authority, url.userinfo), ("h1:1,[::1]:2", None));
        assert!(Url::split("127.0.0.1:2379").is_none());
        assert!(Url::split("host=db password=x://y").is_none());
    }

    #[test]
    fn where_the_userinfo_ends() {
        // URL standard: the last `@` of the authority
        let url = Url::split("mysql://root:p@ss:w%40rd@db:3306/meta").unwrap();
        assert_eq!(url.password(), Some("p@ss:w%40rd"));
        assert_eq!(url.authority, "db:3306");
        let url = Url::split("postgresql://u:pa/ss@db/meta").unwrap();
        assert_eq!((url.userinfo, url.authority), (None, "u:pa"));
        // libpq: the first `@` anywhere
        let url = Url::split_libpq("postgresql://u:pa/ss@db/meta?x=1#2").unwrap();
        assert_eq!(url.password(), Some("pa/ss"));
        assert_eq!(
            (url.authority, url.path, url.query),
            ("db", "/meta", Some("x=1#2"))
        );
        let url = Url::split_libpq("postgresql://u:p@ss@db/meta").unwrap();
        assert_eq!((url.password(), url.authority), (Some("p"), "ss@db"));
        // the widest: the last `@` before the query
        let url = Url::split_widest_userinfo("mysql://r:a@b:c/d%40e@db:3306/m?x=@#y").unwrap();
        assert_eq!(url.password(), Some("a@b:c/d%40e"));
        assert_eq!((url.authority, url.path), ("db:3306", "/m"));
        assert_eq!((url.query, url.fragment), (Some("x=@"), Some("y")));
        assert_eq!(
            Url::split_widest_userinfo("postgresql://db/meta").unwrap(),
            Url::split("postgresql://db/meta").unwrap()
        );
        assert_eq!(Url::split("http://u@h").unwrap().password(), None);
        assert_eq!(Url::split("http://u:@h").unwrap().password(), Some(""));
    }

    /// On the URLs the `url` crate accepts, both read the same userinfo, host and port.
    #[test]
    fn agrees_with_the_url_crate() {
        for text in [
            "http://etcd-0.etcd:2379/v3",
            "https://u:p@[fd00::1]:2379?x=1",
            "postgresql://greptime:s3cr%40t@db.example:6543/meta?sslmode=require",
            "postgres://u@[::1]:5433/db",
            "mysql://root:p@ss@mysql:3306/meta",
            "mysql://root:a:b@mysql/meta#frag",
            "s3://bucket/path?x",
            "http://minio:9000",
        ] {
            let ours = Url::split(text).unwrap();
            let theirs = url::Url::parse(text).unwrap();
            assert_eq!(ours.scheme, theirs.scheme(), "{text}");
            // `url` re-encodes an `@` of the userinfo: compare decoded
            let decoded = |s: Option<&str>| s.map(|s| percent_decode(s).unwrap());
            assert_eq!(ours.user().unwrap_or(""), theirs.username(), "{text}");
            assert_eq!(
                decoded(ours.password()),
                decoded(theirs.password()),
                "{text}"
            );
            let (host, port) = super::super::endpoint::split_host_port(ours.authority).unwrap();
            let their_host = theirs.host_str().unwrap();
            assert_eq!(host, their_host.trim_matches(['[', ']']), "{text}");
            assert_eq!(port.map(|p| p.parse().unwrap()), theirs.port(), "{text}");
            assert_eq!(ours.query, theirs.query(), "{text}");
            assert_eq!(ours.fragment, theirs.fragment(), "{text}");
        }
        // the URL standard refuses what PostgreSQL accepts
        assert!(url::Url::parse("postgresql://h1:1,h2:2/db").is_err());
        assert!(Url::split("postgresql://h1:1,h2:2/db").is_some());
    }
}
