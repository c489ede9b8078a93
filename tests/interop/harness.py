"""Case registry, described assertions, and the processes a case starts (servers, CLI runs).

A case is a function `fn(ctx)` registered with `@case(name, timeout)`. It fails by
raising: `check(...)` raises `CheckFailed` carrying the assertion's description.
Every process a case starts through its `Context` is killed when the case ends.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import grpc

CASES = []
LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
HERE = os.path.dirname(os.path.abspath(__file__))


class CheckFailed(Exception):
    """An assertion of a case did not hold; the message is its description."""


class Skipped(Exception):
    """The case cannot run here (a tool or resource it needs is missing); the message says
    why. Outside CI the run reports it loudly and goes on; under CI=true it is a failure."""


class Case:
    def __init__(self, name, function, timeout):
        self.name, self.function, self.timeout = name, function, timeout


def case(name, timeout=30.0):
    """Registers `fn(ctx)` as the named case, failed when it takes longer than `timeout`."""
    def register(function):
        CASES.append(Case(name, function, timeout))
        return function
    return register


def check(condition, description, detail=None):
    """Fails the case with `description` (and `detail`) unless `condition` holds."""
    if not condition:
        raise CheckFailed(description if detail is None else f"{description}: {detail}")


def check_eq(got, expected, description):
    """Fails the case with `description` unless got == expected, showing both."""
    if got != expected:
        raise CheckFailed(f"{description}: expected {_short(expected)}, got {_short(got)}")


def check_rpc_error(call, code, description, fragment=None):
    """Runs `call()` and fails unless it raises grpc.RpcError with `code` (and `fragment`)."""
    try:
        call()
    except grpc.RpcError as error:
        check_eq(error.code(), code, f"{description}: status code")
        if fragment is not None:
            check(fragment in (error.details() or ""), f"{description}: message names {fragment!r}",
                  f"got {error.details()!r}")
        return error
    raise CheckFailed(f"{description}: expected {code.name}, the call succeeded")


def _short(value, limit=600):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def clean_env():
    """Returns the environment without ROUTEGUIDE_* variables, so only flags configure the CLI."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ROUTEGUIDE_")}


class Server:
    """A server process that logged `listening on 127.0.0.1:PORT`; `.addr` is host:port."""

    def __init__(self, label, command, ready_timeout, env=None):
        self.label = label
        self.log = []
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**clean_env(), **(env or {})}, text=True, errors="replace")
        self._port_found = threading.Event()
        self.port = None
        threading.Thread(target=self._read_log, daemon=True).start()
        deadline = time.monotonic() + ready_timeout
        while not self._port_found.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise CheckFailed(f"{label} did not log 'listening on' (exit {self.process.poll()}): "
                                  + " | ".join(self.log[-5:]))
        self.addr = f"127.0.0.1:{self.port}"

    def _read_log(self):
        for line in self.process.stderr:
            self.log.append(line.rstrip())
            match = LISTENING.search(line)
            if match and self.port is None:
                self.port = int(match.group(1))
                self._port_found.set()

    def alive(self):
        return self.process.poll() is None

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass


class Context:
    """What one case may use: its servers, channels, temp dir and CLI runs; all torn down after."""

    def __init__(self, config):
        self.config = config
        self._servers = []
        self._channels = []
        self._processes = []
        self._tmp = None

    @property
    def bin(self):
        return self.config["bin"]

    @property
    def tmpdir(self):
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="interop-case-")
        return self._tmp

    def our_server(self, *args, ready_timeout=60, env=None):
        """Starts `routeguide serve --addr 127.0.0.1:0 ARGS...`, with `env` (e.g. RUST_LOG)
        added to its environment."""
        server = Server("routeguide serve", [self.bin, "serve", "--addr", "127.0.0.1:0", *args],
                        ready_timeout, env)
        self._servers.append(server)
        return server

    def py_server(self, *args, ready_timeout=30):
        """Starts the test-only Python server (py_server.py) with ARGS."""
        script = os.path.join(HERE, "py_server.py")
        server = Server("python server", [sys.executable, script, "--port", "0",
                                          "--db", self.config["db"], *args], ready_timeout)
        self._servers.append(server)
        return server

    def channel(self, addr, **kwargs):
        """Returns a grpc channel to addr, closed when the case ends."""
        channel = grpc.insecure_channel(addr, **kwargs)
        self._channels.append(channel)
        return channel

    def track(self, closable):
        """Closes `closable` (anything with .close()) when the case ends; returns it."""
        self._channels.append(closable)
        return closable

    def cli(self, *args, stdin=None, timeout=30):
        """Runs `routeguide ARGS...` to completion; returns the CompletedProcess (text)."""
        try:
            return subprocess.run([self.bin, *args], input=stdin, capture_output=True, text=True,
                                  timeout=timeout, env=clean_env())
        except subprocess.TimeoutExpired as error:
            raise CheckFailed(f"`routeguide {' '.join(args)}` still running after {timeout}s") from error

    def popen(self, command, **kwargs):
        """Starts a process that is killed when the case ends."""
        process = subprocess.Popen(command, env=clean_env(), **kwargs)
        self._processes.append(process)
        return process

    def close(self):
        for channel in self._channels:
            channel.close()
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for server in self._servers:
            server.kill()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)


def run_cases(cases, config):
    """Runs each case with its timeout, prints one line per case; returns (passed, failed,
    skipped), where skipped lists (name, reason). With config["ci"], a skip is a failure."""
    passed = failed = 0
    skipped = []
    for item in cases:
        context = Context(config)
        outcome = {}

        def body(item=item, context=context, outcome=outcome):
            try:
                item.function(context)
                outcome["status"] = "PASS"
            except Skipped as reason:
                outcome["status"], outcome["reason"] = "SKIP", str(reason)
            except CheckFailed as reason:
                outcome["status"], outcome["reason"] = "FAIL", str(reason)
            except grpc.RpcError as error:
                outcome["status"] = "FAIL"
                outcome["reason"] = f"unexpected RPC error {error.code()}: {error.details()}"
            except Exception as error:  # noqa: BLE001 - any crash is a failed case
                outcome["status"] = "FAIL"
                outcome["reason"] = f"{type(error).__name__}: {error}"
                outcome["trace"] = traceback.format_exc()

        started = time.monotonic()
        worker = threading.Thread(target=body, name=item.name, daemon=True)
        worker.start()
        worker.join(item.timeout)
        if worker.is_alive():
            outcome = {"status": "FAIL", "reason": f"timed out after {item.timeout:.0f}s"}
        context.close()
        seconds = time.monotonic() - started
        status = outcome["status"]
        if status == "SKIP" and config.get("ci"):
            status = "FAIL"
            outcome["reason"] = f"skipped, and CI=true allows no skip: {outcome['reason']}"
        if status == "PASS":
            passed += 1
            print(f"PASS {item.name} ({seconds:.1f}s)", flush=True)
        elif status == "SKIP":
            skipped.append((item.name, outcome["reason"]))
            print(f"SKIP {item.name}: {outcome['reason']} (did NOT run)", flush=True)
        else:
            failed += 1
            print(f"FAIL {item.name}: {outcome['reason']}", flush=True)
            if "trace" in outcome and config.get("verbose"):
                print(outcome["trace"], file=sys.stderr)
    return passed, failed, skipped


def stop_gracefully(server, seconds=15):
    """Sends SIGTERM and returns the exit code (None if it did not exit in time)."""
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(seconds)
    except subprocess.TimeoutExpired:
        return None
