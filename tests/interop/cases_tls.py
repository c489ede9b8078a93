"""TLS, mutual TLS and bearer tokens with the official stack: grpcio's client verifies our
server's certificate (and presents its own), sends tokens as call credentials, and our
CLI verifies a grpcio server's certificate. Certificates are made at run time."""

import itertools

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import route_guide_pb2 as pb
import route_guide_pb2_grpc as pb_grpc
import rgmodel
import tls_material
from cases_python_client import CALL_TIMEOUT
from harness import case, check, check_eq, check_rpc_error


class Pki:
    """A CA, a server leaf for localhost and 127.0.0.1, a client leaf, and a foreign CA,
    all as files in the case's temp dir."""

    def __init__(self, ctx):
        self.ca = tls_material.Authority("interop test ca")
        self.foreign = tls_material.Authority("interop foreign ca")
        server_cert, server_key = self.ca.issue("localhost", dns=["localhost"], ips=["127.0.0.1"])
        self.client_cert, self.client_key = self.ca.issue("interop client", client=True)
        directory = ctx.tmpdir
        self.ca_file = tls_material.write(directory, "ca.pem", self.ca.pem)
        self.foreign_file = tls_material.write(directory, "foreign.pem", self.foreign.pem)
        self.server_cert = tls_material.write(directory, "server.pem", server_cert)
        self.server_key = tls_material.write(directory, "server.key", server_key)

    def serve_flags(self):
        return ["--tls-cert", self.server_cert, "--tls-key", self.server_key]

    def credentials(self, roots=None, client_cert=False):
        """grpcio channel credentials trusting our CA (or `roots`), presenting the client's."""
        if client_cert:
            return grpc.ssl_channel_credentials(root_certificates=roots or self.ca.pem,
                                                private_key=self.client_key,
                                                certificate_chain=self.client_cert)
        return grpc.ssl_channel_credentials(root_certificates=roots or self.ca.pem)


# Each RouteChat of these cases writes at a location of its own, so nothing is replayed.
CHAT_LOCATIONS = itertools.count(1000)


def secure_stub(ctx, addr, credentials):
    return pb_grpc.RouteGuideStub(ctx.track(grpc.secure_channel(addr, credentials)))


def all_four_rpcs(stub, description):
    """Calls each RPC once and checks its answer."""
    feature = stub.GetFeature(pb.Point(latitude=rgmodel.BERKSHIRE[0], longitude=rgmodel.BERKSHIRE[1]),
                              timeout=CALL_TIMEOUT)
    check_eq(feature.name, rgmodel.BERKSHIRE_NAME, f"{description}: GetFeature")
    rectangle = pb.Rectangle(lo=pb.Point(latitude=400000000, longitude=-750000000),
                             hi=pb.Point(latitude=420000000, longitude=-730000000))
    check_eq(len(list(stub.ListFeatures(rectangle, timeout=CALL_TIMEOUT))), 100,
             f"{description}: ListFeatures streams the tutorial rectangle's 100 features")
    route = [pb.Point(latitude=0, longitude=0), pb.Point(latitude=1, longitude=1)]
    check_eq(stub.RecordRoute(iter(route), timeout=CALL_TIMEOUT).point_count, 2,
             f"{description}: RecordRoute counts the points")
    location = next(CHAT_LOCATIONS)
    note = pb.RouteNote(location=pb.Point(latitude=location, longitude=location), message="over tls")
    check_eq(list(stub.RouteChat(iter([note]), timeout=CALL_TIMEOUT)), [],
             f"{description}: RouteChat ends after a first note with nothing to replay")


def get_feature(stub):
    return lambda: stub.GetFeature(pb.Point(latitude=0, longitude=0), timeout=CALL_TIMEOUT)


@case("tls_python_client_verifies_our_certificate")
def tls_python_client(ctx):
    pki = Pki(ctx)
    server = ctx.our_server(*pki.serve_flags())
    for host in [server.addr, server.addr.replace("127.0.0.1", "localhost")]:
        all_four_rpcs(secure_stub(ctx, host, pki.credentials()), f"grpcio over TLS to {host}")
    health = health_pb2_grpc.HealthStub(ctx.track(grpc.secure_channel(server.addr, pki.credentials())))
    check_eq(health.Check(health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT).status,
             health_pb2.HealthCheckResponse.SERVING, "health answers over TLS")
    foreign = secure_stub(ctx, server.addr, pki.credentials(roots=pki.foreign.pem))
    check_rpc_error(get_feature(foreign), grpc.StatusCode.UNAVAILABLE,
                    "a client trusting another CA refuses our certificate")
    plain = pb_grpc.RouteGuideStub(ctx.channel(server.addr))
    check_rpc_error(get_feature(plain), grpc.StatusCode.UNAVAILABLE,
                    "a plain-text client gets no answer from a TLS server")


@case("mtls_python_client_presents_its_certificate")
def mtls_python_client(ctx):
    pki = Pki(ctx)
    server = ctx.our_server(*pki.serve_flags(), "--tls-client-ca", pki.ca_file)
    all_four_rpcs(secure_stub(ctx, server.addr, pki.credentials(client_cert=True)),
                  "grpcio with a client certificate of the client CA")
    without = secure_stub(ctx, server.addr, pki.credentials())
    check_rpc_error(get_feature(without), grpc.StatusCode.UNAVAILABLE,
                    "a client without a certificate is refused")


@case("bearer_token_as_grpcio_call_credentials")
def bearer_token(ctx):
    pki = Pki(ctx)
    tokens = tls_material.write(ctx.tmpdir, "tokens.txt", b"# interop\ninterop-token\n")
    server = ctx.our_server(*pki.serve_flags(), "--auth-token-file", tokens)

    def with_token(token):
        call = grpc.access_token_call_credentials(token)
        return grpc.composite_channel_credentials(pki.credentials(), call)

    all_four_rpcs(secure_stub(ctx, server.addr, with_token("interop-token")), "grpcio with a token")
    check_rpc_error(get_feature(secure_stub(ctx, server.addr, with_token("wrong-token"))),
                    grpc.StatusCode.UNAUTHENTICATED, "a wrong token", "invalid bearer token")
    no_token = secure_stub(ctx, server.addr, pki.credentials())
    check_rpc_error(get_feature(no_token), grpc.StatusCode.UNAUTHENTICATED, "no token",
                    "missing bearer token")
    health = health_pb2_grpc.HealthStub(ctx.track(grpc.secure_channel(server.addr, pki.credentials())))
    check_eq(health.Check(health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT).status,
             health_pb2.HealthCheckResponse.SERVING, "health needs no token")
    check("interop-token" not in "\n".join(server.log), "the token is not in the server's log")


@case("cli_verifies_a_grpcio_tls_server")
def cli_against_python_tls(ctx):
    pki = Pki(ctx)
    server = ctx.py_server("--tls-cert", pki.server_cert, "--tls-key", pki.server_key)
    point = "40.9146138,-74.6188906"
    result = ctx.cli("get", point, "--addr", f"https://{server.addr}", "--tls-ca", pki.ca_file)
    check_eq(result.returncode, 0, f"get over TLS exits 0 (stderr {result.stderr.strip()!r})")
    check(rgmodel.BERKSHIRE_NAME in result.stdout, "get over TLS prints the feature", result.stdout)
    wrong = ctx.cli("get", point, "--addr", f"https://{server.addr}", "--tls-ca", pki.foreign_file)
    check_eq(wrong.returncode, 3, "a server certificate of another CA: exit 3")
    check("UnknownIssuer" in wrong.stderr, "the error says the issuer is unknown", wrong.stderr)
