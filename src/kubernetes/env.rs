//! The main container's environment as the kubelet builds it, and its `$(VAR)` expansion of
//! `env` values and `args`. `envFrom` first, then `env` in order (a later entry wins), then
//! the variables the operator appends (`POD_IP`, `POD_NAME`, `POD_NAMESPACE`, `ROLE` …).

use indexmap::IndexMap;

use super::rendered::POD_IP_PLACEHOLDER;
use super::resource::{EnvFromSource, EnvVar, KeyRef};
use super::secrets::SecretStore;

/// A variable whose value is not known here (a Secret or ConfigMap not in the input, a field
/// of the running pod).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub name: String,
    /// e.g. "key `password` of Secret `app` (not in the input)".
    pub source: String,
    /// The Secret to hand in with `--secret`, when that is the fix.
    pub secret: Option<String>,
}

/// What the pod is, for `fieldRef`s.
#[derive(Debug, Clone, Copy)]
pub struct PodFacts<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
}

/// The environment: known values, and what could not be known.
#[derive(Debug, Clone, Default)]
pub struct ContainerEnv {
    pub vars: IndexMap<String, String>,
    pub unresolved: Vec<Unresolved>,
}

impl ContainerEnv {
    /// Builds the environment of a container with `env_from`, `env`, then the operator's
    /// `appended` variables (already resolved).
    pub fn build(
        env_from: &[EnvFromSource],
        env: &[EnvVar],
        appended: &[(String, String)],
        pod: PodFacts,
        store: &SecretStore,
    ) -> Self {
        let mut out = Self::default();
        for source in env_from {
            out.env_from(source, store);
        }
        for var in env {
            out.entry(var, pod, store);
        }
        for (name, value) in appended {
            out.set(name, value.clone());
        }
        out
    }

    fn set(&mut self, name: &str, value: String) {
        self.unresolved.retain(|u| u.name != name);
        self.vars.insert(name.to_string(), value);
    }

    fn unknown(&mut self, name: &str, source: String, secret: Option<String>) {
        self.vars.shift_remove(name);
        self.unresolved.retain(|u| u.name != name);
        self.unresolved.push(Unresolved {
            name: name.to_string(),
            source,
            secret,
        });
    }

    fn env_from(&mut self, source: &EnvFromSource, store: &SecretStore) {
        let prefix = source.prefix.clone().unwrap_or_default();
        if let Some(r) = &source.secret_ref {
            let name = r.name.clone().unwrap_or_default();
            match store.secret(&name) {
                Some(secret) => {
                    for (key, value) in &secret.data {
                        let value = String::from_utf8_lossy(value).into_owned();
                        store.remember(&value);
                        self.set(&format!("{prefix}{key}"), value);
                    }
                }
                None if r.optional == Some(true) => {}
                None => self.unknown(
                    &format!("{prefix}*"),
                    format!("every key of Secret `{name}` (envFrom; not in the input)"),
                    Some(name),
                ),
            }
        }
        if let Some(r) = &source.config_map_ref {
            let name = r.name.clone().unwrap_or_default();
            match store.config_map(&name) {
                Some(map) => {
                    for (key, value) in &map.data {
                        self.set(&format!("{prefix}{key}"), value.clone());
                    }
                }
                None if r.optional == Some(true) => {}
                None => self.unknown(
                    &format!("{prefix}*"),
                    format!("every key of ConfigMap `{name}` (envFrom; not in the input)"),
                    None,
                ),
            }
        }
    }

    fn entry(&mut self, var: &EnvVar, pod: PodFacts, store: &SecretStore) {
        let name = var.name.as_str();
        let Some(from) = &var.value_from else {
            let value = expand(var.value.as_deref().unwrap_or_default(), |n| {
                self.vars.get(n).cloned()
            });
            self.set(name, value);
            return;
        };
        if let Some(field) = &from.field_ref {
            match field.field_path.as_str() {
                "metadata.name" => self.set(name, pod.name.to_string()),
                "metadata.namespace" => self.set(name, pod.namespace.to_string()),
                "status.podIP" | "status.podIPs" => self.set(name, POD_IP_PLACEHOLDER.into()),
                other => self.unknown(name, format!("the pod's field `{other}`"), None),
            }
        } else if let Some(r) = &from.secret_key_ref {
            self.key_ref(name, r, "Secret", store);
        } else if let Some(r) = &from.config_map_key_ref {
            self.key_ref(name, r, "ConfigMap", store);
        } else {
            self.unknown(
                name,
                "a resource field or file of the running pod".into(),
                None,
            );
        }
    }

    fn key_ref(&mut self, name: &str, r: &KeyRef, kind: &str, store: &SecretStore) {
        let object = r.name.clone().unwrap_or_default();
        let value = if kind == "Secret" {
            store.secret(&object).map(|s| {
                s.data
                    .get(&r.key)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        } else {
            store
                .config_map(&object)
                .map(|m| m.data.get(&r.key).cloned())
        };
        match value {
            Some(Some(value)) => {
                if kind == "Secret" {
                    store.remember(&value);
                }
                self.set(name, value);
            }
            _ if r.optional == Some(true) => {}
            Some(None) => self.unknown(
                name,
                format!(
                    "key `{}` of {kind} `{object}`, which has no such key",
                    r.key
                ),
                None,
            ),
            None => self.unknown(
                name,
                format!("key `{}` of {kind} `{object}` (not in the input)", r.key),
                (kind == "Secret").then_some(object),
            ),
        }
    }
}

/// The kubelet's `$(VAR)` expansion: a known variable is replaced, an unknown reference kept
/// as written, `$$` is a literal `$`.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match bytes[cursor + 1] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        match lookup(name) {
                            Some(value) => out.push_str(&value),
                            None => out.push_str(&format!("$({name})")),
                        }
                        close + 1
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    let c = rest.chars().next().expect("not at the end");
                    out.push('$');
                    out.push(c);
                    c.len_utf8()
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn expansion_follows_the_kubelet() {
        let lookup = |n: &str| (n == "POD_IP").then(|| "10.0.0.1".to_string());
        assert_eq!(expand("$(POD_IP):4001", lookup), "10.0.0.1:4001");
        assert_eq!(expand("$(NOPE)x", lookup), "$(NOPE)x");
        assert_eq!(expand("$$(POD_IP)", lookup), "$(POD_IP)");
        assert_eq!(expand("a$b", lookup), "a$b");
        assert_eq!(expand("end$", lookup), "end$");
        assert_eq!(expand("$(open", lookup), "$(open");
    }
}
