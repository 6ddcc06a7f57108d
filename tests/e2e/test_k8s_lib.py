#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real containers for the Kubernetes metadata e2e tests (test_k8s_*.py); stdlib only.

Not a test itself (ctest skips test_*_lib.py). No Kubernetes runs: the
harness makes one "node" out of the pieces whose traces tlsdump reads, all
of them real and all of them private to the test:

* a containerd of its own (Debian's 1.6): root, state, socket, runc root and
  FIFOs in a temporary directory, configured by the test; `ctr` talks to it
  in the namespace k8s.io, as the CRI plugin would;
* an OCI image built here, without a registry or docker: busybox plus
  /usr/bin/openssl and every library `ldd` lists (libssl.so.3,
  libcrypto.so.3, libc, ld-linux) at their usual paths, and a test
  certificate; written as an OCI layout tar (oci-layout, index.json,
  blobs: gzipped layer, config, manifest) and loaded with `ctr images import`.
  Its libssl is another file than the host's: tlsdump must find it through
  /proc/PID/root;
* pods: a network namespace each (`ip netns add`) joined by a veth pair to
  a test bridge in the root namespace, the pod's address in a /24 of its
  own (the host holds .1 on the bridge), so pods reach each other and the
  host and nothing else; a sandbox container and application containers
  started with `ctr run --cgroup /kubepods/<qos>/pod<UID>/<id>` (cgroupfs
  driver, as a kubelet without systemd) and the CRI annotations
  (io.kubernetes.cri.*), so the bundle's config.json holds what a CRI
  containerd writes; and a CNI cache file per pod (`<net>-<sandbox
  id>-eth0`, cniCacheV1, as libcni writes to /var/lib/cni/results) in a
  directory of the test, since no CNI plugin runs here.

Everything is removed by Node.close(), also after a failure or a SIGTERM:
containers (killed), the containerd daemon, its shims and their sockets in
/run/containerd/s, mounts left under the temporary directory, namespaces,
veths, the bridge, the cgroups the test created (rmdir only: a cgroup still in
use is reported, never forced), the temporary directory. Names carry the
test's pid; namespaces and links of a killed earlier run (pid gone) are
removed before a new node starts, its containerd (with its containers) is
reported. One node at a time on a machine (a lock in /run/lock): runs from
other build trees wait, as they share /kubepods and /run/containerd.

main() is e2e.main() (root, --binary) that also exits 77, printing why,
when a tool is missing (containerd, containerd-shim-runc-v2, ctr, runc, ip,
busybox, openssl, ldd) or when every test was skipped because containers
cannot start on this machine (K8sTest raises unittest.SkipTest then).
"""

import atexit
import fcntl
import glob
import gzip
import hashlib
import io
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import test_packets_lib as packets_lib  # noqa: E402

CTR_NAMESPACE = "k8s.io"  # the containerd namespace of the CRI plugin
IMAGE_NAME = "registry.tlsdump.test/e2e/tls-peer:v1"
NODE_NAME = "tlsdump-e2e-node"
CNI_NETWORK = "tlsdump-e2e"
CGROUP_ROOT = "/kubepods"  # the kubelet's cgroupfs root (no --cgroup-root)
QOS_CLASSES = ("guaranteed", "burstable", "besteffort")
# Candidate pod networks: the first that overlaps no address or route here is used.
POD_SUBNETS = ("10.244.213.0/24", "10.213.77.0/24", "172.31.213.0/24", "192.168.213.0/24")
# Names of everything the harness creates in the root namespace: the prefix + pid.
PREFIX = "tdk8s"
TOOLS = ["containerd", "containerd-shim-runc-v2", "ctr", "runc", "ip", "busybox", "openssl",
         "ldd"]
CERT_DIR = "/etc/tlsdump-e2e"  # where the image holds cert.pem and key.pem
START_TIMEOUT = 20
LOCK_TIMEOUT = 150  # another run of this harness (ctest's e2e timeout is 180 s)


class HarnessError(Exception):
    """Something the harness needs does not work on this machine."""


def run(argv, timeout=30, check=True, **kw):
    """subprocess.run with text output; raises HarnessError naming the command and its
    stderr when @check and it fails."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, **kw)
    except subprocess.TimeoutExpired:
        raise HarnessError("%s did not finish within %d s" % (" ".join(argv), timeout))
    if check and p.returncode:
        raise HarnessError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                                (p.stderr or p.stdout).strip()[-2000:]))
    return p


def _pid_alive(pid):
    """True if @pid runs (a zombie does not count)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def missing_tools():
    return [t for t in TOOLS if not shutil.which(t)]


# --- cgroups ------------------------------------------------------------------

def cgroup_mounts():
    """{controller list or "" (cgroup v2): mount point} of this mount namespace."""
    out = {}
    for line in e2e.read_text("/proc/self/mountinfo").splitlines():
        pre, _, post = line.partition(" - ")
        fields, post = pre.split(), post.split()
        if len(post) < 3 or post[0] not in ("cgroup", "cgroup2"):
            continue
        if post[0] == "cgroup2":
            out.setdefault("", fields[4])
        else:
            opts = [o for o in post[2].split(",") if o not in ("rw", "ro") and "=" not in o
                    or o.startswith("name=")]
            out.setdefault(",".join(sorted(opts)), fields[4])
    return out


def cgroup_v2_mount():
    """The cgroup v2 mount point (found by file system type), or None."""
    return cgroup_mounts().get("")


def proc_cgroups(pid):
    """{hierarchy (the controllers, "" for v2): path} of /proc/@pid/cgroup."""
    out = {}
    for line in e2e.read_text("/proc/%d/cgroup" % pid).splitlines():
        _, ctrl, path = line.split(":", 2)
        out[ctrl] = path
    return out


# --- the image ------------------------------------------------------------------

def copy_host_path(rootfs, path):
    """Copies file @path of the host to the same path under @rootfs, recreating every
    symbolic link met on the way (/lib -> usr/lib, lib64 links, versioned names), so
    the path resolves in the image as it does on the host."""
    parts = [p for p in path.split("/") if p]
    cur = "/"
    for i, part in enumerate(parts):
        nxt = os.path.join(cur, part)
        dst = rootfs + nxt
        if os.path.islink(nxt):
            target = os.readlink(nxt)
            if not os.path.lexists(dst):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                os.symlink(target, dst)
            resolved = os.path.normpath(os.path.join(cur, target))
            rest = "/".join(parts[i + 1:])
            copy_host_path(rootfs, os.path.join(resolved, rest) if rest else resolved)
            return
        if i == len(parts) - 1:
            if not os.path.exists(dst):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy2(nxt, dst)
        else:
            os.makedirs(dst, exist_ok=True)
        cur = nxt


def ldd_paths(binary):
    """The absolute paths of the shared libraries and the loader `ldd` lists for
    @binary ([] for a static one)."""
    p = run(["ldd", binary], check=False)
    return re.findall(r"(?:=>\s*|^\s*)(/\S+)\s+\(0x", p.stdout, re.M)


def install_binary(rootfs, binary):
    """@binary and the libraries it loads, at their host paths under @rootfs."""
    copy_host_path(rootfs, binary)
    for lib in ldd_paths(binary):
        copy_host_path(rootfs, lib)


def make_rootfs(rootfs, cert, key):
    """busybox (and its applets) + openssl with its libraries + @cert/@key in CERT_DIR."""
    busybox = os.path.realpath(shutil.which("busybox"))
    install_binary(rootfs, "/bin/busybox" if os.path.realpath("/bin/busybox") == busybox
                   else busybox)
    bindir = rootfs + os.path.dirname(busybox)  # where copy_host_path put the file
    openssl = shutil.which("openssl")
    install_binary(rootfs, openssl)
    # openssl reads OPENSSLDIR/openssl.cnf (Debian: /usr/lib/ssl -> /etc/ssl).
    m = re.search(r'OPENSSLDIR: "([^"]+)"', run([openssl, "version", "-d"]).stdout)
    if m and os.path.exists(os.path.join(m.group(1), "openssl.cnf")):
        copy_host_path(rootfs, os.path.join(m.group(1), "openssl.cnf"))
    for applet in run([busybox, "--list"]).stdout.split():
        link = os.path.join(bindir, applet)
        if not os.path.lexists(link) and not os.path.lexists(rootfs + "/bin/" + applet):
            os.symlink("busybox", link)
    for d in ("proc", "sys", "dev", "tmp", "etc", "root", "run", "var/tmp"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(rootfs, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    with open(os.path.join(rootfs, "etc", "hosts"), "w") as f:
        f.write("127.0.0.1 localhost\n")
    certs = rootfs + CERT_DIR
    os.makedirs(certs, exist_ok=True)
    shutil.copy(cert, os.path.join(certs, "cert.pem"))
    shutil.copy(key, os.path.join(certs, "key.pem"))


def _blob(layout, data):
    """Writes @data as a blob of OCI layout @layout; returns (digest, size)."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "wb") as f:
        f.write(data)
    return digest, len(data)


def build_oci_image(rootfs, out_tar, name=IMAGE_NAME, cmd=("/bin/sh",)):
    """Writes the OCI image layout of a one-layer image of directory @rootfs to the tar
    @out_tar, named @name (index annotations io.containerd.image.name and
    org.opencontainers.image.ref.name); returns the manifest digest."""
    layout = out_tar + ".d"
    os.makedirs(os.path.join(layout, "blobs", "sha256"))

    def owner(ti):
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        ti.mtime = 0
        return ti
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
        for entry in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, entry), arcname=entry, filter=owner)
    raw = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    layer_digest, layer_size = _blob(layout, gzip.compress(raw, compresslevel=1, mtime=0))
    config = {
        "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine,
                                                                    os.uname().machine),
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": list(cmd), "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2026-01-01T00:00:00Z",
                     "created_by": "tests/e2e/test_k8s_lib.py build_oci_image"}],
    }
    config_digest, config_size = _blob(layout, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = _blob(layout, json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest_digest, "size": manifest_size,
                       "annotations": {
                           "io.containerd.image.name": name,
                           "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}}],
    }
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with tarfile.open(out_tar, "w") as t:
        for entry in ("oci-layout", "index.json", "blobs"):
            t.add(os.path.join(layout, entry), arcname=entry, filter=owner)
    shutil.rmtree(layout)
    return manifest_digest


# --- containerd -------------------------------------------------------------------

CONTAINERD_CONFIG = """\
version = 2
root = "{dir}/root"
state = "{dir}/state"
# Only what ctr needs: no CRI (it would want CNI and a streaming port), no
# snapshotters that cannot work here, no tracing.
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{dir}/containerd.sock"

[ttrpc]
  address = "{dir}/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{dir}/opt"

# This VM lacks CAP_SYS_RESOURCE: never lower an OOM score (CRI, if enabled).
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
"""


class Containerd:
    """A containerd daemon of the test: everything under @dir."""

    def __init__(self, dir):
        self.dir = dir
        self.config = os.path.join(dir, "config.toml")
        self.root = os.path.join(dir, "root")
        self.state = os.path.join(dir, "state")
        self.address = os.path.join(dir, "containerd.sock")
        self.runc_root = os.path.join(dir, "runc")
        self.fifo_dir = os.path.join(dir, "fifo")
        self.log = os.path.join(dir, "containerd.log")
        self.proc = None
        self.shim_dirs = []

    def note_shim_dirs(self):
        """The shims put their sockets in /run/containerd/s whatever the state directory:
        notes which of those directories this run creates (removed by stop())."""
        self.shim_dirs = [d for d in ("/run/containerd", "/run/containerd/s")
                          if not os.path.exists(d)]

    def start(self):
        for d in (self.root, self.state, self.runc_root, self.fifo_dir):
            os.makedirs(d, exist_ok=True)
        with open(self.config, "w") as f:
            f.write(CONTAINERD_CONFIG.format(dir=self.dir))
        with open(self.log, "wb") as log:
            # Its own session and process group: the shims it starts are stopped by
            # close(), never by a signal meant for the test.
            self.proc = subprocess.Popen(["containerd", "--config", self.config,
                                          "--log-level", "info"],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise HarnessError("containerd exited with %d:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            if os.path.exists(self.address) and \
                    self.ctr("version", check=False, timeout=5).returncode == 0:
                return self
            if time.monotonic() > deadline:
                raise HarnessError("containerd did not serve %s within %d s:\n%s"
                                   % (self.address, START_TIMEOUT, self.log_tail()))
            time.sleep(0.05)

    def log_tail(self, n=25):
        lines = e2e.read_text(self.log).splitlines()
        return "\n".join(lines[-n:])

    def ctr(self, *args, check=True, timeout=60):
        """`ctr --address SOCK -n k8s.io ARGS`."""
        return run(["ctr", "--address", self.address, "-n", CTR_NAMESPACE, *args],
                   check=check, timeout=timeout)

    def bundle(self, cid):
        """The bundle directory of container @cid (config.json, rootfs)."""
        return os.path.join(self.state, "io.containerd.runtime.v2.task", CTR_NAMESPACE, cid)

    def shim_pids(self):
        """Pids of the shims of this containerd (their -address names our socket)."""
        pids = []
        for d in glob.glob("/proc/[0-9]*"):
            try:
                with open(d + "/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and \
                    self.address.encode() in argv:
                pids.append(int(d[6:]))
        return pids

    def shim_sockets(self):
        """The shim socket files of the running tasks (each bundle's `address` file)."""
        out = []
        for f in glob.glob(os.path.join(self.state, "io.containerd.runtime.v2.task", "*", "*",
                                        "address")):
            addr = e2e.read_text(f).strip()
            if addr.startswith("unix://"):
                out.append(addr[len("unix://"):])
        return out

    def stop(self, warn):
        """Kills and deletes every task and container, stops the daemon and the shims,
        removes their sockets."""
        if self.proc is None:
            return
        sockets = self.shim_sockets()
        if self.proc.poll() is None:
            try:
                tasks = self.ctr("tasks", "list", "-q", check=False, timeout=10).stdout.split()
                for t in tasks:
                    self.ctr("tasks", "kill", "-a", "-s", "SIGKILL", t, check=False, timeout=10)
                for t in tasks:
                    self.ctr("tasks", "delete", "-f", t, check=False, timeout=20)
                for c in self.ctr("containers", "list", "-q", check=False,
                                  timeout=10).stdout.split():
                    self.ctr("containers", "delete", c, check=False, timeout=20)
            except HarnessError as e:
                warn("containerd cleanup: %s" % e)
        # A shim exits by itself once its task is deleted; give it the time to.
        shims = self.shim_pids()
        deadline = time.monotonic() + 5
        while [p for p in shims if _pid_alive(p)] and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for pid in shims:
            if _pid_alive(pid):
                warn("killing shim %d, still running" % pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        while [p for p in shims if _pid_alive(p)] and time.monotonic() < deadline:
            time.sleep(0.05)
        for sock in sockets:
            try:
                os.unlink(sock)
            except FileNotFoundError:
                pass
            except OSError as e:
                warn("cannot remove shim socket %s: %s" % (sock, e))
        for d in reversed(self.shim_dirs):
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError as e:
                warn("cannot remove %s: %s" % (d, e))


# --- the node -----------------------------------------------------------------------

class Container:
    """A container started with ctr run: id, name, pod, pid, its cgroup (the --cgroup
    path, relative to each hierarchy's root), bundle directory, image."""

    def __init__(self, pod, name, cid, cgroup, argv, kind):
        self.pod, self.name, self.id, self.cgroup, self.argv = pod, name, cid, cgroup, argv
        self.kind = kind  # "sandbox" or "container"
        self.image = pod.node.image
        self.bundle = pod.node.containerd.bundle(cid)
        self.config_json = os.path.join(self.bundle, "config.json")
        self.log = os.path.join(pod.node.dir, "logs", "%s.log" % cid)
        self.pid = None

    def spec(self):
        """The bundle's config.json (OCI runtime spec) as runc got it."""
        with open(self.config_json) as f:
            return json.load(f)

    def cgroup_id(self):
        """The inode number of the container's cgroup v2 directory: what
        bpf_get_current_cgroup_id() returns in its processes."""
        return os.stat(cgroup_v2_mount() + self.cgroup).st_ino

    def __repr__(self):
        return "<Container %s/%s/%s %s pid %s>" % (self.pod.namespace, self.pod.name, self.name,
                                                   self.id[:12], self.pid)


class Pod:
    """A pod: namespace, name, uid, sandbox id, network namespace, address, cgroup
    parent (/kubepods/<qos>/pod<UID>), its containers."""

    def __init__(self, node, namespace, name, qos, index):
        self.node, self.namespace, self.name, self.qos = node, namespace, name, qos
        self.uid = str(uuid.uuid4())
        self.sandbox_id = uuid.uuid4().hex + uuid.uuid4().hex  # 64 hex digits, as CRI's
        self.netns = "%s%d-%s" % (PREFIX, os.getpid(), name)
        self.netns_path = "/var/run/netns/" + self.netns
        self.host_if = "%s%dh%d" % (PREFIX, os.getpid() % 100000, index)
        self.ip = str(node.subnet.network_address + 1 + index)
        self.prefixlen = node.subnet.prefixlen
        parts = [CGROUP_ROOT] + ([] if qos == "guaranteed" else [qos]) + ["pod" + self.uid]
        self.cgroup_parent = "/".join(parts)
        self.cni_cache = os.path.join(node.cni_cache_dir, "%s-%s-eth0" % (CNI_NETWORK,
                                                                          self.sandbox_id))
        self.sandbox = None
        self.containers = []

    def exec_argv(self, argv):
        """@argv run in the pod's network namespace (on the host's file system)."""
        return ["ip", "netns", "exec", self.netns] + list(argv)

    def __repr__(self):
        return "<Pod %s/%s %s uid %s>" % (self.namespace, self.name, self.ip, self.uid)


class Node:
    """One test node: containerd, image, bridge, pods. Node(dir).start(); close()."""

    def __init__(self, dir, node_name=NODE_NAME):
        self.dir = dir
        self.node_name = node_name
        self.containerd = Containerd(os.path.join(dir, "containerd"))
        self.cni_cache_dir = os.path.join(dir, "cni-results")
        self.image = IMAGE_NAME
        tag = os.getpid() % 100000
        self.bridge = "%s%db" % (PREFIX, tag)
        self.subnet = None
        self.host_ip = None
        self.pods = []
        self.warnings = []
        self._created_cgroups = []  # absolute directories, parents first
        self._cleanups = []
        self._closed = False
        self._lock_fd = None
        self.timings = {}

    # --- helpers ---

    def warn(self, msg):
        self.warnings.append(msg)
        sys.stderr.write("k8s harness: %s\n" % msg)

    def ip(self, *args, check=True):
        return run(["ip", *args], check=check, timeout=20)

    def ctr(self, *args, **kw):
        return self.containerd.ctr(*args, **kw)

    def tlsdump_args(self):
        """The options telling tlsdump where this node keeps its metadata."""
        return ["--containerd-state", self.containerd.state, "--cni-cache", self.cni_cache_dir,
                "--node-name", self.node_name]

    # --- start ---

    def _lock(self):
        """Waits (bounded) for other runs of this harness, e.g. from another build tree:
        they share /kubepods and /run/containerd, whose cleanup needs to know who
        created what."""
        path = os.path.join("/run/lock" if os.path.isdir("/run/lock") else tempfile.gettempdir(),
                            "tlsdump-e2e-k8s.lock")
        self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError("another run of the Kubernetes e2e harness holds %s "
                                         "for more than %d s" % (path, LOCK_TIMEOUT))
                time.sleep(0.2)

    def start(self, cert, key):
        """Starts containerd, builds and imports the image, creates the bridge. Raises
        HarnessError when containers cannot work here (the caller skips)."""
        atexit.register(self.close)
        self._lock()
        self.containerd.note_shim_dirs()
        os.makedirs(os.path.join(self.dir, "logs"))
        os.makedirs(self.cni_cache_dir)
        remove_leftovers(self.warn, self.dir)
        t = time.monotonic()
        self.containerd.start()
        self.timings["containerd"] = time.monotonic() - t
        t = time.monotonic()
        rootfs = os.path.join(self.dir, "rootfs")
        make_rootfs(rootfs, cert, key)
        tar = os.path.join(self.dir, "image.oci.tar")
        self.image_digest = build_oci_image(rootfs, tar)
        shutil.rmtree(rootfs)
        self.ctr("images", "import", tar, timeout=60)
        os.unlink(tar)
        names = self.ctr("images", "list", "-q").stdout.split()
        if self.image not in names:
            raise HarnessError("ctr images import did not create %s: %s" % (self.image, names))
        self.timings["image"] = time.monotonic() - t
        self._network()
        return self

    def _network(self):
        used = []
        for line in self.ip("-o", "-4", "addr", "show").stdout.splitlines():
            m = re.search(r"\binet (\S+)", line)
            if m:
                used.append(ipaddress.ip_interface(m.group(1)).network)
        for line in self.ip("-4", "route", "show", "table", "all").stdout.splitlines():
            dst = line.split()[0] if line.split() else ""
            if dst in ("default", "broadcast", "local", "unreachable", "blackhole"):
                dst = line.split()[1] if dst != "default" and len(line.split()) > 1 else ""
            try:
                net = ipaddress.ip_network(dst, strict=False)
            except ValueError:
                continue
            if net.prefixlen > 0:
                used.append(net)
        for cand in POD_SUBNETS:
            net = ipaddress.ip_network(cand)
            if not any(net.overlaps(u) for u in used):
                self.subnet = net
                break
        else:
            raise HarnessError("every candidate pod network %s overlaps an address or route "
                               "of this machine" % (POD_SUBNETS,))
        self.host_ip = str(self.subnet.network_address + 1)
        self._cleanups.append(lambda: self.ip("link", "del", self.bridge, check=False))
        self.ip("link", "add", self.bridge, "type", "bridge")
        self.ip("addr", "add", "%s/%d" % (self.host_ip, self.subnet.prefixlen), "dev",
                self.bridge)
        self.ip("link", "set", self.bridge, "up")

    # --- pods ---

    def add_pod(self, namespace, name, qos="besteffort", sandbox=True):
        """A pod with its network (namespace, veth to the bridge, address, default route via
        the host), its CNI cache file and (with @sandbox) its sandbox container."""
        if qos not in QOS_CLASSES:
            raise ValueError(qos)
        pod = Pod(self, namespace, name, qos, len(self.pods) + 1)
        self.pods.append(pod)
        self._cleanups.append(lambda: self.ip("netns", "del", pod.netns, check=False))
        self._cleanups.append(lambda: self.ip("link", "del", pod.host_if, check=False))
        self.ip("netns", "add", pod.netns)
        self.ip("link", "add", pod.host_if, "type", "veth", "peer", "name", "eth0", "netns",
                pod.netns)
        self.ip("link", "set", pod.host_if, "master", self.bridge)
        self.ip("link", "set", pod.host_if, "up")
        self.ip("-n", pod.netns, "link", "set", "lo", "up")
        self.ip("-n", pod.netns, "addr", "add", "%s/%d" % (pod.ip, pod.prefixlen), "dev", "eth0")
        self.ip("-n", pod.netns, "link", "set", "eth0", "up")
        self.ip("-n", pod.netns, "route", "add", "default", "via", self.host_ip)
        self.write_cni_cache(pod)
        if sandbox:
            pod.sandbox = self._run(pod, "POD", ["sleep", "86400"], "sandbox", pod.sandbox_id)
        return pod

    def write_cni_cache(self, pod):
        """The pod's CNI result cache file, as libcni (0.4.0 result) writes it."""
        mac = self.ip("-n", pod.netns, "-o", "link", "show", "eth0").stdout
        m = re.search(r"link/ether (\S+)", mac)
        cache = {
            "kind": "cniCacheV1",
            "containerId": pod.sandbox_id,
            "config": None,
            "ifName": "eth0",
            "networkName": CNI_NETWORK,
            "cniArgs": [["K8S_POD_INFRA_CONTAINER_ID", pod.sandbox_id],
                        ["K8S_POD_NAMESPACE", pod.namespace],
                        ["K8S_POD_NAME", pod.name],
                        ["K8S_POD_UID", pod.uid],
                        ["IgnoreUnknown", "1"]],
            "result": {
                "cniVersion": "0.4.0",
                "interfaces": [{"name": self.bridge},
                               {"name": pod.host_if},
                               {"name": "eth0", "mac": m.group(1) if m else "",
                                "sandbox": pod.netns_path}],
                "ips": [{"version": "4", "interface": 2,
                         "address": "%s/%d" % (pod.ip, pod.prefixlen),
                         "gateway": self.host_ip}],
                "routes": [{"dst": "0.0.0.0/0", "gw": self.host_ip}],
                "dns": {},
            },
        }
        with open(pod.cni_cache, "w") as f:
            json.dump(cache, f)

    def run_container(self, pod, name, argv):
        """Starts container @name of @pod running @argv; returns the Container (pid set)."""
        return self._run(pod, name, argv, "container", uuid.uuid4().hex + uuid.uuid4().hex)

    def _run(self, pod, name, argv, kind, cid):
        cgroup = "%s/%s" % (pod.cgroup_parent, cid)
        c = Container(pod, name, cid, cgroup, list(argv), kind)
        self._note_cgroups(cgroup)
        annotations = {
            "io.kubernetes.cri.container-type": kind,
            "io.kubernetes.cri.sandbox-id": pod.sandbox_id,
            "io.kubernetes.cri.sandbox-name": pod.name,
            "io.kubernetes.cri.sandbox-namespace": pod.namespace,
            "io.kubernetes.cri.sandbox-uid": pod.uid,
        }
        if kind == "sandbox":
            annotations["io.kubernetes.cri.sandbox-log-directory"] = \
                "/var/log/pods/%s_%s_%s" % (pod.namespace, pod.name, pod.uid)
        else:
            annotations["io.kubernetes.cri.container-name"] = name
            annotations["io.kubernetes.cri.image-name"] = self.image
        args = ["run", "-d", "--cgroup", cgroup, "--with-ns", "network:" + pod.netns_path,
                "--runc-root", self.containerd.runc_root, "--fifo-dir", self.containerd.fifo_dir,
                "--log-uri", "file://" + c.log]
        # No --label: ctr copies labels into the spec's annotations, which a CRI
        # containerd does not (its io.kubernetes.pod.* labels stay in its database).
        for k, v in annotations.items():
            args += ["--annotation", "%s=%s" % (k, v)]
        p = self.ctr(*args, self.image, cid, *argv, check=False, timeout=60)
        if p.returncode:
            raise HarnessError("ctr run of %s/%s/%s failed (exit %d): %s\ncontainerd log:\n%s"
                               % (pod.namespace, pod.name, name, p.returncode,
                                  (p.stderr or p.stdout).strip(), self.containerd.log_tail()))
        out = self.ctr("tasks", "list").stdout
        m = re.search(r"^%s\s+(\d+)\s+(\S+)" % cid, out, re.M)
        if not m or m.group(2) != "RUNNING":
            raise HarnessError("container %s/%s/%s is not running: %s\nlog: %s"
                               % (pod.namespace, pod.name, name, out, e2e.read_text(c.log)))
        c.pid = int(m.group(1))
        if kind == "container":
            pod.containers.append(c)
        return c

    def _note_cgroups(self, cgroup):
        """Records the directories of @cgroup and its parents that do not exist yet in
        any hierarchy, to remove them (rmdir, leaf first) at the end."""
        for mnt in sorted(set(cgroup_mounts().values())):
            path = mnt
            for part in cgroup.strip("/").split("/"):
                path = os.path.join(path, part)
                if not os.path.isdir(path) and path not in self._created_cgroups:
                    self._created_cgroups.append(path)

    def exec(self, container, argv, timeout=30, input=None):
        """Runs @argv in @container (ctr tasks exec: same namespaces and cgroup); returns
        the CompletedProcess (stdout, stderr as bytes)."""
        exec_id = "exec%d" % int(time.monotonic() * 1e6)
        try:
            return subprocess.run(
                ["ctr", "--address", self.containerd.address, "-n", CTR_NAMESPACE, "tasks",
                 "exec", "--exec-id", exec_id, "--fifo-dir", self.containerd.fifo_dir,
                 container.id, *argv], input=input, capture_output=True, timeout=timeout,
                stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise AssertionError("exec %s in %r did not finish within %d s"
                                 % (argv, container, timeout))

    def exec_popen(self, container, argv, stdout, stderr):
        """Starts @argv in @container; returns the Popen of the ctr relaying its output."""
        exec_id = "exec%d" % int(time.monotonic() * 1e6)
        return subprocess.Popen(
            ["ctr", "--address", self.containerd.address, "-n", CTR_NAMESPACE, "tasks", "exec",
             "--exec-id", exec_id, "--fifo-dir", self.containerd.fifo_dir, container.id, *argv],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)

    def s_client(self, container, host, port, request, timeout=30):
        """`openssl s_client -quiet` in @container: connects to @host:@port, sends
        @request (bytes), reads until the server closes; returns the CompletedProcess
        (stdout: exactly the bytes received)."""
        fmt = request.decode("latin-1").replace("\\", "\\\\").replace("%", "%%")
        fmt = fmt.replace("\r", "\\r").replace("\n", "\\n").replace("'", "'\\''")
        script = "printf '%s' | openssl s_client -connect %s:%d -quiet -ign_eof" % (fmt, host,
                                                                                  port)
        return self.exec(container, ["sh", "-c", script], timeout=timeout)

    def wait_log(self, container, pattern, timeout=20):
        """Waits until the output of @container's main process matches @pattern."""
        def seen():
            if not os.path.exists("/proc/%d" % container.pid):
                raise AssertionError("%r exited; its output:\n%s"
                                     % (container, e2e.read_text(container.log)))
            return re.search(pattern, e2e.read_text(container.log), re.M)
        return e2e.wait_for(seen, timeout, "%r to print %r" % (container, pattern))

    def container_pids(self, container):
        """Every pid of @container (ctr tasks ps)."""
        out = self.ctr("tasks", "ps", container.id, check=False).stdout
        return [int(l.split()[0]) for l in out.splitlines()[1:] if l.split()
                and l.split()[0].isdigit()]

    # --- close ---

    def close(self):
        """Removes everything start()/add_pod()/run_container() made; never raises."""
        if self._closed:
            return
        self._closed = True
        # A SIGTERM now must not cut the cleanup short.
        try:
            old_handler = signal.signal(signal.SIGTERM, signal.SIG_IGN)
        except ValueError:  # not the main thread
            old_handler = None
        try:
            self._close()
        finally:
            if old_handler is not None:
                signal.signal(signal.SIGTERM, old_handler)
            atexit.unregister(self.close)

    def _close(self):
        # Containers first: then nothing uses the namespaces, links and cgroups.
        try:
            self.containerd.stop(self.warn)
        except Exception as e:
            self.warn("stopping containerd failed: %s" % e)
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as e:  # keep going: the rest must go too
                self.warn("cleanup step failed: %s" % e)
        for path in reversed(self._created_cgroups):
            if os.path.isdir(path):
                try:
                    os.rmdir(path)
                except OSError as e:
                    self.warn("cannot remove cgroup %s: %s" % (path, e))
        # Mounts left under our directory (a rootfs whose shim was killed).
        for line in reversed(e2e.read_text("/proc/self/mountinfo").splitlines()):
            mnt = line.split()[4]
            if mnt.startswith(self.dir + "/"):
                p = run(["umount", "-l", mnt], check=False)
                if p.returncode:
                    self.warn("cannot unmount %s: %s" % (mnt, p.stderr.strip()))
        for pod in self.pods:
            if os.path.exists(pod.netns_path):
                self.warn("network namespace %s still there" % pod.netns)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None


def remove_leftovers(warn, own_dir):
    """Removes network namespaces and links named by an earlier run of this harness whose
    process is gone (killed before its cleanup); reports its containerd, if still
    running (its containers hold cgroups and mounts: stop them through its socket)."""
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) == "containerd" and "--config" in argv[:-1]:
            config = argv[argv.index("--config") + 1]
            if "/tlsdump-e2e-k8s-" in config and not config.startswith(own_dir + "/"):
                sock = os.path.join(os.path.dirname(config), "containerd.sock")
                warn("containerd (pid %s) of an earlier run is still running, with its "
                     "containers: ctr --address %s -n %s tasks list" % (d[6:], sock,
                                                                        CTR_NAMESPACE))
    for ns in os.listdir("/var/run/netns") if os.path.isdir("/var/run/netns") else []:
        m = re.match(r"^%s(\d+)-" % PREFIX, ns)
        if m and not _pid_alive(int(m.group(1))):
            warn("removing network namespace %s left by an earlier run" % ns)
            run(["ip", "netns", "del", ns], check=False)
    out = run(["ip", "-o", "link", "show"], check=False).stdout
    for m in re.finditer(r"^\d+: (%s(\d+)[bh]\d*)[@:]" % PREFIX, out, re.M):
        # Link names hold pid % 100000: only a live process of ours may own one.
        if not any(int(p) % 100000 == int(m.group(2)) for p in os.listdir("/proc")
                   if p.isdigit() and _is_k8s_test(int(p))):
            warn("removing link %s left by an earlier run" % m.group(1))
            run(["ip", "link", "del", m.group(1)], check=False)


def _is_k8s_test(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"test_k8s" in f.read()
    except OSError:
        return False


# --- pcapng comments ------------------------------------------------------------------

POD_KEYS = ("PodName", "PodNamespace", "PodUID", "NodeName")
CONTAINER_KEYS = ("ContainerName", "ContainerId", "ContainerImage")


def comment_groups(packet):
    """[{key: value}] of the `Key: value` lines of each opt_comment of @packet (an EPB)."""
    groups = []
    for c in packet.comments:
        g = {}
        for line in c.split("\n"):
            k, sep, v = line.partition(": ")
            if sep:
                g.setdefault(k, v)
        groups.append(g)
    return groups


def groups_with(packet, key):
    """The comment groups of @packet that have @key."""
    return [g for g in comment_groups(packet) if key in g]


def pod_labels(pod):
    """The pod group tlsdump should write for @pod (PodName, PodNamespace, PodUID,
    NodeName)."""
    return {"PodName": pod.name, "PodNamespace": pod.namespace, "PodUID": pod.uid,
            "NodeName": pod.node.node_name}


def container_labels(container):
    return {"ContainerName": container.name, "ContainerId": container.id,
            "ContainerImage": container.image}


# --- the test base class and main ----------------------------------------------------

class K8sTest(packets_lib.PacketsTest):
    """PacketsTest (test_packets_lib.py) with one Node per class, self.node: setUpClass
    starts it and calls setUpNode(), or skips every test of the class, saying why,
    when containers cannot run here; tearDownClass removes it."""

    node = None
    node_dir = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if TERMINATED:
            raise unittest.SkipTest("the run was terminated by signal %d" % TERMINATED[0])
        cls.node_dir = tempfile.mkdtemp(prefix="tlsdump-e2e-k8s-")
        os.chmod(cls.node_dir, 0o755)
        if e2e.KEEP:
            sys.stderr.write("\n  node directory: %s\n" % cls.node_dir)
        cert, key = os.path.join(cls.node_dir, "cert.pem"), os.path.join(cls.node_dir, "key.pem")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days",
             "2", "-subj", "/CN=localhost"])
        cls.cert_pem, cls.key_pem = cert, key
        cls.node = Node(os.path.join(cls.node_dir, "node"))
        try:
            cls.node.start(cert, key)
            cls.setUpNode()
        except HarnessError as e:
            cls._closeNode()
            raise unittest.SkipTest("containers cannot run on this machine: %s" % e)
        except BaseException:
            cls._closeNode()
            raise

    @classmethod
    def setUpNode(cls):
        """Subclasses add pods and containers here (HarnessError skips)."""

    def setUp(self):
        if TERMINATED:
            self.skipTest("the run was terminated by signal %d" % TERMINATED[0])
        super().setUp()

    @classmethod
    def _closeNode(cls):
        if cls.node:
            cls.node.close()
        if cls.node_dir and not e2e.KEEP:
            shutil.rmtree(cls.node_dir, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls._closeNode()
        super().tearDownClass()


TERMINATED = []  # the signal that asked the run to stop, once one did


def _sigterm(signum, frame):
    # Not KeyboardInterrupt: unittest lets that skip the class cleanups; this one is
    # reported as the running test's error, the later tests are skipped (K8sTest.setUp)
    # and the node is still removed (Node.close ignores the signal meanwhile).
    if TERMINATED:
        return
    TERMINATED.append(signum)
    raise SystemExit("terminated by signal %d" % signum)


def main():
    """e2e.main() that skips (77) when a container tool is missing or every test was
    skipped, and removes the node on SIGTERM."""
    ap = e2e.argparse.ArgumentParser(add_help=False)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--lib")
    args, rest = ap.parse_known_args()
    if os.geteuid() != 0:
        print("SKIP: the e2e tests load eBPF probes and need root")
        sys.exit(e2e.SKIP)
    e2e.BINARY = os.path.abspath(args.binary)
    if not os.access(e2e.BINARY, os.X_OK):
        sys.exit("ERROR: tlsdump binary %s is not executable" % e2e.BINARY)
    missing = [t for t in e2e.TOOLS if not shutil.which(t)]
    if missing:
        sys.exit("ERROR: the e2e tests need %s" % ", ".join(missing))
    missing = missing_tools()
    if missing:
        print("SKIP: real containers need %s (Debian packages containerd, runc, iproute2, "
              "busybox-static, openssl, libc-bin)" % ", ".join(missing))
        sys.exit(e2e.SKIP)
    signal.signal(signal.SIGTERM, _sigterm)
    prog = unittest.main(argv=[sys.argv[0]] + rest, verbosity=2, exit=False)
    r = prog.result
    # All skipped: each test, or the class (setUpClass: testsRun 0, one skip).
    if r.skipped and len(r.skipped) >= r.testsRun and not r.failures and not r.errors:
        print("SKIP: %s" % r.skipped[0][1])
        sys.exit(e2e.SKIP)
    sys.exit(0 if r.wasSuccessful() else 1)


if __name__ == "__main__":
    print("helper module of the test_k8s_*.py e2e tests, not a test")
