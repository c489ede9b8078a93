//! The browser side of the server: the CORS layer that `--cors-origin` turns on (`cors`).
//! gRPC-Web itself is tonic-web's layer in `server`.

mod cors;

pub use cors::cors_layer;
