//! The one place that names every step family.

use super::DynStep;

/// Every registered step, family by family.
pub fn all() -> impl Iterator<Item = &'static dyn DynStep> {
    [
        super::config::STEPS,
        super::net::STEPS,
        super::fs::STEPS,
        super::http::STEPS,
        super::etcd::STEPS,
        super::sql::STEPS,
        super::kafka::STEPS,
        super::metasrv::STEPS,
        super::object_store::STEPS,
        super::cluster::STEPS,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// Looks a step type up by name.
pub fn get(name: &str) -> Option<&'static dyn DynStep> {
    all().find(|s| s.name() == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique_and_family_dot_verb() {
        let mut seen = std::collections::HashSet::new();
        for step in super::all() {
            let name = step.name();
            assert!(seen.insert(name), "duplicate step {name}");
            let (family, verb) = name.split_once('.').expect("family.verb");
            assert!(!family.is_empty() && !verb.is_empty(), "{name}");
        }
    }
}
