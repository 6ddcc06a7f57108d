#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Dissector goldens and tshark fuzz pass for the tlsdump plugin.

Both run tshark without root: the freshly built plugin goes into the personal
plugin folder of a temporary HOME, and when this script runs as root, tshark
runs as nobody (root's Wireshark never loads personal plugins).

  run_goldens.py goldens --tshark T --plugin SO --abi 4.0 --fixtures DIR --expected DIR [--update]
  run_goldens.py fuzz --tshark T --plugin SO --abi 4.0 --generator GEN [--frames N] [--rounds R]

UPDATE_GOLDENS=1 in the environment works like --update: the expected files
are rewritten from the current output (review the diff before committing).
"""
import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile

NOBODY = 65534

# Fields shown for HTTP/1.x exchanges.
H1_FIELDS = [
    "frame.number", "tlsdump.conn", "tlsdump.dir", "tlsdump.offset", "tlsdump.len",
    "tlsdump.reassembled_in", "tlsdump.reassembled.length", "tlsdump.request_in",
    "tlsdump.response_in", "tlsdump.time", "http.request.method", "http.request.uri",
    "http.request.full_uri", "http.response.code", "http.content_length", "tcp.stream",
    "_ws.col.Info",
]
H2_FIELDS = [
    "frame.number", "tlsdump.dir", "tlsdump.reassembled_in", "tlsdump.streamid",
    "tlsdump.request_in", "tlsdump.response_in", "tlsdump.time", "http2.streamid", "http2.type",
    "http2.headers.method", "http2.headers.path", "http2.headers.authority",
    "http2.headers.user_agent", "http2.headers.status", "http2.headers.content_type",
    "http2.data.data", "_ws.col.Info",
]

# The link between plaintext frames and the original packets of their connection.
LINK_FIELDS = [
    "frame.number", "frame.interface_id", "tcp.stream", "tlsdump.tcp_stream",
    "tlsdump.encrypted_in", "tlsdump.plaintext_frames", "tlsdump.plaintext_in",
    "tlsdump.no_plaintext", "_ws.expert.message", "_ws.col.Protocol",
]

# Kubernetes metadata from packet comments, on plaintext frames and original packets.
K8S_FIELDS = [
    "frame.number", "frame.interface_id", "tlsdump.k8s.namespace", "tlsdump.k8s.pod",
    "tlsdump.k8s.pod_uid", "tlsdump.k8s.node", "tlsdump.k8s.container",
    "tlsdump.k8s.container_id", "tlsdump.k8s.image", "tlsdump.k8s.peer_namespace",
    "tlsdump.k8s.peer_pod", "tlsdump.k8s.peer_service", "_ws.col.Protocol",
]
K8S_COLUMNS = ('gui.column.format:"No.","%m","Protocol","%p","Namespace",'
               '"%Cus:tlsdump.k8s.namespace:0:R","Pod","%Cus:tlsdump.k8s.pod:0:R",'
               '"Peer service","%Cus:tlsdump.k8s.peer_service:0:R"')


def fields(names, occurrence="a"):
    args = ["-T", "fields", "-E", "occurrence=" + occurrence]
    for n in names:
        args += ["-e", n]
    return args


# name -> (fixture, tshark arguments). Every case reads the file twice (-2)
# unless it says otherwise, as the GUI does, so request -> response links show.
CASES = {
    "split_request": ("http1_split_request", ["-2"] + fields(H1_FIELDS + ["http.file_data"])),
    "body_many_frames": ("http1_body_many_frames",
                         ["-2", "-Y", "frame.number <= 12"] + fields(H1_FIELDS)),
    "chunked_body": ("http1_body_many_frames",
                     ["-2", "-Y", "frame.number >= 13"]
                     + fields(H1_FIELDS + ["http.transfer_encoding", "http.file_data"])),
    "pipelined": ("http1_pipelined", ["-2"] + fields(H1_FIELDS + ["tlsdump.app", "http.file_data"])),
    # One pass only (tshark's default): reassembly and the request side of
    # pairing must already hold on the first pass.
    "pipelined_one_pass": ("http1_pipelined", fields(
        ["frame.number", "http.request.uri", "http.response.code", "tlsdump.request_in",
         "_ws.col.Info"])),
    "http2": ("http2", ["-2"] + fields(H2_FIELDS)),
    "gap": ("gap", ["-2"] + fields(
        ["frame.number", "tlsdump.conn", "tlsdump.dir", "tlsdump.offset", "tlsdump.len",
         "tlsdump.gap", "tlsdump.flags.gap", "tlsdump.skipped", "tlsdump.request_in",
         "tlsdump.response_in", "tlsdump.streamid", "http.request.uri", "http.response.code",
         "http.file_data", "http2.streamid", "http2.headers.path", "http2.headers.status",
         "_ws.expert.message", "_ws.col.Info"])),
    "gap_tree": ("gap", ["-2", "-Y", "frame.number == 5 || frame.number == 10", "-V", "-O", "tlsdump"]),
    "malformed": ("malformed", ["-2"] + fields(
        ["frame.number", "tlsdump.magic", "tlsdump.version", "tlsdump.dir", "tlsdump.hdr_len",
         "tlsdump.len", "tlsdump.conn", "http.request.uri", "http.response.code",
         "_ws.expert.severity", "_ws.expert.message", "_ws.col.Info"])),
    "malformed_tree": ("malformed", ["-2", "-V", "-O", "tlsdump", "-Y", "frame.number <= 7"]),
    "header_tree": ("http1_split_request", ["-2", "-V", "-O", "tlsdump", "-Y", "frame.number == 3"]),
    "follow_http": ("http1_split_request", ["-q", "-z", "follow,http,ascii,0"]),
    "follow_http2": ("http2", ["-q", "-z", "follow,http2,ascii,0,3"]),
    "upgrade_other": ("upgrade_other", ["-2"] + fields(
        ["frame.number", "tlsdump.conn", "tlsdump.dir", "tlsdump.app", "tlsdump.request_in",
         "tlsdump.response_in", "http.request.uri", "http.response.code", "http.upgrade",
         "http2.streamid", "http2.type", "http2.headers.status", "http2.data.data",
         "frame.protocols", "_ws.col.Info"])),
    "tcp_stream_filter": ("http2", ["-Y", "tcp.stream == 0 && tlsdump"]
                          + fields(["frame.number", "tcp.stream", "tlsdump.tcp_stream"])),
    # The server sends SETTINGS before it reads the client's preface.
    "http2_server_first": ("http2_server_first", ["-2"] + fields(H2_FIELDS)),
    # Plaintext frames among original packets: connection A with plaintext,
    # B (TLS) without, C plain HTTP.
    "tcp_link": ("tcp_link", ["-2"] + fields(LINK_FIELDS)),
    # One pass: a connection's packets before its first plaintext frame are
    # not yet known to have plaintext (docs/dissector.md).
    "tcp_link_one_pass": ("tcp_link", fields(LINK_FIELDS)),
    "tcp_link_stream": ("tcp_link", ["-2", "-Y", "tcp.stream == 0"]
                        + fields(["frame.number", "frame.interface_id", "_ws.col.Protocol"])),
    "tcp_link_stream_one_pass": ("tcp_link", ["-Y", "tcp.stream == 0"]
                                 + fields(["frame.number", "frame.interface_id",
                                           "_ws.col.Protocol"])),
    "no_plaintext_filter": ("tcp_link", ["-2", "-Y", "tlsdump.no_plaintext && tls.handshake.type == 1"]
                            + fields(["frame.number", "tcp.stream", "tcp.srcport", "tcp.dstport"])),
    "tcp_link_tree": ("tcp_link", ["-2", "-V", "-Y", "frame.number == 11 || frame.number == 15"]),
    # Plaintext labelled for http (tlsdump --label-http) counts as plaintext too.
    "tcp_link_label_http": ("tcp_link_label_http", ["-2"] + fields(
        LINK_FIELDS + ["http.request.uri", "http.response.code"])),
    # A capture that does not come from tlsdump: nothing added to its TLS packets.
    "tls_only": ("tls_only", ["-2"] + fields(LINK_FIELDS)),
    # Kubernetes metadata: every field on every frame (first key wins, garbled
    # lines ignored), filters in one pass and two, custom columns, the trees.
    "k8s_fields": ("k8s", ["-2"] + fields(K8S_FIELDS)),
    "k8s_filter": ("k8s", ["-Y", 'tlsdump.k8s.namespace == "shop"']
                   + fields(["frame.number", "tlsdump.k8s.pod", "tlsdump.k8s.peer_service"])),
    "k8s_filter_two_pass": ("k8s", ["-2", "-Y", 'tlsdump.k8s.peer_service == "payments" && tls']
                            + fields(["frame.number", "tcp.stream", "tlsdump.k8s.peer_pod",
                                      "tlsdump.plaintext_in"])),
    "k8s_filter_plaintext": ("k8s", ["-Y", 'tlsdump && tlsdump.k8s.pod matches "^frontend-"']
                             + fields(["frame.number", "tlsdump.k8s.container",
                                       "tlsdump.k8s.image", "http.request.uri",
                                       "http.response.code"])),
    "k8s_garbled": ("k8s", ["-Y", "tcp.stream == 2"]
                    + fields(["frame.number", "tlsdump.k8s.pod", "tlsdump.k8s.namespace",
                              "tlsdump.k8s.image", "tlsdump.k8s.peer_pod",
                              "tlsdump.k8s.peer_service"])),
    "k8s_columns": ("k8s", ["-o", K8S_COLUMNS]),
    "k8s_tree": ("k8s", ["-2", "-V", "-Y",
                         "frame.number == 2 || frame.number == 6 || frame.number == 14"]),
}


class Sandbox:
    """A world-readable temp tree: HOME with the plugin, and the inputs."""

    def __init__(self, plugin, abi, system_plugins=None):
        self.root = tempfile.mkdtemp(prefix="tlsdump-dissector-")
        os.chmod(self.root, 0o755)
        self.home = os.path.join(self.root, "home")
        epan = os.path.join(self.home, ".local", "lib", "wireshark", "plugins", abi, "epan")
        os.makedirs(epan)
        self.plugin = os.path.join(epan, "tlsdump.so")
        shutil.copy(plugin, self.plugin)
        # Wireshark scans the global plugin folder first and skips a personal
        # plugin of the same name, so an installed (maybe older) tlsdump.so
        # would be tested instead of this build. The global folder is
        # replaced by a mirror of the system one without tlsdump.so.
        self.global_dir = os.path.join(self.root, "global")
        if system_plugins and os.path.isdir(system_plugins):
            for kind in os.listdir(system_plugins):
                src = os.path.join(system_plugins, kind)
                if not os.path.isdir(src):
                    continue
                dst = os.path.join(self.global_dir, abi, kind)
                os.makedirs(dst)
                for f in os.listdir(src):
                    if f != "tlsdump.so":
                        os.symlink(os.path.join(src, f), os.path.join(dst, f))
        os.makedirs(os.path.join(self.global_dir, abi), exist_ok=True)
        self.inputs = os.path.join(self.root, "in")
        os.makedirs(self.inputs)
        for dirpath, dirnames, filenames in os.walk(self.root):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o644)

    def add_input(self, path):
        dst = os.path.join(self.inputs, os.path.basename(path))
        shutil.copy(path, dst)
        os.chmod(dst, 0o644)
        return dst

    def tshark(self, tshark, args):
        env = {
            "HOME": self.home,
            "WIRESHARK_PLUGIN_DIR": self.global_dir,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TZ": "UTC",
            "LC_ALL": "C.UTF-8",
        }
        cmd = [tshark] + args
        if os.geteuid() == 0:
            cmd = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
                   "env", "-i"] + ["%s=%s" % kv for kv in env.items()] + cmd
            env = None
        return subprocess.run(cmd, env=env, cwd=self.root, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=600)

    def check_plugin(self, tshark):
        r = self.tshark(tshark, ["-G", "plugins"])
        if r.returncode != 0 or self.plugin.encode() not in r.stdout:
            sys.stderr.write("%s not loaded by %s:\n%s%s" % (
                self.plugin, tshark, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")))
            return False
        return True

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


def normalise(text, sandbox):
    # The sandbox path appears in -V output ("File: ..."): make it stable.
    return text.replace(sandbox.inputs + "/", "").replace(sandbox.root, "SANDBOX")


def run_goldens(args):
    update = args.update or os.environ.get("UPDATE_GOLDENS") == "1"
    sb = Sandbox(args.plugin, args.abi, args.system_plugins)
    passed = failed = 0
    try:
        if not sb.check_plugin(args.tshark):
            return 1
        inputs = {}
        for name, (fixture, targs) in sorted(CASES.items()):
            if fixture not in inputs:
                inputs[fixture] = sb.add_input(os.path.join(args.fixtures, fixture + ".pcapng"))
            r = sb.tshark(args.tshark, ["-r", inputs[fixture]] + targs)
            out = normalise(r.stdout.decode("utf-8", errors="replace"), sb)
            err = r.stderr.decode("utf-8", errors="replace")
            expected_path = os.path.join(args.expected, name + ".txt")
            if r.returncode != 0:
                print("FAIL %s: tshark exited %d\n%s" % (name, r.returncode, err))
                failed += 1
                continue
            # Every case selects something: an empty output (a filter that
            # matches nothing, a field that no longer exists) is never right.
            if not out.strip():
                print("FAIL %s: tshark printed nothing\n%s" % (name, err))
                failed += 1
                continue
            if update:
                os.makedirs(args.expected, exist_ok=True)
                with open(expected_path, "w", newline="") as f:
                    f.write(out)
                print("UPDATED %s" % name)
                passed += 1
                continue
            try:
                with open(expected_path, newline="") as f:
                    want = f.read()
            except FileNotFoundError:
                print("FAIL %s: no expected output %s (UPDATE_GOLDENS=1 writes it)" % (
                    name, expected_path))
                failed += 1
                continue
            if out == want:
                print("ok   %s" % name)
                passed += 1
            else:
                print("FAIL %s: output differs from %s" % (name, expected_path))
                sys.stdout.writelines(difflib.unified_diff(
                    want.splitlines(True), out.splitlines(True), "expected", "actual"))
                failed += 1
    finally:
        sb.close()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def run_fuzz(args):
    sb = Sandbox(args.plugin, args.abi, args.system_plugins)
    failed = 0
    try:
        if not sb.check_plugin(args.tshark):
            return 1
        for rnd in range(args.rounds):
            seed = args.seed + rnd
            path = os.path.join(sb.inputs, "fuzz-%d.pcapng" % seed)
            subprocess.run([args.generator, "--fuzz", str(seed), str(args.frames), path],
                           check=True)
            os.chmod(path, 0o644)
            # One pass with the full tree, one two-pass run as the GUI does.
            for targs in (["-V"], ["-2", "-V"]):
                r = sb.tshark(args.tshark, ["-r", path] + targs)
                out = r.stdout.decode("utf-8", errors="replace")
                err = r.stderr.decode("utf-8", errors="replace")
                bad = []
                if r.returncode != 0:
                    bad.append("tshark exited %d" % r.returncode)
                if "Dissector bug" in out or "Dissector bug" in err:
                    bad.append("a dissector bug was reported")
                if "tlsdump" not in out:
                    bad.append("no tlsdump frame dissected")
                if bad:
                    failed += 1
                    print("FAIL seed %d %s: %s\n%s" % (seed, " ".join(targs), "; ".join(bad),
                                                       err[-2000:]))
                    keep = os.path.join(args.keep_dir, os.path.basename(path))
                    shutil.copy(path, keep)
                    print("input kept as %s" % keep)
                else:
                    print("ok   seed %d %s (%d frames)" % (seed, " ".join(targs), args.frames))
    finally:
        sb.close()
    print("%d passed, %d failed" % (2 * args.rounds - failed, failed))
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("goldens", "fuzz"):
        s = sub.add_parser(name)
        s.add_argument("--tshark", default="tshark")
        s.add_argument("--plugin", required=True, help="the built tlsdump.so")
        s.add_argument("--abi", required=True, help="Wireshark major.minor, e.g. 4.0")
        s.add_argument("--system-plugins",
                       help="Wireshark's global plugin folder for this version, mirrored without tlsdump.so")
    g = sub.choices["goldens"]
    g.add_argument("--fixtures", required=True)
    g.add_argument("--expected", required=True)
    g.add_argument("--update", action="store_true")
    f = sub.choices["fuzz"]
    f.add_argument("--generator", required=True, help="gen_fixtures binary")
    f.add_argument("--frames", type=int, default=3000)
    f.add_argument("--rounds", type=int, default=4)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--keep-dir", default=tempfile.gettempdir())
    args = p.parse_args()
    return run_goldens(args) if args.cmd == "goldens" else run_fuzz(args)


if __name__ == "__main__":
    sys.exit(main())
