#!/usr/bin/env python3
"""Converge Pulp to the declared content: remotes, repositories and distributions.

Reads the spec (JSON, rendered by src/pulpContent.ts) and creates what is missing or updates what
differs, through Pulp's REST API. Running it twice changes nothing the second time. A repository
that has never been synced is synced and published once, so its distribution serves something;
later syncs are left to schedules. Only the standard library is used, so any Python 3 image runs it.

Environment: PULP_URL (e.g. http://pulp-api:24817), PULP_USERNAME, PULP_PASSWORD, SPEC_FILE.
"""
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

API = "/pulp/api/v3/"
PLUGIN = {  # type -> (remote, repository, distribution, publication) endpoint kinds
    "deb": ("remotes/deb/apt/", "repositories/deb/apt/", "distributions/deb/apt/", "publications/deb/apt/"),
    "file": ("remotes/file/file/", "repositories/file/file/", "distributions/file/file/", "publications/file/file/"),
}


class Pulp:
    def __init__(self, base, username, password):
        self.base = base.rstrip("/")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}

    def request(self, method, path, body=None):
        url = path if path.startswith("http") else self.base + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as err:
            raise SystemExit(f"{method} {url} failed: {err.code} {err.read().decode(errors='replace')}")
        return json.loads(text) if text else {}

    def find(self, kind, name):
        query = urllib.parse.urlencode({"name": name})
        results = self.request("GET", f"{API}{kind}?{query}").get("results", [])
        return results[0] if results else None

    def wait(self, response):
        """Follow an asynchronous answer ({"task": href}) to its end; return the finished task."""
        task_href = response.get("task")
        if not task_href:
            return response
        while True:
            task = self.request("GET", task_href)
            if task["state"] == "completed":
                return task
            if task["state"] in ("failed", "canceled"):
                raise SystemExit(f"task {task_href} {task['state']}: {task.get('error')}")
            time.sleep(2)

    def converge(self, kind, name, wanted):
        """Create `name` with `wanted` fields, or patch the fields that differ; return its href."""
        current = self.find(kind, name)
        if current is None:
            print(f"create {kind}{name}")
            result = self.wait(self.request("POST", f"{API}{kind}", {"name": name, **wanted}))
            created = result.get("created_resources")
            return created[0] if created else result["pulp_href"]
        changed = {k: v for k, v in wanted.items() if current.get(k) != v}
        if changed:
            print(f"update {kind}{name}: {', '.join(sorted(changed))}")
            self.wait(self.request("PATCH", current["pulp_href"], changed))
        else:
            print(f"unchanged {kind}{name}")
        return current["pulp_href"]


def wait_until_up(pulp, attempts=90):
    for _ in range(attempts):
        try:
            status = pulp.request("GET", f"{API}status/")
            if status.get("database_connection", {}).get("connected") and status.get("online_workers"):
                return
        except (SystemExit, OSError) as err:
            print(f"waiting for Pulp: {err}")
        time.sleep(5)
    raise SystemExit("Pulp did not become ready")


VERBATIM = "publications/deb/verbatim/"


def converge_mirror(pulp, mirror):
    remote_kind, repo_kind, dist_kind, pub_kind = PLUGIN[mirror["type"]]
    labels = mirror["labels"]
    before = pulp.find(remote_kind, mirror["name"])
    remote = pulp.converge(remote_kind, mirror["name"], {**mirror["remote"], "pulp_labels": labels})
    repo = pulp.converge(repo_kind, mirror["name"], {"remote": remote, "pulp_labels": labels, "retain_repo_versions": 2})
    repository = pulp.request("GET", repo)
    # A new mirror is synced once; so is one whose upstream URL moved (a new snapshot pin).
    moved = before is not None and before.get("url") != mirror["remote"]["url"]
    if repository["latest_version_href"].endswith("/versions/0/") or moved:
        print(f"{'re-sync (URL moved)' if moved else 'first sync'} of {mirror['name']}")
        pulp.wait(pulp.request("POST", repo + "sync/", {"remote": remote, "mirror": True}))
        publication = {"repository": repo}
        if mirror.get("verbatim"):
            # Upstream's Release, InRelease and Release.gpg as published: apt checks Debian's keys.
            pub_kind = VERBATIM
        elif mirror["type"] == "deb":
            publication.update({"structured": True, "simple": False})
        pulp.wait(pulp.request("POST", f"{API}{pub_kind}", publication))
    # A distribution that follows the repository serves its newest publication.
    pulp.converge(dist_kind, mirror["name"], {"base_path": mirror["basePath"], "repository": repo, "pulp_labels": labels})


def main():
    with open(os.environ["SPEC_FILE"]) as handle:
        spec = json.load(handle)
    pulp = Pulp(os.environ["PULP_URL"], os.environ.get("PULP_USERNAME", "admin"), os.environ["PULP_PASSWORD"])
    wait_until_up(pulp)
    for mirror in spec["mirrors"]:
        converge_mirror(pulp, mirror)
    print(f"converged {len(spec['mirrors'])} mirror(s)")


if __name__ == "__main__":
    sys.exit(main())
