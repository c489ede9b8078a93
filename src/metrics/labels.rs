//! The label values of the per-call series: which method a path names, and each status
//! code's name.

use prometheus_client::encoding::EncodeLabelSet;
use tonic::Code;

/// The methods the server serves, as `(path, service, method)`; any other path is counted
/// under [`UNKNOWN`], so a client cannot create series at will.
pub(super) const KNOWN_METHODS: [(&str, &str, &str); 8] = [
    (
        "/routeguide.RouteGuide/GetFeature",
        "routeguide.RouteGuide",
        "GetFeature",
    ),
    (
        "/routeguide.RouteGuide/ListFeatures",
        "routeguide.RouteGuide",
        "ListFeatures",
    ),
    (
        "/routeguide.RouteGuide/RecordRoute",
        "routeguide.RouteGuide",
        "RecordRoute",
    ),
    (
        "/routeguide.RouteGuide/RouteChat",
        "routeguide.RouteGuide",
        "RouteChat",
    ),
    (
        "/grpc.health.v1.Health/Check",
        "grpc.health.v1.Health",
        "Check",
    ),
    (
        "/grpc.health.v1.Health/Watch",
        "grpc.health.v1.Health",
        "Watch",
    ),
    (
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1.ServerReflection",
        "ServerReflectionInfo",
    ),
    (
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection",
        "ServerReflectionInfo",
    ),
];

/// The `service` and `method` label value of calls to any other path.
pub const UNKNOWN: &str = "unknown";

/// The labels of per-method series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct MethodLabels {
    /// The fully qualified gRPC service, e.g. `routeguide.RouteGuide`.
    pub service: &'static str,
    /// The method, e.g. `GetFeature`.
    pub method: &'static str,
}

/// Names one of the methods the metrics know, or the unknown method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MethodId(usize);

impl MethodId {
    /// Returns the method at `path`; an index past [`KNOWN_METHODS`] for any other path.
    pub(crate) fn of(path: &str) -> Self {
        let index = KNOWN_METHODS
            .iter()
            .position(|&(known, _, _)| known == path);
        Self(index.unwrap_or(KNOWN_METHODS.len()))
    }

    /// Returns the method's place in [`KNOWN_METHODS`]; past its end for an unknown one.
    pub(super) fn index(self) -> usize {
        self.0
    }

    /// Returns the method's path, or `None` for an unknown one.
    pub(crate) fn path(self) -> Option<&'static str> {
        KNOWN_METHODS.get(self.0).map(|&(path, _, _)| path)
    }
}

/// Returns the canonical name of `code`, as the gRPC status code guide spells it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
