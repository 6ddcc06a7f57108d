#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e Kubernetes metadata: real containers in two pods of two namespaces.

One node of real containers (test_k8s_lib.py: a private containerd, an OCI
image with busybox and Debian's openssl and libssl, pods with network
namespaces on a test bridge, kubelet-style cgroups, CRI annotations and CNI
cache files):

* pod frontend (namespace shop, QoS besteffort), container web: the client;
  `openssl s_client` runs in it through `ctr tasks exec`;
* pod ledger (namespace bank, QoS burstable), container api:
  `openssl s_server -www` on port 4433;
* on the host, outside every pod: `openssl s_server -www` on the bridge
  address and curl.

Traffic of each capture: web -> api (pod to pod), web -> host s_server (pod to
host) and host curl -> host s_server (no pod). tlsdump runs with
--containerd-state, --cni-cache and --node-name pointing at the node.

* test_node: the harness itself, without tlsdump: every container's process
  is in its kubelet-style cgroup (v2 and v1 hierarchies), its bundle
  config.json carries the CRI annotations, the CNI cache files name the pods
  and their addresses, the image's libssl is another file than the host's,
  and the pods exchange HTTP over TLS (with each other and the host);
* test_labels: unfiltered. Request and response are captured byte-exact on
  both ends of web -> api; every plaintext frame of web carries the pod group
  (PodName, PodNamespace, PodUID, NodeName) of frontend and the container
  group (ContainerName, ContainerId, ContainerImage) of web, those of api
  ledger's and api's; the host's processes have no pod and no container
  group. PeerPod/PeerNamespace, where written, name the other end's pod
  (none for the host). Original packets from or to frontend's address carry a
  pod group (frontend's where the peer is the host), loopback packets none.
  tshark sees the comments; with the built dissector plugin,
  tlsdump.k8s.namespace, .pod and .container of every frame are what its
  comments say (web's and api's on their plaintext, frontend's on its packets
  to the host);
* test_filters: three captures side by side of the same traffic, with
  --namespace shop, --pod ledger and --container web: exactly the selected
  processes' frames, although the others do TLS at the same time, and, as
  with -p and -c, only the packets of connections with a selected end;
* test_api_peers: peer names from a Kubernetes API server (the fake of
  tests/lib/fake_apiserver.py, --k8s-api and --k8s-credentials with its
  service account directory). Pods "of other nodes" own extra addresses on the
  test bridge, where host s_servers listen: their IPs are in no CNI cache file,
  so only the API names them. Before the capture the server knows
  payments/gateway-0 (selected by Service gateway through an EndpointSlice)
  and bank/ledger (local, selected by Service ledger); during it the token
  rotates twice (the kubelet's way: file first, then the server; and the
  server first, the file a 401 later), then payments/fraud-0 (Service fraud)
  and Service payments/risk (a clusterIP on the bridge) appear. web's frames
  to each carry one peer group from the API: PeerPod, PeerNamespace,
  PeerService (no PeerPod for a Service's clusterIP; for ledger PeerPod and
  PeerNamespace from the CNI cache, PeerService from the API); the original
  packets between frontend and gateway-0 too; with the built dissector plugin,
  tlsdump.k8s.peer_{pod,namespace,service} are what the comments say.
"""
import json
import os
import re
import secrets
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_k8s_lib as lib  # noqa: E402
from test_k8s_lib import e2e, packets_lib  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402 (tests/lib, on the path since test_k8s_lib)
from fake_apiserver import FakeApiServer  # noqa: E402 (tests/lib)

API_PORT = 4433
CERT = lib.CERT_DIR + "/cert.pem"
KEY = lib.CERT_DIR + "/key.pem"


def request(path, host):
    return (b"GET /%s HTTP/1.0\r\nHost: %s\r\nUser-Agent: tlsdump-k8s-e2e\r\n\r\n"
            % (path.encode(), host.encode()))


class K8sPods(lib.K8sTest):
    @classmethod
    def setUpNode(cls):
        node = cls.node
        cls.frontend = node.add_pod("shop", "frontend", qos="besteffort")
        cls.ledger = node.add_pod("bank", "ledger", qos="burstable")
        cls.web = node.run_container(cls.frontend, "web", ["sleep", "86400"])
        cls.api = node.run_container(cls.ledger, "api", [
            "openssl", "s_server", "-accept", str(API_PORT), "-cert", CERT, "-key", KEY, "-www"])
        node.wait_log(cls.api, r"^ACCEPT")

    # --- traffic ---------------------------------------------------------------

    def traffic(self, tag):
        """web -> api, web -> host s_server, host curl -> host s_server; returns a dict
        of what each side sent and received."""
        host_srv = self.openssl_server(self.node.host_ip, name="host-s_server-" + tag)
        t = {"host_srv": host_srv}
        req = request("shop-to-bank-" + tag, "ledger.bank")
        r = self.node.s_client(self.web, self.ledger.ip, API_PORT, req)
        self.assertEqual(r.returncode, 0, "s_client web -> api: %s" % r.stderr[-2000:])
        self.assertTrue(r.stdout.startswith(b"HTTP/1.0 200 ok\r\n"), r.stdout[:200])
        t["pod_req"], t["pod_resp"] = req, r.stdout
        req = request("shop-to-host-" + tag, self.node.host_ip)
        r = self.node.s_client(self.web, self.node.host_ip, host_srv.port, req)
        self.assertEqual(r.returncode, 0, "s_client web -> host: %s" % r.stderr[-2000:])
        self.assertTrue(r.stdout.startswith(b"HTTP/1.0 200 ok\r\n"), r.stdout[:200])
        t["host_req"], t["host_resp"] = req, r.stdout
        t["curl"] = self.curl("https://%s:%d/host-only-%s" % (self.node.host_ip, host_srv.port,
                                                               tag), name="curl-" + tag)
        self.assertTrue(t["curl"].headers.startswith(b"HTTP/1.0 200 ok\r\n"))
        return t

    def capture(self, tag, *filters):
        cap = self.start_tlsdump(*self.node.tlsdump_args(), *filters, out=tag + ".pcapng",
                                 name="tlsdump-" + tag)
        t = self.traffic(tag)
        self.settle(1.0)
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        return cap, capture, frames, segs, t

    # --- selecting frames --------------------------------------------------------

    def sides(self, frames, t):
        """The plaintext frames of each end of each connection, by 5-tuple (the pids of
        processes run by ctr exec are not known here): {name: [Frame]}."""
        f_ip, l_ip, h_ip = self.frontend.ip, self.ledger.ip, self.node.host_ip
        hport = t["host_srv"].port
        out = {
            "web->api": [f for f in frames if f.local and f.local[0] == f_ip
                         and f.remote == (l_ip, API_PORT)],
            "api": [f for f in frames if f.local == (l_ip, API_PORT)],
            "web->host": [f for f in frames if f.local and f.local[0] == f_ip
                          and f.remote == (h_ip, hport)],
            "host s_server (pod client)": [f for f in frames if f.local == (h_ip, hport)
                                           and f.remote and f.remote[0] == f_ip],
            "curl": self.only(frames, t["curl"].pid),
            "host s_server (curl)": [f for f in frames if f.local == (h_ip, hport)
                                     and f.remote and f.remote[0] == h_ip],
        }
        return out

    def streams(self, frames, what):
        """(write Stream, read Stream) of the single connection of @frames."""
        ss = pcapng.streams(frames)
        conns = {k[0] for k in ss}
        self.assertEqual(len(conns), 1, "%s: connections %s" % (what, ss))
        by_dir = {k[1]: s for k, s in ss.items()}
        self.assertEqual(set(by_dir), {pcapng.DIR_READ, pcapng.DIR_WRITE},
                         "%s: directions %s" % (what, ss))
        return by_dir[pcapng.DIR_WRITE], by_dir[pcapng.DIR_READ]

    # --- label checks ------------------------------------------------------------

    def assert_labels(self, packets, container, what, peer=False):
        """Every EPB of @packets has exactly one pod group, @container's pod's, and exactly
        one container group, @container's. A PeerPod/PeerNamespace, where written, names
        the pod @peer (None: the other end is in no pod; False: not checked)."""
        self.assertTrue(packets, "%s: nothing to check" % what)
        want_pod, want_ctr = lib.pod_labels(container.pod), lib.container_labels(container)
        for p in packets:
            pods = lib.groups_with(p, "PodName")
            ctrs = lib.groups_with(p, "ContainerName")
            where = "%s: frame %d (%s), comments %r" % (what, p.index + 1, packets_lib.describe(p),
                                                         p.comments)
            self.assertEqual(len(pods), 1, where)
            self.assertEqual({k: pods[0].get(k) for k in lib.POD_KEYS}, want_pod, where)
            self.assertEqual(len(ctrs), 1, where)
            self.assertEqual({k: ctrs[0].get(k) for k in lib.CONTAINER_KEYS}, want_ctr, where)
            if peer is not False:
                self.assert_peer(p, peer, where)

    def assert_peer(self, packet, peer, where):
        """PeerPod and PeerNamespace, if written, name @peer (none if @peer is None)."""
        got = {k: v for g in lib.comment_groups(packet) for k, v in g.items()
               if k in ("PeerPod", "PeerNamespace")}
        if peer is None:
            self.assertEqual(got, {}, "%s: peer of an end in no pod" % where)
        elif got:
            self.assertEqual(got, {"PeerPod": peer.name, "PeerNamespace": peer.namespace}, where)

    def assert_no_labels(self, packets, what):
        for p in packets:
            self.assertEqual(lib.groups_with(p, "PodName") + lib.groups_with(p, "PodNamespace")
                             + lib.groups_with(p, "ContainerName"), [],
                             "%s: frame %d (%s) has pod or container comments %r"
                             % (what, p.index + 1, packets_lib.describe(p), p.comments))

    def assert_packet_pod(self, segs, pods, what):
        """Every segment of @segs has exactly one pod group, that of one of @pods; a peer,
        where written, is the other pod of @pods (none when @pods is one pod)."""
        self.assertTrue(segs, "%s: no original packet" % what)
        for s in segs:
            groups = lib.groups_with(s.packet, "PodName")
            where = "%s: %r, comments %r" % (what, s, s.packet.comments)
            self.assertEqual(len(groups), 1, where)
            got = {k: groups[0].get(k) for k in lib.POD_KEYS}
            self.assertIn(got, [lib.pod_labels(p) for p in pods], where)
            others = [p for p in pods if p.name != got["PodName"]]
            self.assert_peer(s.packet, others[0] if others else None, where)

    # --- tests ---------------------------------------------------------------------

    def test_node(self):
        """The harness: cgroups, bundles, CNI cache, image, TLS between pods (no tlsdump)."""
        node = self.node
        v2 = lib.cgroup_v2_mount()
        self.assertIsNotNone(v2, "no cgroup v2 hierarchy mounted")
        libssl = [p for p in lib.ldd_paths(shutil.which("openssl")) if "/libssl.so" in p]
        self.assertTrue(libssl, "ldd lists no libssl for openssl")
        for pod in (self.frontend, self.ledger):
            qos = "" if pod.qos == "guaranteed" else pod.qos + "/"
            self.assertEqual(pod.cgroup_parent, "/kubepods/%spod%s" % (qos, pod.uid))
            for c in [pod.sandbox] + pod.containers:
                with self.subTest(container=repr(c)):
                    self.assertEqual(c.cgroup, "%s/%s" % (pod.cgroup_parent, c.id))
                    cg = lib.proc_cgroups(c.pid)
                    self.assertEqual(cg.get(""), c.cgroup, "v2 cgroup of %r: %s" % (c, cg))
                    for ctrl, path in cg.items():
                        self.assertEqual(path, c.cgroup, "hierarchy %r of %r" % (ctrl, c))
                    procs = e2e.read_text(os.path.join(v2, c.cgroup.lstrip("/"), "cgroup.procs"))
                    self.assertIn(str(c.pid), procs.split())
                    self.assertEqual(c.config_json, os.path.join(
                        node.containerd.state, "io.containerd.runtime.v2.task", "k8s.io", c.id,
                        "config.json"))
                    spec = c.spec()
                    ann = spec.get("annotations", {})
                    want = {
                        "io.kubernetes.cri.container-type": c.kind,
                        "io.kubernetes.cri.sandbox-id": pod.sandbox_id,
                        "io.kubernetes.cri.sandbox-name": pod.name,
                        "io.kubernetes.cri.sandbox-namespace": pod.namespace,
                        "io.kubernetes.cri.sandbox-uid": pod.uid,
                    }
                    if c.kind == "container":
                        want["io.kubernetes.cri.container-name"] = c.name
                        want["io.kubernetes.cri.image-name"] = lib.IMAGE_NAME
                    self.assertEqual({k: ann.get(k) for k in want}, want)
                    self.assertEqual(spec["linux"]["cgroupsPath"], c.cgroup)
                    self.assertIn({"type": "network", "path": pod.netns_path},
                                  spec["linux"]["namespaces"])
                    self.assertEqual(os.stat("/proc/%d/ns/net" % c.pid).st_ino,
                                     os.stat(pod.netns_path).st_ino, "network namespace")
            # CNI cache file.
            cache = e2e.read_text(pod.cni_cache)
            self.assertTrue(cache, pod.cni_cache)
            cache = json.loads(cache)
            self.assertEqual(os.path.basename(pod.cni_cache),
                             "%s-%s-eth0" % (lib.CNI_NETWORK, pod.sandbox_id))
            self.assertEqual(cache["kind"], "cniCacheV1")
            self.assertEqual(cache["containerId"], pod.sandbox_id)
            args = dict(cache["cniArgs"])
            self.assertEqual(
                (args["K8S_POD_NAMESPACE"], args["K8S_POD_NAME"], args["K8S_POD_UID"]),
                (pod.namespace, pod.name, pod.uid))
            self.assertEqual(cache["result"]["ips"][0]["address"],
                             "%s/%d" % (pod.ip, pod.prefixlen))
        # The image's libssl: another file than the host's, reached through /proc/PID/root,
        # mapped by api's s_server.
        in_pod = "/proc/%d/root%s" % (self.api.pid, libssl[0])
        self.assertTrue(os.path.exists(in_pod), in_pod)
        self.assertIn(os.path.basename(libssl[0]), e2e.read_text("/proc/%d/maps" % self.api.pid))
        st, host = os.stat(in_pod), os.stat(libssl[0])
        self.assertNotEqual((st.st_dev, st.st_ino), (host.st_dev, host.st_ino))
        # A process run by ctr exec is in the container's cgroup.
        r = node.exec(self.web, ["cat", "/proc/self/cgroup"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("0::%s" % self.web.cgroup, r.stdout.decode().splitlines())
        # TLS: pod to pod, pod to host.
        req = request("node-check", "ledger.bank")
        r = node.s_client(self.web, self.ledger.ip, API_PORT, req)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertTrue(r.stdout.startswith(b"HTTP/1.0 200 ok\r\n"), r.stdout[:300])
        self.assertIn(b"s_server -accept %d" % API_PORT, r.stdout)
        host_srv = self.openssl_server(node.host_ip)
        r = node.s_client(self.web, node.host_ip, host_srv.port, request("to-host", "host"))
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertTrue(r.stdout.startswith(b"HTTP/1.0 200 ok\r\n"), r.stdout[:300])

    def test_labels(self):
        cap, capture, frames, segs, t = self.capture("labels")
        side = self.sides(frames, t)
        for name, fr in side.items():
            self.assertTrue(fr, "no plaintext frame of %s; capture:\n%s"
                            % (name, pcapng.summary(capture)))
        # Bytes, both ends of the pod-to-pod connection and the pod's end to the host.
        wr, rd = self.streams(side["web->api"], "web -> api (client)")
        self.assert_stream(wr, t["pod_req"], "request web wrote")
        self.assert_stream(rd, t["pod_resp"], "response web read")
        wr, rd = self.streams(side["api"], "api (server)")
        self.assert_stream(rd, t["pod_req"], "request api read")
        self.assert_stream(wr, t["pod_resp"], "response api wrote")
        wr, rd = self.streams(side["web->host"], "web -> host (client)")
        self.assert_stream(wr, t["host_req"], "request web wrote to the host")
        self.assert_stream(rd, t["host_resp"], "response web read from the host")
        for f in side["web->api"] + side["web->host"] + side["api"]:
            self.assertEqual((f.comm, f.library), ("openssl", pcapng.LIB_OPENSSL), f)
        # Labels of the plaintext frames.
        self.assert_labels([f.packet for f in side["web->api"]], self.web, "web's frames to api",
                           peer=self.ledger)
        self.assert_labels([f.packet for f in side["web->host"]], self.web,
                           "web's frames to the host", peer=None)
        self.assert_labels([f.packet for f in side["api"]], self.api, "api's frames",
                           peer=self.frontend)
        for name in ("host s_server (pod client)", "curl", "host s_server (curl)"):
            self.assert_no_labels([f.packet for f in side[name]], name)
        # Original packets: frontend <-> host carry frontend's pod group; frontend <->
        # ledger one of the two pods' (both ends are on this node); loopback none.
        f_ip, l_ip, h_ip = self.frontend.ip, self.ledger.ip, self.node.host_ip
        to_host = [s for s in segs if {s.src[0], s.dst[0]} == {f_ip, h_ip}]
        pod_pod = [s for s in segs if {s.src[0], s.dst[0]} == {f_ip, l_ip}]
        host_only = [s for s in segs if s.src[0] == h_ip and s.dst[0] == h_ip]
        self.assert_packet_pod(to_host, [self.frontend], "frontend <-> host packets")
        self.assert_packet_pod(pod_pod, [self.frontend, self.ledger], "frontend <-> ledger packets")
        self.assertTrue(host_only, "no packet of curl's loopback connection")
        self.assert_no_labels([s.packet for s in host_only], "loopback packets (curl)")
        # tshark reads the same comments.
        self.assertEqual(self.tshark_plaintext_count(
            cap.out, 'frame.comment contains "PodName: frontend" && '
                     'frame.comment contains "ContainerName: web"'),
            len(side["web->api"] + side["web->host"]))
        for pod in (self.frontend, self.ledger):
            labelled = [p for p in capture.packets
                        if [g for g in lib.groups_with(p, "PodName") if g["PodName"] == pod.name]]
            self.assertEqual(self.tshark_count(cap.out, 'frame.comment contains "PodName: %s"'
                                               % pod.name), len(labelled), pod)
        self.check_dissector_fields(cap.out, capture, side, segs)
        # One image, several containers (web and api): its libssl is one target,
        # named through one container's root; the probes serve both.
        seen = re.findall(r"(?m) info: target (\d+): openssl \S+ \(/proc/\d+/root/\S*libssl\.so\.3\)",
                          e2e.read_text(cap.log))
        self.assertEqual(len(seen), 1, "targets for the image's libssl: %s" % seen)

    def check_dissector_fields(self, path, capture, side, segs):
        """With the built plugin: tlsdump.k8s.namespace/.pod/.container of the plaintext
        frames are their process's pod and container, those of the original packets
        between frontend and the host frontend's; every frame's fields are what its
        comments say."""
        import test_dissector_lib as dlib
        plugin, abi = dlib.find_plugin(e2e.BINARY)
        if not plugin:
            sys.stderr.write("\n  (no dissector plugin built: tlsdump.k8s.* not checked)\n")
            return
        sandbox = dlib.run_goldens.Sandbox(plugin, abi, dlib.global_plugin_dir())
        self.addCleanup(sandbox.close)
        self.assertTrue(sandbox.check_plugin("tshark"), "tshark does not load %s" % plugin)
        copy = sandbox.add_input(path)
        names = ["frame.number", "tlsdump.k8s.namespace", "tlsdump.k8s.pod",
                 "tlsdump.k8s.container"]
        args = ["-r", copy, "-T", "fields", "-E", "occurrence=f"]
        for n in names:
            args += ["-e", n]
        r = sandbox.tshark("tshark", args)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 0, "tshark with the plugin %s: %s" % (plugin, err))
        rows = {int(l.split("\t")[0]): l.split("\t")[1:]
                for l in r.stdout.decode(errors="replace").splitlines()}
        self.assertEqual(len(rows), len(capture.packets), "tshark rows")
        for p in capture.packets:
            g = {}
            for group in lib.comment_groups(p):
                for k, v in group.items():
                    g.setdefault(k, v)
            self.assertEqual(rows[p.index + 1],
                             [g.get("PodNamespace", ""), g.get("PodName", ""),
                              g.get("ContainerName", "")],
                             "tlsdump.k8s.{namespace,pod,container} of frame %d, comments %r"
                             % (p.index + 1, p.comments))
        want = {}
        for name, fr in side.items():
            for f in fr:
                if name in ("web->api", "web->host"):
                    want[f.packet.index + 1] = ["shop", "frontend", "web"]
                elif name == "api":
                    want[f.packet.index + 1] = ["bank", "ledger", "api"]
                else:
                    want[f.packet.index + 1] = ["", "", ""]
        for s in segs:
            if {s.src[0], s.dst[0]} == {self.frontend.ip, self.node.host_ip}:
                want[s.number] = ["shop", "frontend", rows[s.number][2]]
        for num, w in sorted(want.items()):
            self.assertEqual(rows.get(num), w, "tlsdump.k8s.{namespace,pod,container} of "
                             "frame %d" % num)

    def check_filtered(self, frames, t, keep, what):
        """Only the frames of the sides named in @keep; of the connections, only those with
        a selected end on the wire."""
        side = self.sides(frames, t)
        for name, fr in side.items():
            if name in keep:
                self.assertTrue(fr, "%s: no frame of %s" % (what, name))
            else:
                self.assertEqual(fr, [], "%s: frames of %s" % (what, name))
        kept = [f for name in keep for f in side[name]]
        self.assertEqual(sorted(f.packet.index for f in frames),
                         sorted(f.packet.index for f in kept),
                         "%s: frames of processes not selected" % what)
        return side

    def test_filters(self):
        """--namespace shop, --pod ledger and --container web: three captures of the same
        traffic, running side by side (each attaches its own probes)."""
        runs = {"ns": ("--namespace", "shop"), "pod": ("--pod", "ledger"),
                "ctr": ("--container", "web")}
        caps = {tag: self.start_tlsdump(*self.node.tlsdump_args(), *args, out=tag + ".pcapng",
                                        name="tlsdump-" + tag, wait=False)
                for tag, args in runs.items()}
        for cap in caps.values():
            cap.wait_capturing()
        t = self.traffic("filters")
        self.settle(1.0)
        for cap in caps.values():
            cap.proc.send_signal(signal.SIGINT)
        for cap in caps.values():
            self.assertEqual(cap.wait(packets_lib.STOP_TIMEOUT), 0,
                             "tlsdump exit code\n" + cap.diagnostics())
        f_ip, h_ip = self.frontend.ip, self.node.host_ip
        with self.subTest(filter="--namespace shop"):
            capture, frames, segs = self.read_capture(caps["ns"])
            side = self.check_filtered(frames, t, ("web->api", "web->host"), "--namespace shop")
            wr, rd = self.streams(side["web->api"], "web -> api")
            self.assert_stream(wr, t["pod_req"], "request web wrote")
            self.assert_stream(rd, t["pod_resp"], "response web read")
            self.assert_labels([f.packet for f in frames], self.web, "--namespace shop")
            self.assertTrue([s for s in segs if {s.src[0], s.dst[0]} == {f_ip, h_ip}],
                            "no packet of web's connection to the host")
            self.assertEqual([s for s in segs if s.src[0] == h_ip and s.dst[0] == h_ip], [],
                             "packets of curl's host-only connection with --namespace shop (a "
                             "filter selects packets as -p/-c do: connections with a selected "
                             "end)")
        with self.subTest(filter="--pod ledger"):
            capture, frames, segs = self.read_capture(caps["pod"])
            side = self.check_filtered(frames, t, ("api",), "--pod ledger")
            wr, rd = self.streams(side["api"], "api")
            self.assert_stream(rd, t["pod_req"], "request api read")
            self.assert_stream(wr, t["pod_resp"], "response api wrote")
            self.assert_labels([f.packet for f in frames], self.api, "--pod ledger")
            self.assertTrue([s for s in segs if {s.src[0], s.dst[0]} == {f_ip, self.ledger.ip}],
                            "no packet of the connection to api")
            self.assertEqual([s for s in segs if h_ip in (s.src[0], s.dst[0])], [],
                             "packets of connections without ledger with --pod ledger (a filter "
                             "selects packets as -p/-c do: connections with a selected end)")
        with self.subTest(filter="--container web"):
            capture, frames, segs = self.read_capture(caps["ctr"])
            self.check_filtered(frames, t, ("web->api", "web->host"), "--container web")
            self.assert_labels([f.packet for f in frames], self.web, "--container web")
            self.assertEqual([s for s in segs if s.src[0] == h_ip and s.dst[0] == h_ip], [],
                             "packets of curl's host-only connection with --container web (a "
                             "filter selects packets as -p/-c do)")

    # --- peers from the API server --------------------------------------------------

    def bridge_address(self, offset):
        """A /32 of the pod subnet at @offset on the test bridge (the host holds it, pods
        reach it on-link): the address of a pod of "another node"; removed at the end."""
        node = self.node
        ip = str(node.subnet.network_address + offset)
        node.ip("addr", "add", ip + "/32", "dev", node.bridge)
        self.addCleanup(node.ip, "addr", "del", ip + "/32", "dev", node.bridge, check=False)
        return ip

    def start_apiserver(self):
        """The fake API server (in this process) with a service account directory."""
        creds = self.path("serviceaccount")
        api = FakeApiServer(credentials_dir=creds, token=secrets.token_urlsafe(24))
        api.start()
        self.addCleanup(api.stop)
        return api, creds

    def api_command(self, api, cmd):
        r = api.command(cmd)
        self.assertTrue(r.get("ok"), "fake API server: %r -> %r" % (cmd, r))
        return r

    def api_service(self, api, namespace, name, cluster_ip, pods=()):
        """Service @name with @cluster_ip; with @pods ([(name, ip)]), its EndpointSlice
        (kubernetes.io/service-name label, targetRef per pod)."""
        self.api_command(api, {"op": "service", "namespace": namespace, "name": name,
                               "clusterIPs": [cluster_ip]})
        if pods:
            self.api_command(api, {"op": "endpointslice", "namespace": namespace,
                                   "name": name + "-x7k2p", "service": name,
                                   "endpoints": [{"addresses": [ip], "pod": pod}
                                                 for pod, ip in pods]})

    def wait_watches(self, api, cap, before=None, what="watches"):
        """Waits until tlsdump watches all three collections (with @before, the stats of
        an earlier moment: three new watches, accepted, since then); returns the stats."""
        def ready():
            if cap.proc.poll() is not None:
                raise AssertionError("tlsdump exited\n" + cap.diagnostics())
            st = self.api_command(api, {"op": "stats"})
            if before and any(st["watches"][r] <= before["watches"][r] for r in st["watches"]):
                return False
            return st["open_watches"] == 3 and st
        try:
            return e2e.wait_for(ready, 15, "%s of tlsdump on the fake API server" % what)
        except AssertionError as e:
            raise AssertionError("%s (stats: %r)\n%s" % (e, api.command({"op": "stats"}),
                                                         cap.diagnostics())) from None

    def peer_groups(self, packet):
        """The comment groups of @packet with a Peer* line."""
        return [g for g in lib.comment_groups(packet)
                if {"PeerPod", "PeerNamespace", "PeerService"} & set(g)]

    def assert_peer_group(self, packets, want, what):
        """Every packet of @packets has exactly one peer group, @want (its Peer* lines)."""
        self.assertTrue(packets, "%s: nothing to check" % what)
        for p in packets:
            groups = self.peer_groups(p)
            where = "%s: frame %d (%s), comments %r" % (what, p.index + 1,
                                                        packets_lib.describe(p), p.comments)
            self.assertEqual(len(groups), 1, where)
            got = {k: v for k, v in groups[0].items() if k.startswith("Peer")}
            self.assertEqual(got, want, where)

    def api_exchange(self, host, port, tag, what):
        req = request(tag, host)
        r = self.node.s_client(self.web, host, port, req)
        self.assertEqual(r.returncode, 0, "s_client web -> %s: %s" % (what, r.stderr[-2000:]))
        self.assertTrue(r.stdout.startswith(b"HTTP/1.0 200 ok\r\n"), r.stdout[:200])
        return req, r.stdout

    def test_api_peers(self):
        node, f_ip = self.node, self.frontend.ip
        gateway_ip, fraud_ip, risk_ip = (self.bridge_address(o) for o in (200, 201, 202))
        servers = {ip: self.openssl_server(ip, name="s_server-%s" % ip)
                   for ip in (gateway_ip, fraud_ip, risk_ip)}
        api, creds = self.start_apiserver()
        # Known before tlsdump starts (its first lists): a remote pod behind a Service, and
        # the local pod ledger (named by the CNI cache) behind another.
        self.api_command(api, {"op": "pod", "namespace": "payments", "name": "gateway-0",
                               "ips": [gateway_ip], "nodeName": "node-2"})
        self.api_service(api, "payments", "gateway", "10.96.0.20", [("gateway-0", gateway_ip)])
        self.api_command(api, {"op": "pod", "namespace": "bank", "name": "ledger",
                               "ips": [self.ledger.ip], "nodeName": node.node_name})
        self.api_service(api, "bank", "ledger", "10.96.0.30", [("ledger", self.ledger.ip)])

        cap = self.start_tlsdump(*node.tlsdump_args(), "--k8s-api", api.url,
                                 "--k8s-credentials", creds, out="api.pcapng",
                                 name="tlsdump-api")
        st = self.wait_watches(api, cap, what="the first watches")
        t = {}
        t["gateway"] = self.api_exchange(gateway_ip, servers[gateway_ip].port, "to-gateway",
                                         "gateway-0")
        t["ledger"] = self.api_exchange(self.ledger.ip, API_PORT, "to-ledger", "ledger")

        # Rotation as the kubelet does it: the new token in the file first, then the server
        # stops accepting the old one (and ends the open watches): no request fails.
        token = secrets.token_urlsafe(24)
        api.write_token(token)
        self.api_command(api, {"op": "rotate_token", "token": token})
        st2 = self.wait_watches(api, cap, st, "the watches after the first rotation")
        self.assertEqual(st2["unauthorized"], 0, "requests with a revoked token: %r" % st2)
        # The server first: the old token is refused (401) until the file has the new one.
        token = secrets.token_urlsafe(24)
        self.api_command(api, {"op": "rotate_token", "token": token})
        e2e.wait_for(lambda: self.api_command(api, {"op": "stats"})["unauthorized"], 10,
                     "tlsdump to use the revoked token (a 401)")
        api.write_token(token)
        st3 = self.wait_watches(api, cap, st2, "the watches after the second rotation")

        # Known only through the watches opened with the last token.
        self.api_command(api, {"op": "pod", "namespace": "payments", "name": "fraud-0",
                               "ips": [fraud_ip], "nodeName": "node-3"})
        self.api_service(api, "payments", "fraud", "10.96.0.40", [("fraud-0", fraud_ip)])
        self.api_service(api, "payments", "risk", risk_ip)
        time.sleep(0.5)  # the events reach tlsdump (nothing tells when they did)
        t["fraud"] = self.api_exchange(fraud_ip, servers[fraud_ip].port, "to-fraud", "fraud-0")
        t["risk"] = self.api_exchange(risk_ip, servers[risk_ip].port, "to-risk",
                                      "Service risk")
        self.settle(1.0)
        cap.stop()
        end = self.api_command(api, {"op": "stats"})
        self.assertEqual(end["tls_errors"], 0, end)
        self.assertGreater(end["unauthorized"], st2["unauthorized"], end)
        self.assertNotIn("Kubernetes API server not used", e2e.read_text(cap.log))

        capture, frames, segs = self.read_capture(cap)
        targets = {
            "gateway": ((gateway_ip, servers[gateway_ip].port),
                        {"PeerPod": "gateway-0", "PeerNamespace": "payments",
                         "PeerService": "gateway"}),
            "ledger": ((self.ledger.ip, API_PORT),
                       {"PeerPod": "ledger", "PeerNamespace": "bank", "PeerService": "ledger"}),
            "fraud": ((fraud_ip, servers[fraud_ip].port),
                      {"PeerPod": "fraud-0", "PeerNamespace": "payments",
                       "PeerService": "fraud"}),
            "risk": ((risk_ip, servers[risk_ip].port),
                     {"PeerNamespace": "payments", "PeerService": "risk"}),
        }
        side = {}
        for name, (remote, want) in targets.items():
            with self.subTest(peer=name):
                fr = [f for f in frames if f.local and f.local[0] == f_ip and f.remote == remote]
                side[name] = fr
                self.assertTrue(fr, "no plaintext frame of web -> %s; capture:\n%s"
                                % (name, pcapng.summary(capture)))
                wr, rd = self.streams(fr, "web -> %s" % name)
                self.assert_stream(wr, t[name][0], "request web wrote to %s" % name)
                self.assert_stream(rd, t[name][1], "response web read from %s" % name)
                packets = [f.packet for f in fr]
                self.assert_labels(packets, self.web, "web's frames to %s" % name)
                self.assert_peer_group(packets, want, "web's frames to %s" % name)
        # The original packets between frontend and gateway-0: frontend's pod group, the
        # API's peer group.
        wire = [s for s in segs if {s.src[0], s.dst[0]} == {f_ip, gateway_ip}]
        self.assertTrue(wire, "no packet between frontend and gateway-0")
        for seg in wire:
            groups = lib.groups_with(seg.packet, "PodName")
            self.assertEqual([{k: g.get(k) for k in lib.POD_KEYS} for g in groups],
                             [lib.pod_labels(self.frontend)], "frontend <-> gateway-0: %r, "
                             "comments %r" % (seg, seg.packet.comments))
        self.assert_peer_group([s.packet for s in wire], targets["gateway"][1],
                               "frontend <-> gateway-0 packets")
        self.check_peer_fields(cap.out, capture, side, targets)

    def check_peer_fields(self, path, capture, side, targets):
        """With the built plugin: tlsdump.k8s.peer_{pod,namespace,service} of every frame
        are its Peer* comment lines; those of web's frames to each target its names."""
        import test_dissector_lib as dlib
        plugin, abi = dlib.find_plugin(e2e.BINARY)
        if not plugin:
            sys.stderr.write("\n  (no dissector plugin built: tlsdump.k8s.peer_* not checked)\n")
            return
        sandbox = dlib.run_goldens.Sandbox(plugin, abi, dlib.global_plugin_dir())
        self.addCleanup(sandbox.close)
        self.assertTrue(sandbox.check_plugin("tshark"), "tshark does not load %s" % plugin)
        copy = sandbox.add_input(path)
        keys = ["PeerPod", "PeerNamespace", "PeerService"]
        names = ["frame.number", "tlsdump.k8s.peer_pod", "tlsdump.k8s.peer_namespace",
                 "tlsdump.k8s.peer_service"]
        args = ["-r", copy, "-T", "fields", "-E", "occurrence=f"]
        for n in names:
            args += ["-e", n]
        r = sandbox.tshark("tshark", args)
        self.assertEqual(r.returncode, 0, "tshark with the plugin %s: %s"
                         % (plugin, r.stderr.decode(errors="replace")))
        rows = {int(l.split("\t")[0]): l.split("\t")[1:]
                for l in r.stdout.decode(errors="replace").splitlines()}
        self.assertEqual(len(rows), len(capture.packets), "tshark rows")
        for p in capture.packets:
            g = {}
            for group in self.peer_groups(p):
                for k, v in group.items():
                    g.setdefault(k, v)
            self.assertEqual(rows[p.index + 1], [g.get(k, "") for k in keys],
                             "tlsdump.k8s.peer_{pod,namespace,service} of frame %d, comments %r"
                             % (p.index + 1, p.comments))
        for name, (_, want) in targets.items():
            for f in side[name]:
                self.assertEqual(rows[f.packet.index + 1], [want.get(k, "") for k in keys],
                                 "tlsdump.k8s.peer_* of web's frame %d to %s"
                                 % (f.packet.index + 1, name))


if __name__ == "__main__":
    lib.main()
