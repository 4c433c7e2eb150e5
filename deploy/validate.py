#!/usr/bin/python3
"""Checks the deployment files that can be checked offline.

  /usr/bin/python3 deploy/validate.py target/debug/passerelle

- Kubernetes manifests: every document has apiVersion, kind and metadata.name; kustomization lists
  existing files; selectors match the pods they are meant for; probes and Services name ports that
  the containers declare; volume mounts name declared volumes; the gateway configuration shipped in
  the ConfigMaps passes `passerelle check`.
- Compose: the gateway configuration passes `passerelle check`; every service has an image.
- systemd: `systemd-analyze verify` accepts the unit (with paths pointed at this build).
Exits non-zero with one line per problem.
"""

import os
import pathlib
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent
problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def passerelle_check(binary, config, where):
    env = dict(os.environ, PASSERELLE_SIGNING_KEY="x" * 48)
    result = subprocess.run([binary, "check", "--config", str(config)], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        problem(where, "passerelle check refuses the shipped configuration:\n" + result.stderr)


def kubernetes(binary):
    folder = ROOT / "kubernetes"
    docs = {}
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is None:
                continue
            where = f"{path.relative_to(ROOT.parent)}"
            for key in ("apiVersion", "kind"):
                if key not in doc:
                    problem(where, f"document without {key}")
            if doc.get("kind") != "Kustomization" and not doc.get("metadata", {}).get("name"):
                problem(where, "document without metadata.name")
            docs.setdefault(doc.get("kind"), []).append((where, doc))

    for where, kustomization in docs.get("Kustomization", []):
        for resource in kustomization.get("resources", []):
            if not (folder / resource).is_file():
                problem(where, f"resource {resource} does not exist")

    workloads = docs.get("Deployment", []) + docs.get("StatefulSet", [])
    pod_labels = []
    for where, workload in workloads:
        spec = workload["spec"]
        labels = spec["template"]["metadata"]["labels"]
        pod_labels.append((labels, spec["template"]["spec"]))
        if any(labels.get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
            problem(where, "the selector does not match the pod template's labels")
        pod = spec["template"]["spec"]
        volumes = {v["name"] for v in pod.get("volumes", [])}
        volumes |= {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
        for container in pod.get("initContainers", []) + pod["containers"]:
            ports = {p.get("name") for p in container.get("ports", [])} | {p["containerPort"] for p in container.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                port = container.get(probe, {}).get("httpGet", {}).get("port")
                if port is not None and port not in ports:
                    problem(where, f"{container['name']}.{probe} uses port {port!r}, not declared")
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    problem(where, f"{container['name']} mounts undeclared volume {mount['name']}")

    def selected(selector, where):
        matches = [spec for labels, spec in pod_labels if all(labels.get(k) == v for k, v in selector.items())]
        if not matches:
            problem(where, f"selector {selector} matches no pod")
        return matches

    for where, service in docs.get("Service", []):
        for spec in selected(service["spec"]["selector"], where):
            names = {p.get("name") for c in spec["containers"] for p in c.get("ports", [])}
            for port in service["spec"]["ports"]:
                if isinstance(port.get("targetPort"), str) and port["targetPort"] not in names:
                    problem(where, f"targetPort {port['targetPort']} is not a container port name")
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        for where, doc in docs.get(kind, []):
            selector = doc["spec"].get("selector") or doc["spec"].get("podSelector")
            selected(selector["matchLabels"], where)

    # The shipped configuration, laid out as the pod sees it, must pass `passerelle check`.
    maps = {doc["metadata"]["name"]: doc["data"] for _, doc in docs.get("ConfigMap", [])}
    secret = yaml.safe_load((folder / "secret.example.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        etc = pathlib.Path(tmp)
        (etc / "passerelle.toml").write_text(maps["passerelle-config"]["passerelle.toml"])
        (etc / "spaces").mkdir()
        for name, text in maps["passerelle-spaces"].items():
            (etc / "spaces" / name).write_text(text)
        (etc / "secrets").mkdir()
        (etc / "secrets" / "users.toml").write_text(secret["stringData"]["users.toml"])
        passerelle_check(binary, etc / "passerelle.toml", "deploy/kubernetes/configmap.yaml")


def compose(binary):
    path = ROOT / "compose" / "compose.yaml"
    doc = yaml.safe_load(path.read_text())
    for name, service in doc["services"].items():
        if "image" not in service and "build" not in service:
            problem("deploy/compose/compose.yaml", f"service {name} has neither image nor build")
    gateways = [n for n, s in doc["services"].items() if s.get("image") == "passerelle:local"]
    if len(gateways) < 2:
        problem("deploy/compose/compose.yaml", "expected at least two gateway replicas")
    passerelle_check(binary, ROOT / "compose" / "config" / "passerelle.toml", "deploy/compose/config")


def systemd(binary):
    unit = (ROOT / "systemd" / "passerelle.service").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        env_file = pathlib.Path(tmp) / "secrets.env"
        env_file.write_text("PASSERELLE_SIGNING_KEY=x\n")
        unit = unit.replace("/usr/local/bin/passerelle", str(pathlib.Path(binary).resolve()))
        unit = unit.replace("/etc/passerelle/secrets.env", str(env_file))
        copy = pathlib.Path(tmp) / "passerelle.service"
        copy.write_text(unit)
        result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True)
        # Lines about other units of the host (not ours) are not this file's problem.
        ours = [l for l in (result.stdout + result.stderr).splitlines() if "passerelle.service" in l]
        if result.returncode != 0 or ours:
            problem("deploy/systemd/passerelle.service", "\n".join(ours) or result.stderr)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: deploy/validate.py PATH-TO-passerelle-BINARY")
    binary = sys.argv[1]
    kubernetes(binary)
    compose(binary)
    systemd(binary)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        sys.exit(1)
    print("deploy/: kubernetes, compose and systemd files are consistent")


if __name__ == "__main__":
    main()
