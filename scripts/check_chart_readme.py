"""Every value of a chart's values.yaml must have a row in its README.md
table, with its default: `| \`key\` | \`<default as JSON>\` | ... |`.
Names each value that is missing or whose documented default is wrong.

    python check_chart_readme.py CHART_DIR
"""

import json
import os
import re
import sys

import yaml

# Maps that are values in their own right (resource quantities), not sections.
LEAF_MAPS = ("requests", "limits")


def flatten(values, prefix=""):
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value and key not in LEAF_MAPS:
            yield from flatten(value, path)
        else:
            yield path, value


def main(argv):
    chart = argv[1]
    with open(os.path.join(chart, "values.yaml"), encoding="utf-8") as f:
        values = yaml.safe_load(f)
    with open(os.path.join(chart, "README.md"), encoding="utf-8") as f:
        rows = dict(re.findall(r"^\| `([^`]+)` \| `([^`]*)` \|", f.read(), re.M))
    problems = []
    count = 0
    for path, value in flatten(values):
        count += 1
        want = json.dumps(value)
        if path not in rows:
            problems.append(f"{path}: not documented in README.md")
        elif json.loads(rows[path]) != value:
            problems.append(f"{path}: README.md says default {rows[path]}, values.yaml has {want}")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{count} values, {len(problems)} undocumented or wrong")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
