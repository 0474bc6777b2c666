#!/usr/bin/python3
"""A small Kubernetes CRI v1 client for peers-cri (tests/integration/peers/cri_test.cpp).

Talks gRPC to one containerd's CRI plugin through the stubs that
`python3 -m grpc_tools.protoc` makes from api.proto (beside this file) into
--gen DIR; they are made there on first use. Every sub-command prints one JSON
document on stdout; a failed RPC is recorded in it ({"error": {"code",
"details"}}) rather than raised, so that the C++ test sees how far a flow got
and what each runtime answered.

  version                     RuntimeService.Version
  up   --spec F --state F     pull the image, run two pods (a, b) with two
                              containers each (server: busybox httpd on 8080;
                              client: a shell loop), then the probes: localhost
                              inside a pod, pod a <-> pod b through the bridge,
                              ExecSync output and exit code, ContainerStatus,
                              ContainerStats; writes the ids to the state file
  down --state F              stop and remove every container and pod of the
                              state file; reads the container logs first
  cleanup --label K=V         best effort: stop and remove every pod (and its
                              containers) carrying the label

Needs Debian's python3-grpcio and python3-grpc-tools (/usr/bin/python3).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_stubs(gen):
    if not os.path.exists(os.path.join(gen, "api_pb2_grpc.py")):
        os.makedirs(gen, exist_ok=True)
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + HERE, "--python_out=" + gen,
                        "--grpc_python_out=" + gen, "api.proto"], check=True)
    sys.path.insert(0, gen)
    import api_pb2  # noqa: E402
    import api_pb2_grpc  # noqa: E402
    return api_pb2, api_pb2_grpc


class Cri:
    def __init__(self, socket, gen, timeout):
        import grpc
        self.grpc = grpc
        self.pb, stubs = load_stubs(gen)
        self.channel = grpc.insecure_channel("unix://" + socket)
        self.rt = stubs.RuntimeServiceStub(self.channel)
        self.img = stubs.ImageServiceStub(self.channel)
        self.timeout = timeout

    def call(self, stub, method, request, timeout=None):
        """(response, error, seconds): error is None or {"code", "details"}."""
        t0 = time.monotonic()
        try:
            resp = getattr(stub, method)(request, timeout=timeout or self.timeout)
            return resp, None, round(time.monotonic() - t0, 3)
        except self.grpc.RpcError as e:
            return None, {"code": e.code().name, "details": e.details()}, round(time.monotonic() - t0, 3)


def to_dict(msg):
    from google.protobuf.json_format import MessageToDict
    return MessageToDict(msg, preserving_proto_field_name=True)


# --- the scenario -------------------------------------------------------------

PODS = ["a", "b"]
PORT = 8080

# The server: busybox httpd in the background, a trap that stops it on SIGTERM
# (the shell is pid 1 of its own pid namespace: without a handler SIGTERM would
# be ignored), lines on stdout and stderr for the CRI log.
SERVER_SH = ("mkdir -p /www && echo hello-from-pod-{pod} > /www/index.html && "
             "echo server-ready && echo server-stderr >&2 && "
             "httpd -f -p {port} -h /www & pid=$!; "
             "trap 'kill $pid; echo server-term; exit 0' TERM; wait $pid")
CLIENT_SH = "trap 'echo client-term; exit 0' TERM; echo client-ready; while :; do sleep 1; done"


def sandbox_config(pb, spec, pod):
    u = spec["unique"]
    ns = pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD)
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="pod-" + pod, uid=u + "-" + pod, namespace="ctk-test", attempt=0),
        hostname="pod-" + pod,
        log_directory=os.path.join(spec["log_root"], "pod-" + pod),
        labels={"ctk-test": u, "pod": pod},
        linux=pb.LinuxPodSandboxConfig(cgroup_parent=spec["cgroup_parent"] + "/pod-" + pod,
                                       security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns)))


def container_config(pb, spec, pod, name, script):
    ns = pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD)
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name, attempt=0),
        image=pb.ImageSpec(image=spec["image"]),
        command=["/bin/sh", "-c"], args=[script], working_dir="/",
        envs=[pb.KeyValue(key="CTK_POD", value=pod)],
        labels={"ctk-test": spec["unique"], "pod": pod, "role": name},
        log_path=name + ".log",
        linux=pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(namespace_options=ns)))


def exec_sync(cri, cid, cmd, timeout=10):
    resp, err, secs = cri.call(cri.rt, "ExecSync", cri.pb.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout),
                               timeout=timeout + 20)
    if err:
        return {"error": err, "seconds": secs}
    return {"stdout": resp.stdout.decode(errors="replace"), "stderr": resp.stderr.decode(errors="replace"),
            "exit_code": resp.exit_code, "seconds": secs}


def sandbox_status(cri, sid):
    resp, err, _ = cri.call(cri.rt, "PodSandboxStatus", cri.pb.PodSandboxStatusRequest(pod_sandbox_id=sid, verbose=True))
    if err:
        return {"error": err}
    st = resp.status
    out = {"state": cri.pb.PodSandboxState.Name(st.state), "ip": st.network.ip, "created_at": st.created_at}
    info = {}
    try:
        info = json.loads(resp.info.get("info", "{}"))
    except ValueError:
        pass
    out["pid"] = info.get("pid", 0)
    for ns in (info.get("runtimeSpec", {}).get("linux", {}) or {}).get("namespaces", []) or []:
        if ns.get("type") == "network":
            out["netns"] = ns.get("path", "")
    out["cgroups_path"] = (info.get("runtimeSpec", {}).get("linux", {}) or {}).get("cgroupsPath", "")
    # go-cni's result: interface name -> {IPConfigs, Mac, Sandbox}; the host
    # ends of the veths have no Sandbox.
    ifaces = ((info.get("cniResult") or {}).get("Interfaces") or {})
    out["cni_interfaces"] = {name: {"mac": v.get("Mac", ""), "sandbox": v.get("Sandbox", "")}
                             for name, v in ifaces.items()}
    return out


def container_status(cri, cid):
    resp, err, _ = cri.call(cri.rt, "ContainerStatus", cri.pb.ContainerStatusRequest(container_id=cid, verbose=True))
    if err:
        return {"error": err}
    st = resp.status
    info = {}
    try:
        info = json.loads(resp.info.get("info", "{}"))
    except ValueError:
        pass
    return {"state": cri.pb.ContainerState.Name(st.state), "exit_code": st.exit_code, "reason": st.reason,
            "message": st.message, "started": st.started_at > 0, "finished": st.finished_at > 0,
            "log_path": st.log_path, "image_ref": st.image_ref, "pid": info.get("pid", 0)}


def container_stats(cri, cid):
    resp, err, _ = cri.call(cri.rt, "ContainerStats", cri.pb.ContainerStatsRequest(container_id=cid))
    if err:
        return {"error": err}
    s = resp.stats
    return {
        "has_cpu": s.HasField("cpu"), "has_memory": s.HasField("memory"),
        "cpu_timestamp": s.cpu.timestamp,
        "cpu_usage_core_nano_seconds": s.cpu.usage_core_nano_seconds.value,
        "memory_timestamp": s.memory.timestamp,
        "memory_working_set_bytes": s.memory.working_set_bytes.value,
        "memory_usage_bytes": s.memory.usage_bytes.value,
        "writable_layer_used_bytes": s.writable_layer.used_bytes.value,
        "writable_layer_mountpoint": s.writable_layer.fs_id.mountpoint,
        "id": s.attributes.id, "name": s.attributes.metadata.name,
    }


def cmd_up(cri, args):
    pb = cri.pb
    spec = json.load(open(args.spec))
    state = {"pods": {}, "containers": {}, "unique": spec["unique"]}
    out = {"errors": []}

    def save():
        with open(args.state, "w") as f:
            json.dump(state, f)

    def fail(step, err):
        out["errors"].append({"step": step, "error": err})

    resp, err, secs = cri.call(cri.rt, "Version", pb.VersionRequest(version="v1"))
    out["version"] = {"error": err} if err else to_dict(resp)

    resp, err, secs = cri.call(cri.img, "PullImage", pb.PullImageRequest(image=pb.ImageSpec(image=spec["image"])),
                               timeout=120)
    out["pull"] = {"error": err} if err else {"image_ref": resp.image_ref, "seconds": secs}
    if err:
        fail("pull", err)
        return out

    configs = {}
    out["pods"] = {}
    for pod in PODS:
        cfg = sandbox_config(pb, spec, pod)
        os.makedirs(cfg.log_directory, exist_ok=True)
        resp, err, secs = cri.call(cri.rt, "RunPodSandbox", pb.RunPodSandboxRequest(config=cfg), timeout=120)
        if err:
            out["pods"][pod] = {"error": err, "seconds": secs}
            fail("run pod " + pod, err)
            save()
            return out
        configs[pod] = cfg
        state["pods"][pod] = resp.pod_sandbox_id
        save()
        st = sandbox_status(cri, resp.pod_sandbox_id)
        st["id"] = resp.pod_sandbox_id
        st["seconds"] = secs
        out["pods"][pod] = st

    out["containers"] = {}
    for pod in PODS:
        for name, script in (("server", SERVER_SH.format(pod=pod, port=PORT)), ("client", CLIENT_SH)):
            key = pod + "-" + name
            req = pb.CreateContainerRequest(pod_sandbox_id=state["pods"][pod],
                                            config=container_config(pb, spec, pod, name, script),
                                            sandbox_config=configs[pod])
            resp, err, secs = cri.call(cri.rt, "CreateContainer", req, timeout=120)
            if err:
                out["containers"][key] = {"error": err}
                fail("create " + key, err)
                save()
                return out
            cid = resp.container_id
            state["containers"][key] = cid
            save()
            created = container_status(cri, cid)
            resp, err, secs = cri.call(cri.rt, "StartContainer", pb.StartContainerRequest(container_id=cid), timeout=120)
            if err:
                out["containers"][key] = {"id": cid, "created": created, "error": err}
                fail("start " + key, err)
                return out
            out["containers"][key] = {"id": cid, "created_state": created.get("state"), "start_seconds": secs}

    # Wait until each server answers on localhost from the client beside it.
    out["localhost"] = {}
    for pod in PODS:
        client = state["containers"][pod + "-client"]
        deadline = time.monotonic() + 30
        r = {}
        while time.monotonic() < deadline:
            r = exec_sync(cri, client, ["wget", "-q", "-O-", "http://127.0.0.1:%d/" % PORT])
            if r.get("exit_code") == 0 and r.get("stdout"):
                break
            time.sleep(0.3)
        out["localhost"][pod] = r

    for key, cid in state["containers"].items():
        out["containers"][key]["status"] = container_status(cri, cid)

    # Pod a <-> pod b through the bridge, by the IPs PodSandboxStatus gave.
    out["cross"] = {}
    for src, dst in (("a", "b"), ("b", "a")):
        ip = out["pods"][dst].get("ip", "")
        out["cross"][src + "->" + dst] = exec_sync(
            cri, state["containers"][src + "-client"], ["wget", "-q", "-O-", "http://%s:%d/" % (ip, PORT)])

    srv = state["containers"]["a-server"]
    out["exec"] = {
        "output": exec_sync(cri, srv, ["sh", "-c", "echo out-line; echo err-line >&2; exit 3"]),
        "hostname": exec_sync(cri, srv, ["hostname"]),
        "env": exec_sync(cri, srv, ["sh", "-c", "echo $CTK_POD"]),
        "eth0": exec_sync(cri, srv, ["ip", "-4", "-o", "addr", "show", "eth0"]),
        "missing": exec_sync(cri, srv, ["/no/such/program"]),
        "timeout": exec_sync(cri, srv, ["sleep", "30"], timeout=2),
    }

    # Let the containers run for a moment so that the stats have CPU time.
    for key in ("a-server", "b-server"):
        exec_sync(cri, state["containers"][key], ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
    out["stats"] = {key: container_stats(cri, cid) for key, cid in state["containers"].items()}

    resp, err, _ = cri.call(cri.rt, "ListContainers", pb.ListContainersRequest(
        filter=pb.ContainerFilter(label_selector={"ctk-test": spec["unique"]})))
    out["list"] = {"error": err} if err else sorted(
        "%s:%s" % (c.metadata.name, pb.ContainerState.Name(c.state)) for c in resp.containers)
    save()
    return out


def read_log(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError as e:
        return {"error": str(e)}


def cmd_down(cri, args):
    pb = cri.pb
    state = json.load(open(args.state))
    out = {"errors": [], "stop": {}, "stopped": {}, "logs": {}, "remove": {}, "pods": {}}
    for key, cid in sorted(state["containers"].items()):
        resp, err, secs = cri.call(cri.rt, "StopContainer", pb.StopContainerRequest(container_id=cid, timeout=10),
                                   timeout=60)
        out["stop"][key] = {"error": err, "seconds": secs}
        if err:
            out["errors"].append({"step": "stop " + key, "error": err})
        st = container_status(cri, cid)
        out["stopped"][key] = st
        if isinstance(st.get("log_path"), str) and st.get("log_path"):
            out["logs"][key] = read_log(st["log_path"])
    for pod, sid in sorted(state["pods"].items()):
        resp, err, secs = cri.call(cri.rt, "StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=60)
        st = sandbox_status(cri, sid)
        out["pods"][pod] = {"stop_error": err, "stop_seconds": secs, "state": st.get("state"),
                            "ip_after_stop": st.get("ip")}
        if err:
            out["errors"].append({"step": "stop pod " + pod, "error": err})
    for key, cid in sorted(state["containers"].items()):
        resp, err, secs = cri.call(cri.rt, "RemoveContainer", pb.RemoveContainerRequest(container_id=cid), timeout=60)
        out["remove"][key] = {"error": err, "seconds": secs}
        if err:
            out["errors"].append({"step": "remove " + key, "error": err})
    for pod, sid in sorted(state["pods"].items()):
        resp, err, secs = cri.call(cri.rt, "RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=sid),
                                   timeout=60)
        out["pods"][pod]["remove_error"] = err
        if err:
            out["errors"].append({"step": "remove pod " + pod, "error": err})
        # A second remove is no error (CRI: RemovePodSandbox is idempotent);
        # containerd 1.6 answers a stop of a removed sandbox with NOT_FOUND.
        _, err2, _ = cri.call(cri.rt, "RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=sid), timeout=30)
        _, err3, _ = cri.call(cri.rt, "StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=30)
        out["pods"][pod]["remove_again"] = (err2 or {}).get("code", "OK")
        out["pods"][pod]["stop_after_remove"] = (err3 or {}).get("code", "OK")
        st = sandbox_status(cri, sid)
        out["pods"][pod]["status_after_remove"] = st.get("error", {}).get("code", "present")
    label = {"ctk-test": state["unique"]}
    resp, err, _ = cri.call(cri.rt, "ListContainers", pb.ListContainersRequest(
        filter=pb.ContainerFilter(label_selector=label)))
    out["containers_left"] = {"error": err} if err else [c.id for c in resp.containers]
    resp, err, _ = cri.call(cri.rt, "ListPodSandbox", pb.ListPodSandboxRequest(
        filter=pb.PodSandboxFilter(label_selector=label)))
    out["pods_left"] = {"error": err} if err else [p.id for p in resp.items]
    return out


def cmd_cleanup(cri, args):
    pb = cri.pb
    k, _, v = args.label.partition("=")
    out = {"removed": [], "errors": []}
    resp, err, _ = cri.call(cri.rt, "ListPodSandbox", pb.ListPodSandboxRequest(
        filter=pb.PodSandboxFilter(label_selector={k: v})), timeout=10)
    if err:
        out["errors"].append(err)
        return out
    for p in resp.items:
        cs, err, _ = cri.call(cri.rt, "ListContainers", pb.ListContainersRequest(
            filter=pb.ContainerFilter(pod_sandbox_id=p.id)), timeout=10)
        for c in (cs.containers if cs else []):
            for method, req in (("StopContainer", pb.StopContainerRequest(container_id=c.id, timeout=0)),
                                ("RemoveContainer", pb.RemoveContainerRequest(container_id=c.id))):
                _, err, _ = cri.call(cri.rt, method, req, timeout=20)
                if err:
                    out["errors"].append({method: c.id, "error": err})
        for method, req in (("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=p.id)),
                            ("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=p.id))):
            _, err, _ = cri.call(cri.rt, method, req, timeout=30)
            if err:
                out["errors"].append({method: p.id, "error": err})
        out["removed"].append(p.id)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--gen", required=True, help="directory for the generated stubs")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per RPC (default 60)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("version")
    up = sub.add_parser("up")
    up.add_argument("--spec", required=True)
    up.add_argument("--state", required=True)
    down = sub.add_parser("down")
    down.add_argument("--state", required=True)
    cl = sub.add_parser("cleanup")
    cl.add_argument("--label", required=True)
    args = ap.parse_args()

    cri = Cri(args.socket, args.gen, args.timeout)
    if args.cmd == "version":
        resp, err, _ = cri.call(cri.rt, "Version", cri.pb.VersionRequest(version="v1"))
        out = {"error": err} if err else to_dict(resp)
    elif args.cmd == "up":
        out = cmd_up(cri, args)
    elif args.cmd == "down":
        out = cmd_down(cri, args)
    else:
        out = cmd_cleanup(cri, args)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
