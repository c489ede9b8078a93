//! Compiles `proto/route_guide.proto` without a system `protoc`.
//!
//! protox parses the proto into a descriptor set; tonic-prost-build generates the
//! messages and service from it; the encoded descriptor set is kept in `OUT_DIR`
//! so the server can offer reflection.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/route_guide.proto");
    let descriptors = protox::compile(["route_guide.proto"], ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("route_guide_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // The CLI prints messages as proto3 JSON (lowerCamelCase names, defaults included).
        .type_attribute(
            ".routeguide",
            "#[derive(serde::Serialize)] #[serde(rename_all = \"camelCase\")]",
        )
        .compile_fds(descriptors)?;
    Ok(())
}
