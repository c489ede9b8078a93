//! End-to-end behaviour of the server over real TCP on 127.0.0.1, one module per concern.

mod abandonment;
mod access_log;
mod auth;
mod compression;
mod connections;
mod cors;
mod deadlines;
mod durable_chat;
mod every_rpc;
mod get_feature;
mod grpc_web;
mod health_reflection;
mod layers;
mod limits;
mod list_features;
mod live_chat;
mod loadgen;
mod logs;
mod map_page;
mod metrics;
mod notes_health;
#[path = "../shared/pki.rs"]
mod pki;
mod point_layouts;
mod rate_limit;
mod raw_codec;
mod raw_h2;
mod record_route;
mod robustness;
mod route_chat;
mod shutdown;
mod slow_reader;
mod stream_idle;
mod support;
mod tls;
mod web_client;
