"""Validates YAML or JSON documents against one of the project's JSON Schemas with an
independent implementation (python-jsonschema, draft 2020-12, the draft schemars 1 writes), as an
editor's YAML language server would. Used by tests/schema_validate.rs.

usage: validate_schema.py SCHEMA FILE...

Checks SCHEMA against the 2020-12 meta-schema first (exit 2 when it is not a valid schema), then
prints one JSON line per FILE:
  {"file": F, "errors": [{"path": "checks/0/step/with/tls", "message": M}, ...]}
or, for a file that is not YAML, {"file": F, "parse_error": M}. Each error is the most specific
one python-jsonschema finds under a top-level failure (inside anyOf/oneOf branches).

YAML is read with the YAML 1.2 core schema, as serde_yaml and the YAML language server read it,
not PyYAML's YAML 1.1 defaults (where `on` is a boolean and `017` an octal number).
"""

import json
import re
import sys

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the implicit scalars of YAML 1.2's core schema."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
CORE_SCALARS = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
]
for tag, pattern, first in CORE_SCALARS:
    Yaml12Loader.add_implicit_resolver(tag, re.compile(pattern), list(first))


def core_bool(loader, node):
    return loader.construct_scalar(node).lower() == "true"


def core_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def core_float(loader, node):
    text = loader.construct_scalar(node).lower()
    if text.endswith("inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    return float(text)


Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", core_bool)
Yaml12Loader.add_constructor("tag:yaml.org,2002:int", core_int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:float", core_float)


def read(path):
    with open(path, encoding="utf-8") as f:
        if path.endswith(".json"):
            return json.load(f)
        return yaml.load(f, Loader=Yaml12Loader)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        schema = json.load(f)
    if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
        print(f"{argv[0]}: not a draft 2020-12 schema: {schema.get('$schema')}", file=sys.stderr)
        return 2
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for path in argv[1:]:
        try:
            document = read(path)
        except (yaml.YAMLError, json.JSONDecodeError) as e:
            print(json.dumps({"file": path, "parse_error": str(e)}))
            continue
        errors = []
        for error in validator.iter_errors(document):
            error = best_match([error])
            where = "/".join(str(part) for part in error.absolute_path)
            errors.append({"path": where, "message": error.message})
        print(json.dumps({"file": path, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
