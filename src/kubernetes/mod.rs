//! Kubernetes input: a `GreptimeDBCluster` (and its Secrets) rendered into each pod's config
//! and command line as the greptimedb-operator renders them.

pub mod rendered;
