//! Generates the metasrv gRPC client (and, for the test stand-in, server) code from our own
//! `.proto` (`proto/greptime/v1/meta/selftest.proto`). Needs `protoc` (scripts/prereqs.sh).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Without this, cargo reruns the script (and rebuilds the crate) when any file changes.
    println!("cargo:rerun-if-changed=proto");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(&["proto/greptime/v1/meta/selftest.proto"], &["proto"])?;
    Ok(())
}
