//! mergo's merge without overwrite, as the operator calls it: a field is filled when it is
//! "empty" in Go's sense (nil, `""`, `0`, `false`, an empty list or map); a struct behind a
//! pointer is taken whole when absent and merged field by field otherwise; a map key by key.

use indexmap::IndexMap;

use crate::kubernetes::resource::{
    AuditLogSpec, FileStorage, LogFormat, LogLevel, LoggingSpec, MainContainer, PodTemplate,
    RetainPolicy, SlowQuery, SlowQueryRecordType, TracingSpec,
};

/// Go's notion of an empty value, which mergo fills.
pub(super) trait Empty {
    fn is_empty_value(&self) -> bool;
}

impl Empty for String {
    fn is_empty_value(&self) -> bool {
        self.is_empty()
    }
}
impl Empty for i32 {
    fn is_empty_value(&self) -> bool {
        *self == 0
    }
}
impl Empty for bool {
    fn is_empty_value(&self) -> bool {
        !*self
    }
}
impl<T> Empty for Vec<T> {
    fn is_empty_value(&self) -> bool {
        self.is_empty()
    }
}
impl<K, V> Empty for IndexMap<K, V> {
    fn is_empty_value(&self) -> bool {
        self.is_empty()
    }
}
impl Empty for LogLevel {
    fn is_empty_value(&self) -> bool {
        false
    }
}
impl Empty for LogFormat {
    fn is_empty_value(&self) -> bool {
        false
    }
}
impl Empty for SlowQueryRecordType {
    fn is_empty_value(&self) -> bool {
        false
    }
}
impl Empty for RetainPolicy {
    fn is_empty_value(&self) -> bool {
        false
    }
}
impl Empty for serde_yaml::Value {
    fn is_empty_value(&self) -> bool {
        self.is_null()
    }
}

/// mergo on a scalar, list or map field: `dst` takes `src` when `dst` is absent or empty and
/// `src` is not empty. (Maps are filled key by key: see [`fill_map`].)
pub(super) fn fill<T: Empty + Clone>(dst: &mut Option<T>, src: &Option<T>) {
    let Some(src) = src else { return };
    if src.is_empty_value() {
        return;
    }
    if dst.as_ref().is_none_or(Empty::is_empty_value) {
        *dst = Some(src.clone());
    }
}

pub(super) fn fill_map(
    dst: &mut Option<IndexMap<String, String>>,
    src: &Option<IndexMap<String, String>>,
) {
    let Some(src) = src else { return };
    let dst = dst.get_or_insert_with(IndexMap::new);
    for (k, v) in src {
        if dst.get(k).is_none_or(String::is_empty) && !v.is_empty() {
            dst.insert(k.clone(), v.clone());
        }
    }
}

/// mergo on a pointer to a struct: taken whole when absent, merged field by field otherwise.
pub(super) fn fill_struct<T: Clone>(
    dst: &mut Option<T>,
    src: &Option<T>,
    merge: impl FnOnce(&mut T, &T),
) {
    match (dst.as_mut(), src) {
        (_, None) => {}
        (None, Some(src)) => *dst = Some(src.clone()),
        (Some(dst), Some(src)) => merge(dst, src),
    }
}

pub(super) fn merge_logging(dst: &mut LoggingSpec, src: &LoggingSpec) {
    fill(&mut dst.level, &src.level);
    fill(&mut dst.filters, &src.filters);
    fill(&mut dst.logs_dir, &src.logs_dir);
    fill(&mut dst.persistent_with_data, &src.persistent_with_data);
    fill(&mut dst.only_log_to_stdout, &src.only_log_to_stdout);
    fill(&mut dst.format, &src.format);
}

pub(super) fn merge_tracing(dst: &mut TracingSpec, src: &TracingSpec) {
    fill(&mut dst.enabled, &src.enabled);
    fill(&mut dst.endpoint, &src.endpoint);
    fill(&mut dst.sample_ratio, &src.sample_ratio);
    fill_map(&mut dst.headers, &src.headers);
}

pub(super) fn merge_slow_query(dst: &mut SlowQuery, src: &SlowQuery) {
    fill(&mut dst.enabled, &src.enabled);
    fill(&mut dst.record_type, &src.record_type);
    fill(&mut dst.threshold, &src.threshold);
    fill(&mut dst.sample_ratio, &src.sample_ratio);
    fill(&mut dst.ttl, &src.ttl);
}

pub(super) fn merge_audit_log(dst: &mut AuditLogSpec, src: &AuditLogSpec) {
    fill(&mut dst.enabled, &src.enabled);
    fill(&mut dst.dir, &src.dir);
    fill(&mut dst.sources, &src.sources);
    fill(&mut dst.classes, &src.classes);
    fill(&mut dst.commands, &src.commands);
    fill(&mut dst.object_types, &src.object_types);
    fill(&mut dst.max_log_files, &src.max_log_files);
}

pub(super) fn merge_file_storage(dst: &mut FileStorage, src: &FileStorage) {
    fill(&mut dst.name, &src.name);
    fill(&mut dst.use_empty_dir, &src.use_empty_dir);
    fill(&mut dst.storage_class_name, &src.storage_class_name);
    fill(&mut dst.storage_size, &src.storage_size);
    fill(&mut dst.mount_path, &src.mount_path);
    fill(&mut dst.storage_retain_policy, &src.storage_retain_policy);
}

pub(super) fn merge_main(dst: &mut MainContainer, src: &MainContainer) {
    fill(&mut dst.image, &src.image);
    fill(&mut dst.command, &src.command);
    fill(&mut dst.args, &src.args);
    fill(&mut dst.extra_args, &src.extra_args);
    // Lists are taken whole when the component has none: a component's own `env` hides the
    // base's entirely.
    if dst.env.as_deref().is_none_or(<[_]>::is_empty)
        && src.env.as_deref().is_some_and(|e| !e.is_empty())
    {
        dst.env = src.env.clone();
    }
    if dst.env_from.as_deref().is_none_or(<[_]>::is_empty)
        && src.env_from.as_deref().is_some_and(|e| !e.is_empty())
    {
        dst.env_from = src.env_from.clone();
    }
}

pub(super) fn merge_template(dst: &mut PodTemplate, src: &PodTemplate) {
    fill_struct(&mut dst.main, &src.main, merge_main);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_false_is_filled_like_go_empty() {
        let mut dst = Some(false);
        fill(&mut dst, &Some(true));
        assert_eq!(dst, Some(true));
        let mut dst = Some(true);
        fill(&mut dst, &Some(false));
        assert_eq!(dst, Some(true));
        let mut port = Some(0);
        fill(&mut port, &Some(4000));
        assert_eq!(port, Some(4000));
    }

    #[test]
    fn headers_merge_key_by_key() {
        let mut dst = Some(IndexMap::from([("a".to_string(), "1".to_string())]));
        let src = Some(IndexMap::from([
            ("a".to_string(), "x".to_string()),
            ("b".to_string(), "2".to_string()),
        ]));
        fill_map(&mut dst, &src);
        let dst = dst.unwrap();
        assert_eq!(dst["a"], "1");
        assert_eq!(dst["b"], "2");
    }
}
