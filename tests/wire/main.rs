//! End-to-end behaviour of the server over real TCP on 127.0.0.1, one module per concern.

mod abandonment;
mod deadlines;
mod durable_chat;
mod get_feature;
mod health_reflection;
mod layers;
mod list_features;
mod loadgen;
mod logs;
mod point_layouts;
mod raw_codec;
mod raw_h2;
mod record_route;
mod robustness;
mod route_chat;
mod shutdown;
mod slow_reader;
mod support;
