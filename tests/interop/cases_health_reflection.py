"""Python grpcio client -> our server: standard health (Check, Watch) and server reflection."""

import signal

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

import route_guide_pb2 as pb
import rgmodel
from cases_python_client import CALL_TIMEOUT
from harness import CheckFailed, case, check, check_eq


@case("health_check_and_watch")
def health_check_and_watch(ctx):
    server = ctx.our_server("--grace", "2s")
    health = health_pb2_grpc.HealthStub(ctx.channel(server.addr))
    serving = health_pb2.HealthCheckResponse.SERVING
    for service in ["", "routeguide.RouteGuide"]:
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=CALL_TIMEOUT)
        check_eq(response.status, serving, f"Check({service!r}) is SERVING")
    try:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=CALL_TIMEOUT)
        raise CheckFailed("Check of an unknown service should fail with NOT_FOUND")
    except grpc.RpcError as error:
        check_eq(error.code(), grpc.StatusCode.NOT_FOUND, "Check of an unknown service")
    watch = health.Watch(health_pb2.HealthCheckRequest(service="routeguide.RouteGuide"), timeout=20)
    check_eq(next(watch).status, serving, "Watch first sends SERVING")
    # Graceful shutdown flips health to NOT_SERVING for watchers.
    server.process.send_signal(signal.SIGTERM)
    check_eq(next(watch).status, health_pb2.HealthCheckResponse.NOT_SERVING,
             "Watch reports NOT_SERVING after SIGTERM")
    watch.cancel()
    try:
        code = server.process.wait(15)
    except Exception:  # noqa: BLE001
        code = None
    check_eq(code, 0, "serve exits 0 after SIGTERM")


REFLECTION_V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
REFLECTION_V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


def reflect(channel, method, **request_fields):
    """Sends one reflection request on a fresh stream; v1 and v1alpha share the wire format."""
    call = channel.stream_stream(
        method, request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    responses = list(call(iter([reflection_pb2.ServerReflectionRequest(**request_fields)]),
                          timeout=CALL_TIMEOUT))
    check_eq(len(responses), 1, f"one reflection response to {request_fields}")
    check(not responses[0].HasField("error_response"), f"reflection {request_fields} succeeds",
          responses[0].error_response.error_message)
    return responses[0]


def pool_from_reflection(channel, method, symbol):
    """Returns a DescriptorPool holding `symbol`'s file and its dependencies, all fetched by reflection."""
    pool = descriptor_pool.DescriptorPool()
    files = {}
    pending = [reflect(channel, method, file_containing_symbol=symbol)]
    while pending:
        for raw in pending.pop().file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
            files.setdefault(proto.name, proto)
        for proto in list(files.values()):
            for dependency in proto.dependency:
                if dependency not in files:
                    pending.append(reflect(channel, method, file_by_filename=dependency))
    added = set()
    while len(added) < len(files):
        for name, proto in files.items():
            if name not in added and all(d in added for d in proto.dependency):
                pool.Add(proto)
                added.add(name)
    return pool, files


@case("reflection_discovery_only")
def reflection_discovery(ctx):
    channel = ctx.channel(ctx.our_server().addr)
    for method in [REFLECTION_V1, REFLECTION_V1ALPHA]:
        listed = {s.name for s in reflect(channel, method, list_services="").list_services_response.service}
        for expected in ["routeguide.RouteGuide", "grpc.health.v1.Health"]:
            check(expected in listed, f"{method}: list_services names {expected}", sorted(listed))
    pool, files = pool_from_reflection(channel, REFLECTION_V1, "routeguide.RouteGuide")
    service = pool.FindServiceByName("routeguide.RouteGuide")
    file_proto = files[service.file.name]
    options = file_proto.options
    check_eq((file_proto.package, options.java_multiple_files, options.java_package,
              options.java_outer_classname, options.objc_class_prefix),
             ("routeguide", True, "io.grpc.examples.routeguide", "RouteGuideProto", "RTG"),
             "the served file keeps the canonical package and file options")
    shapes = {m.name: (m.input_type, m.output_type, m.client_streaming, m.server_streaming)
              for s in file_proto.service for m in s.method}
    check_eq(shapes, {
        "GetFeature": (".routeguide.Point", ".routeguide.Feature", False, False),
        "ListFeatures": (".routeguide.Rectangle", ".routeguide.Feature", False, True),
        "RecordRoute": (".routeguide.Point", ".routeguide.RouteSummary", True, False),
        "RouteChat": (".routeguide.RouteNote", ".routeguide.RouteNote", True, True),
    }, "the four RPCs with their types and streaming shapes")
    method = service.methods_by_name["GetFeature"]
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    get_feature = channel.unary_unary(f"/{service.full_name}/{method.name}",
                                      request_serializer=request_class.SerializeToString,
                                      response_deserializer=response_class.FromString)
    latitude, longitude = rgmodel.BERKSHIRE
    response = get_feature(request_class(latitude=latitude, longitude=longitude), timeout=CALL_TIMEOUT)
    check_eq(response.name, rgmodel.BERKSHIRE_NAME, "dynamic GetFeature returns the feature's name")
    check_eq((response.location.latitude, response.location.longitude), rgmodel.BERKSHIRE,
             "dynamic GetFeature returns the location")
    check(not isinstance(response, pb.Feature), "the message class was built from reflection, not the stubs")


@case("health_watch_unknown_service")
def health_watch_unknown(ctx):
    # grpc/health/v1/health.proto: for an unknown service, Watch sends SERVICE_UNKNOWN and
    # keeps the call open (unlike Check, which fails with NOT_FOUND).
    health = health_pb2_grpc.HealthStub(ctx.channel(ctx.our_server().addr))
    watch = health.Watch(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
    try:
        first = next(watch)
    except grpc.RpcError as error:
        raise CheckFailed("Watch of an unknown service sends SERVICE_UNKNOWN and stays open: "
                          f"got {error.code().name} {error.details()!r}") from error
    finally:
        watch.cancel()
    check_eq(first.status, health_pb2.HealthCheckResponse.SERVICE_UNKNOWN,
             "Watch of an unknown service first sends SERVICE_UNKNOWN")
