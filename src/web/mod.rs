//! The browser side of the server: the map page and its assets (`page`), and the CORS
//! layer that `--cors-origin` turns on (`cors`). gRPC-Web itself is tonic-web's layer in
//! `server`.
//!
//! The page is built from `web/` with npm into `web/dist/`, which is committed and embedded
//! here with `include_bytes!`, so building the server needs no node.

mod cors;
mod page;

pub use cors::cors_layer;
pub use page::{MapPage, MapPageLayer, MapPageService};
