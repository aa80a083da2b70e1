//! The rustls config GreptimeDB builds from `[wal.tls]` (`KafkaClientTls::to_tls_config`): the CA
//! of `server_ca_cert_path` plus the system roots, and a client certificate only when both
//! `client_cert_path` and `client_key_path` are set. A file it cannot use is `Misconfigured`,
//! naming its key.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::KafkaTls;
use crate::plugins::StepError;

/// Builds the rustls config as GreptimeDB's `KafkaClientTls::to_tls_config` does; returns it
/// and whether it presents a client certificate.
pub(super) async fn config(
    tls: &KafkaTls,
    notes: &mut Vec<String>,
) -> Result<(Arc<ClientConfig>, bool), StepError> {
    let mut roots = RootCertStore::empty();
    if let Some(path) = &tls.server_ca_cert_path {
        let pem = read_file(path, "server_ca_cert_path").await?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| not_pem(path, "server_ca_cert_path", &e.to_string()))?;
        if certs.is_empty() {
            notes.push(format!(
                "`wal.tls.server_ca_cert_path` = `{path}` holds no PEM certificate: GreptimeDB \
                 adds nothing from it and trusts only the system roots"
            ));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| {
                StepError::misconfigured(format!(
                    "`wal.tls.server_ca_cert_path` = `{path}` holds a certificate rustls cannot \
                     use as a trust anchor: {e}"
                ))
                .with_hint(
                    "GreptimeDB fails to start with it; name the PEM file of the CA certificate",
                )
            })?;
        }
    }
    // GreptimeDB always adds the system roots.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StepError::could_not_run(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(roots);
    let (config, client_cert) = match (&tls.client_cert_path, &tls.client_key_path) {
        (Some(cert_path), Some(key_path)) => {
            let pem = read_file(cert_path, "client_cert_path").await?;
            let chain = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| not_pem(cert_path, "client_cert_path", &e.to_string()))?;
            if chain.is_empty() {
                return Err(not_pem(
                    cert_path,
                    "client_cert_path",
                    "no CERTIFICATE block",
                ));
            }
            let pem = read_file(key_path, "client_key_path").await?;
            let key = PrivateKeyDer::from_pem_slice(&pem)
                .map_err(|e| not_pem(key_path, "client_key_path", &e.to_string()))?;
            let config = builder.with_client_auth_cert(chain, key).map_err(|e| {
                StepError::misconfigured(format!(
                    "`wal.tls.client_cert_path` = `{cert_path}` and `wal.tls.client_key_path` = \
                     `{key_path}` cannot be used together: {e}"
                ))
                .with_hint("the key must be the private key of the certificate; GreptimeDB fails to start with this pair")
            })?;
            (config, true)
        }
        (Some(_), None) | (None, Some(_)) => {
            let (set, unset) = if tls.client_cert_path.is_some() {
                ("client_cert_path", "client_key_path")
            } else {
                ("client_key_path", "client_cert_path")
            };
            notes.push(format!(
                "`wal.tls.{set}` is set without `wal.tls.{unset}`: GreptimeDB ignores it and \
                 connects without a client certificate"
            ));
            (builder.with_no_client_auth(), false)
        }
        (None, None) => (builder.with_no_client_auth(), false),
    };
    Ok((Arc::new(config), client_cert))
}

/// Reads a file named by `wal.tls.{key}`.
async fn read_file(path: &str, key: &str) -> Result<Vec<u8>, StepError> {
    tokio::fs::read(path).await.map_err(|e| {
        StepError::misconfigured(format!("cannot read `wal.tls.{key}` = `{path}`: {e}")).with_hint(
            format!(
                "GreptimeDB reads this file when it builds its Kafka client and fails; fix the \
                 path or the file's permissions, or remove `wal.tls.{key}`"
            ),
        )
    })
}

fn not_pem(path: &str, key: &str, detail: &str) -> StepError {
    StepError::misconfigured(format!(
        "`wal.tls.{key}` = `{path}` is not a usable PEM file: {detail}"
    ))
    .with_hint("convert it to PEM, e.g. `openssl x509 -inform der -in FILE -out FILE.pem` (keys: `openssl pkey`)")
}
