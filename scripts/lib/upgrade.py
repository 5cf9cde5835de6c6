#!/usr/bin/env python3
"""The HTTP side of scripts/upgrade: writes reports through replicas of two releases, takes
snapshots of every answer a client can get for every project, and compares them.

State (what was last written to each project, and which projects were deleted) lives in a JSON
file, so that each step is a separate command the shell script runs between starting and
stopping replicas. Standard library only.

  upgrade.py seed STATE URL                  30 projects and one without dependencies, through URL
  upgrade.py write STATE URL_A URL_B         updates, creations, retries, a late report and deletes,
                                             spread over both replicas
  upgrade.py snapshot STATE URL OUT          every answer for every project, as URL serves it
  upgrade.py compare OLD NEW                 NEW answers what OLD answers (OLD's JSON fields, SVGs
                                             byte for byte); exit 1 with the differences
  upgrade.py converge STATE URL_OLD URL_NEW  compare until equal, up to a deadline (invalidation
                                             across replicas is asynchronous)
  upgrade.py expected STATE URL              URL serves exactly the dependencies last written
  upgrade.py export STATE FILE               an export holds every project and every dependency
"""

import datetime
import json
import sys
import time
import urllib.error
import urllib.request

TOKEN = "upgrade-token-0123456789abcdef"
ECOSYSTEMS = [("npm", "left-pad", "1.{}.0"), ("cargo", "serde", "1.0.{}"), ("pypi", "requests", "2.{}.0")]
SCOPES = ["runtime", "runtime", "dev", "build", "optional"]
# How long replicas may take to agree after a write (a NOTIFY reaches them in well under a second).
CONVERGE_DEADLINE_S = 15


def ago(minutes):
    at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def request(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if method in ("PUT", "DELETE"):
        req.add_header("Authorization", "Bearer " + TOKEN)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, lowercase(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, lowercase(error.headers), error.read()


def lowercase(headers):
    return {name.lower(): value for name, value in headers.items()}


def report(project, round_, minutes_ago, size=12):
    """A report of `size` dependencies; `round_` changes versions, latests and advisories."""
    dependencies = []
    for i in range(size):
        ecosystem, name, version = ECOSYSTEMS[i % len(ECOSYSTEMS)]
        dependency = {
            "purl": "pkg:{}/{}-{}@{}".format(ecosystem, name, i, version.format(i % 7)),
            "scope": SCOPES[(i + project) % len(SCOPES)],
        }
        if (i + round_) % 4 != 3:  # a quarter without `latest`: freshness unknown
            dependency["latest"] = version.format((i % 7) + (i + round_ + project) % 3)
        if (i * 7 + project + round_) % 11 == 0:
            dependency["advisories"] = [{"id": "GHSA-{:04d}-{:04d}-xxxx".format(project, i),
                                         "severity": ["low", "high", "critical", "unknown"][i % 4],
                                         "url": "https://github.com/advisories/GHSA-x"}]
        dependencies.append(dependency)
    return {"analyzed_at": ago(minutes_ago), "dependencies": dependencies,
            "tools": [{"name": "upgrade-test", "version": str(round_)}]}


def put(url, slug, body, expected):
    status, _, answer = request("PUT", "{}/v1/projects/{}".format(url, slug), body)
    if status not in expected:
        sys.exit("PUT {} through {} answered {} (expected {}): {}".format(
            slug, url, status, expected, answer[:300]))
    return status


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, state):
    with open(path, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)


def seed(state_path, url):
    state = {"projects": {}, "deleted": []}
    for project in range(30):
        slug = "github.com/upgrade/p{:02d}".format(project)
        body = report(project, 0, 240)
        put(url, slug, body, (201,))
        state["projects"][slug] = body
    empty = {"analyzed_at": ago(240), "dependencies": []}
    put(url, "github.com/upgrade/empty", empty, (201,))
    state["projects"]["github.com/upgrade/empty"] = empty
    save(state_path, state)
    print("  seeded {} projects through {}".format(len(state["projects"]), url))


def write(state_path, url_a, url_b):
    """Writes through both replicas, each kind of write through each."""
    state = load(state_path)
    replicas = [url_a, url_b]
    counts = {"updated": 0, "unchanged": 0, "created": 0, "refused as late": 0, "deleted": 0}
    for project in range(30):
        slug = "github.com/upgrade/p{:02d}".format(project)
        through = replicas[project % 2]
        if project % 3 == 0:  # an identical retry of what is stored: changes nothing
            put(through, slug, state["projects"][slug], (200,))
            counts["unchanged"] += 1
        else:  # a newer report, of another size
            body = report(project, 1 + project % 2, 120 - project, size=8 + project % 9)
            put(through, slug, body, (200,))
            state["projects"][slug] = body
            counts["updated"] += 1
    for project in range(30, 40):
        slug = "github.com/upgrade/p{:02d}".format(project)
        body = report(project, 0, 90)
        put(replicas[project % 2], slug, body, (201,))
        state["projects"][slug] = body
        counts["created"] += 1
    # A late retry of an older report, through the replica that did not write the newer one.
    slug = "github.com/upgrade/p01"
    put(url_a, slug, report(1, 0, 600), (409,))
    counts["refused as late"] += 1
    for slug, through in [("github.com/upgrade/p04", url_a), ("github.com/upgrade/p05", url_b)]:
        status, _, answer = request("DELETE", "{}/v1/projects/{}".format(through, slug))
        if status != 204:
            sys.exit("DELETE {} through {} answered {}: {}".format(slug, through, status, answer[:300]))
        del state["projects"][slug]
        state["deleted"].append(slug)
        counts["deleted"] += 1
    save(state_path, state)
    print("  through both: " + ", ".join("{} {}".format(n, what) for what, n in counts.items()))


def answers(url, slug):
    """Every answer a client gets for one project: the JSON API in each scope, the page's status
    code, and badges (SVG and shields.io endpoint JSON, in two styles and scopes)."""
    paths = ["/v1/projects/{}?scope={}".format(slug, scope) for scope in ("runtime", "dev", "all")]
    paths += ["/badges/{}.svg".format(slug), "/badges/{}.svg?scope=all&style=flat-square".format(slug),
              "/badges/{}.svg?scope=dev".format(slug), "/badges/{}.json".format(slug)]
    out = {}
    for path in paths:
        status, headers, body = request("GET", url + path)
        kind = headers.get("content-type", "")
        if kind.startswith("application/json"):
            value = json.loads(body)
        else:
            value = body.decode("utf-8", "replace")
        out[path] = {"status": status, "body": value}
    status, _, _ = request("GET", "{}/projects/{}".format(url, slug))
    out["/projects/" + slug] = {"status": status}
    return out


def take_snapshot(state, url):
    slugs = sorted(set(state["projects"]) | set(state["deleted"]))
    snapshot = {}
    for slug in slugs:
        snapshot.update(answers(url, slug))
    status, _, body = request("GET", url + "/v1/projects?scope=all&limit=200")
    snapshot["/v1/projects?scope=all"] = {"status": status, "body": json.loads(body)}
    return snapshot


def differences(old, new, path="", out=None):
    """Where `new` does not answer what `old` does: every field of `old` (a newer release may
    add fields), every item of its lists, texts byte for byte."""
    out = [] if out is None else out
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            if key not in new:
                out.append("{}.{}: missing (was {})".format(path, key, json.dumps(value)[:120]))
            else:
                differences(value, new[key], "{}.{}".format(path, key), out)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            out.append("{}: {} items, was {}".format(path, len(new), len(old)))
        for i, (a, b) in enumerate(zip(old, new)):
            differences(a, b, "{}[{}]".format(path, i), out)
    elif old != new:
        out.append("{}: {} (was {})".format(path, json.dumps(new)[:160], json.dumps(old)[:160]))
    return out


def report_differences(found, what):
    if found:
        print("  {}: {} difference(s)".format(what, len(found)))
        for line in found[:15]:
            print("    " + line)
        return 1
    return 0


def converge(state_path, url_old, url_new):
    state = load(state_path)
    deadline = time.monotonic() + CONVERGE_DEADLINE_S
    while True:
        old, new = take_snapshot(state, url_old), take_snapshot(state, url_new)
        found = differences(old, new)
        if not found:
            print("  {} answers from each release, the same".format(len(old)))
            return 0
        if time.monotonic() > deadline:
            return report_differences(found, "after {} s, the releases still differ".format(CONVERGE_DEADLINE_S))
        time.sleep(0.2)


def expected(state_path, url):
    """The JSON API shows, for every project, exactly the dependencies last written, in order;
    deleted projects are 404."""
    state = load(state_path)
    problems = []
    for slug, body in sorted(state["projects"].items()):
        status, _, answer = request("GET", "{}/v1/projects/{}?scope=all".format(url, slug))
        served = [d["purl"] for d in json.loads(answer).get("dependencies", [])] if status == 200 else None
        written = [d["purl"] for d in body["dependencies"]]
        if status != 200 or served != written:
            problems.append("{}: {} with {} dependencies, {} written".format(
                slug, status, len(served or []), len(written)))
    for slug in state["deleted"]:
        status, _, _ = request("GET", "{}/v1/projects/{}".format(url, slug))
        if status != 404:
            problems.append("{}: deleted, answered {}".format(slug, status))
    if report_differences(problems, "{} against what was written".format(url)):
        return 1
    print("  {} shows every dependency of the {} projects written".format(url, len(state["projects"])))
    return 0


def export(state_path, path):
    state = load(state_path)
    with open(path) as f:
        lines = {line["slug"]: line for line in map(json.loads, filter(str.strip, f))}
    problems = []
    if sorted(lines) != sorted(state["projects"]):
        problems.append("projects {} (expected {})".format(sorted(lines), sorted(state["projects"])))
    for slug, body in sorted(state["projects"].items()):
        line = lines.get(slug, {"dependencies": []})
        exported = [(d["purl"], d.get("latest"), d["scope"]) for d in line["dependencies"]]
        written = [(d["purl"], d.get("latest"), d.get("scope", "runtime")) for d in body["dependencies"]]
        if exported != written:
            problems.append("{}: {} dependencies exported, {} written".format(slug, len(exported), len(written)))
    if report_differences(problems, "export {}".format(path)):
        return 1
    print("  {}: every project and dependency ({} projects)".format(path, len(lines)))
    return 0


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "seed":
        seed(*args)
    elif command == "write":
        write(*args)
    elif command == "snapshot":
        state_path, url, out = args
        with open(out, "w") as f:
            json.dump(take_snapshot(load(state_path), url), f, indent=1, sort_keys=True)
    elif command == "compare":
        return report_differences(differences(load(args[0]), load(args[1])), "{} against {}".format(args[1], args[0]))
    elif command == "converge":
        return converge(*args)
    elif command == "expected":
        return expected(*args)
    elif command == "export":
        return export(*args)
    else:
        sys.exit("unknown command " + command)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
