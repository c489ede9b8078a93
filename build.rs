//! Compiles `proto/route_guide.proto` without a system `protoc`.
//!
//! protox parses the proto into a descriptor set; tonic-prost-build generates the
//! messages and service from it; the encoded descriptor set is kept in `OUT_DIR`
//! so the server can offer reflection. A second copy of the server code, with tonic's stock
//! codec, is written to `OUT_DIR/stock` for the ceiling example.

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
        // Prost's encoding, with a one-pass `Point` decoder (src/codec.rs).
        .codec_path("crate::codec::RouteGuideCodec")
        .compile_fds(descriptors.clone())?;
    // The same service with tonic-prost's stock codec, for `examples/ceiling.rs`: the
    // ceiling the benchmarks compare with is tonic as it comes.
    let stock = out_dir.join("stock");
    std::fs::create_dir_all(&stock)?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .out_dir(stock)
        .compile_fds(descriptors)?;
    Ok(())
}
