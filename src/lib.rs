//! routeguide: a production RouteGuide gRPC server and client.
//!
//! The request path runs from the wire types in [`pb`] (decoded by `codec`), through
//! [`service`] (validation, status codes, streaming), to the domain: [`geo`] for
//! coordinates and distances, [`index`] for the feature database, [`route`] for route
//! summaries and [`notes`] for RouteChat storage ([`notes_health`] ties health to it). [`db`] loads databases, [`server`]
//! assembles and runs the server ([`connections`] limits its connections), [`client`] is the typed client used by the CLI, and
//! [`config`] holds the knobs and [`metrics`] every Prometheus metric; [`auth`] holds bearer tokens and [`tls`] certificates;
//! [`web`] serves the map page and the CORS layer for browsers.
//! [`synthetic`] writes generated databases and [`loadgen`] is the load generator behind
//! `routeguide bench`.
#![warn(missing_docs)]

pub mod auth;
pub mod client;
mod codec;
pub mod config;
pub mod connections;
pub mod db;
pub mod geo;
pub mod health;
pub mod index;
pub mod loadgen;
pub mod memory;
pub mod metrics;
pub mod notes;
pub mod notes_health;
pub mod route;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod synthetic;
#[cfg(test)]
mod test_bodies;
pub mod tls;
pub mod web;

/// Messages and service stubs generated from `proto/route_guide.proto`.
#[allow(missing_docs)]
pub mod pb {
    tonic::include_proto!("routeguide");
}
