//! End-to-end behaviour of the server over real TCP on 127.0.0.1, one module per concern.

mod abandonment;
mod cors;
mod deadlines;
mod get_feature;
mod grpc_web;
mod health_reflection;
mod layers;
mod list_features;
mod live_chat;
mod loadgen;
mod logs;
mod map_page;
mod notes_health;
mod point_layouts;
mod raw_codec;
mod raw_h2;
mod record_route;
mod robustness;
mod route_chat;
mod shutdown;
mod slow_reader;
mod support;
mod web_client;
