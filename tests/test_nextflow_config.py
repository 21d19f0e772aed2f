"""The config evaluator (tests/nextflow_config.py) on tiny pipelines it is given here.

Each case is a Nextflow behaviour the evaluator models, with the expected result read in
Nextflow's sources and docs (cited in tests/nextflow_config.groovy). All queries go to one JVM.
"""

from __future__ import annotations

import pytest
from nextflow_config import evaluate, process_labels
from nextflow_lang import find_jar, java_available

MAIN = """\
process FOO {
    label 'big'
    label 'gpu'
    container 'own/image:1'
    script:
    "true"
}

process BAR {
    label 'small'
    script:
    "true"
}

workflow {
    FOO()
    BAR()
}
"""

CONFIG = """\
params {
    a     = 'config'
    n     = 1
    x     = 0.5
    flag  = false
    image = 'generic/image:1'
}

includeConfig 'conf/extra.config'

process {
    cpus           = 1
    memory         = { 2.GB * task.attempt }
    time           = 1.h
    queue          = 'generic'
    container      = params.image
    resourceLimits = [cpus: 4, memory: 5.GB, time: 2.h]
    ext.args       = { "--n ${params.n}" }
    withLabel: 'big|huge' {
        cpus  = { 3 * task.attempt }
        queue = 'label'
    }
    withLabel: '!small' {
        clusterOptions = 'not-small'
    }
    withName: 'FOO' {
        queue = 'name'
    }
}

profiles {
    one {
        params.a = 'one'
        process.queue = 'one'
        env.WHO = 'one'
    }
    two {
        params.a = 'two'
        env.WHO = 'two'
    }
    docker {
        docker.enabled = true
        docker.registry = 'quay.io'
    }
    apptainer {
        apptainer.enabled = true
    }
}

// after the profiles: what the v1 parser's profiles override, the v2 parser's do not
env.AFTER = "${params.a}"
"""

EXTRA = """\
params.b = "${params.a}-extra"
process.ext.extra = { "cpus=${task.cpus}" }
"""

CUSTOM = """\
params.a = 'custom'
params.image = 'custom/image:2'
process {
    withName: 'BAR' {
        queue = { "custom-${params.n}" }
    }
}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    if not java_available() or find_jar() is None:
        pytest.skip("java or the language-server jar is missing")
    pytest.importorskip("jpype", reason="jpype1 not installed: pip install jpype1")
    root = tmp_path_factory.mktemp("pipeline")
    (root / "main.nf").write_text(MAIN)
    (root / "nextflow.config").write_text(CONFIG)
    (root / "conf").mkdir()
    (root / "conf" / "extra.config").write_text(EXTRA)
    (root / "custom.config").write_text(CUSTOM)
    (root / "broken.config").write_text("process {\n    cpus = \n}\n")
    return root


CASES = {
    "foo": dict(profiles=[], process="FOO"),
    "bar": dict(profiles=[], process="BAR"),
    "foo attempt 2": dict(profiles=[], process="FOO", attempt=2),
    "v1 one,two": dict(profiles=["one", "two"], process="BAR", syntax="v1"),
    "v1 two,one": dict(profiles=["two", "one"], process="BAR", syntax="v1"),
    "v2 one,two": dict(profiles=["one", "two"], process="BAR"),
    "v2 two,one": dict(profiles=["two", "one"], process="BAR"),
    "custom": dict(profiles=[], process="BAR", configs=["custom.config"]),
    "cli v1": dict(profiles=[], process="FOO", syntax="v1", params={"n": "7", "x": "1e-3", "flag": "false", "new": "3"}),
    "cli v2": dict(profiles=[], process="FOO", syntax="v2", params={"n": "7", "x": "1e-3", "flag": "false", "new": "3"}),
    "docker": dict(profiles=["docker"], process="BAR"),
    "apptainer": dict(profiles=["apptainer"], process="BAR"),
    "two engines": dict(profiles=["docker", "apptainer"], process="BAR"),
    "unknown profile": dict(profiles=["three"], process="BAR"),
    "broken": dict(profiles=[], process="BAR", configs=["broken.config"]),
}


@pytest.fixture(scope="module")
def answers(project):
    queries = []
    for case in CASES.values():
        query = dict(case, labels=process_labels(case["process"], project))
        query["configs"] = [project / c for c in case.get("configs", [])]
        queries.append(query)
    return dict(zip(CASES, evaluate(queries, project)))


def settings(answers, name):
    answer = answers[name]
    assert answer["ok"], answer["error"]
    return answer["settings"]


def test_labels_are_read_from_the_module(project):
    assert process_labels("FOO", project) == ["big", "gpu"]
    assert process_labels("BAR", project) == ["small"]


def test_selector_priority(answers):
    # withName over withLabel over the generic setting; the process's own container over the
    # generic one; a negated label selector matches the processes without that label
    foo, bar = settings(answers, "foo"), settings(answers, "bar")
    assert (foo["queue"], bar["queue"]) == ("name", "generic")
    assert (foo["cpus"], bar["cpus"]) == (3, 1)
    assert (foo["container"], bar["container"]) == ("own/image:1", "generic/image:1")
    assert (foo["clusterOptions"], bar["clusterOptions"]) == ("not-small", None)


def test_task_time_closures_and_resource_limits(answers):
    foo, again = settings(answers, "foo"), settings(answers, "foo attempt 2")
    assert (foo["memory"], again["memory"]) == ("2 GB", "4 GB")
    assert again["cpus"] == 4  # 3 * 2 capped by resourceLimits
    assert foo["time"] == "1h"
    assert foo["ext"] == {"args": "--n 1", "extra": "cpus=3"}
    assert again["ext"]["extra"] == "cpus=4"  # task.cpus is the capped value


def test_include_sees_the_params_set_before_it(answers):
    assert settings(answers, "bar")["params"]["b"] == "config-extra"


def test_profile_order_v1_definition_order_v2_command_line_order(answers):
    # v1 (ConfigParserV1): the file's order, and profiles override the whole file
    for name in ("v1 one,two", "v1 two,one"):
        s = settings(answers, name)
        assert s["params"]["a"] == "two" and s["env"]["WHO"] == "two", name
        assert s["env"]["AFTER"] == "config" and s["queue"] == "one", name
    # v2 (ConfigDsl): -profile's order, applied where the profiles block ends
    assert settings(answers, "v2 one,two")["env"] == {"WHO": "two", "AFTER": "two"}
    assert settings(answers, "v2 two,one")["env"] == {"WHO": "one", "AFTER": "one"}


def test_a_custom_config_cannot_change_what_nextflow_config_read_while_parsed(answers):
    # nextflow.config is parsed before -c files: `container = params.image` was read then
    s = settings(answers, "custom")
    assert s["params"]["a"] == "custom" and s["params"]["image"] == "custom/image:2"
    assert s["container"] == "generic/image:1"
    assert s["queue"] == "custom-1"  # a closure sees the final params


def test_cli_params_types_per_parser(answers):
    v1, v2 = settings(answers, "cli v1"), settings(answers, "cli v2")
    # v1: CmdRun.parseParamValue types them, and they win everywhere
    assert v1["params"] == v1["params"] | {"n": 7, "x": "1e-3", "flag": False, "new": 3}
    # v2: final params hold the CLI strings (ConfigBuilder merges them last)
    assert v2["params"] == v2["params"] | {"n": "7", "x": "1e-3", "flag": "false", "new": "3"}
    assert v1["ext"]["args"] == v2["ext"]["args"] == "--n 7"


def test_engines_and_image_names(answers):
    docker, apptainer = settings(answers, "docker"), settings(answers, "apptainer")
    assert (docker["engine"], docker["container"]) == ("docker", "quay.io/generic/image:1")
    assert (apptainer["engine"], apptainer["container"]) == ("apptainer", "docker://generic/image:1")
    assert settings(answers, "bar")["engine"] is None


@pytest.mark.parametrize("name, message", [
    ("two engines", "Cannot enable more than one container engine"),
    ("unknown profile", "Unknown configuration profile: three"),
    ("broken", "broken.config"),
])
def test_errors_name_the_problem(answers, name, message):
    assert not answers[name]["ok"] and message in answers[name]["error"]

