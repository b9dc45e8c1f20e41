//! Generates the causeway.v1 protobuf and gRPC code at build time from
//! `proto/` with a pure-Rust compiler (protox), so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = "../../proto";
    let files = [
        "causeway/v1/events.proto",
        "causeway/v1/ingest.proto",
        "causeway/v1/alert.proto",
        "causeway/v1/artifact.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={proto_root}/{file}");
    }
    let descriptors = protox::compile(files, [proto_root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
