"""Every metric the Prometheus rules and the Grafana dashboard query must be
exported by causeway: each name must be a sample on one of the scraped
/metrics files. Prints every queried metric with where it was found, and
exactly which are missing (exit 1). Every metric family the scrapes hold
must also be listed in DOCS.md (docs/metrics.md).

    python check_queried_metrics.py RULES.yaml DASHBOARD.json DOCS.md -- METRICS.txt...
"""

import json
import re
import sys

import yaml

# A metric name inside PromQL: causeway's own prefix. The rules and the
# dashboard query nothing else (checked: every expression names one).
METRIC = re.compile(r"\bcauseway_[a-z0-9_]+\b")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)")


def rule_exprs(path):
    with open(path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def dashboard_exprs(path):
    board = json.load(open(path, encoding="utf-8"))
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    for var in board.get("templating", {}).get("list", []):
        query = var.get("query")
        if isinstance(query, dict) and query.get("query"):
            exprs.append(query["query"])
    return exprs


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    sep = argv.index("--")
    rules, dashboard, docs = argv[1:sep]
    scraped = argv[sep + 1:]
    exported = {}
    for path in scraped:
        for line in open(path, encoding="utf-8"):
            match = SAMPLE.match(line)
            if match and not line.startswith("#"):
                exported.setdefault(match.group(1), path)
    queried = {}
    problems = []
    for source, exprs in (("rules", rule_exprs(rules)), ("dashboard", dashboard_exprs(dashboard))):
        if not exprs:
            problems.append(f"{source}: no queries found")
        for expr in exprs:
            names = METRIC.findall(expr)
            if not names:
                problems.append(f"{source}: a query names no causeway metric: {expr}")
            for name in names:
                queried.setdefault(name, set()).add(source)
    missing = []
    for name in sorted(queried):
        where = exported.get(name)
        uses = ",".join(sorted(queried[name]))
        if where:
            print(f"ok       {name} ({uses})")
        else:
            missing.append(name)
            print(f"MISSING  {name} ({uses}): not on any scraped /metrics", file=sys.stderr)
    with open(docs, encoding="utf-8") as f:
        documented = set(re.findall(r"`(causeway_[a-z0-9_]+)`", f.read()))
    families = set()
    for name in exported:
        if not name.startswith("causeway_"):
            continue
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        # A histogram's series are one family; a plain name stays as it is.
        families.add(base if base + "_bucket" in exported else name)
    for family in sorted(families - documented):
        problems.append(f"{family} is exported but not listed in {docs}")
    for p in problems:
        print(f"PROBLEM  {p}", file=sys.stderr)
    print(f"{len(queried)} queried metrics, {len(missing)} missing, scraped: {', '.join(scraped)}")
    return 1 if missing or problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
