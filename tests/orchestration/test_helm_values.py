"""deploy/helm: the Dagster chart's values and the ECL API's manifests, checked with no cluster.

What runs here: the values against the chart's own ``values.schema.json`` (vendored in
deploy/helm/chart, with the Kubernetes definitions it refers to built from the installed
``kubernetes`` client instead of fetched); the instance config the chart would render from
the values, loaded by Dagster's and dagster-k8s's own config machinery; the run worker's Job
as dagster-k8s builds it; the API's manifests against the Kubernetes models.

What does not: ``helm template`` (no helm binary here), an image build, a cluster. The parts
of the chart's templates that matter are reproduced below, each naming its template, from
the dagster repository (helm/dagster/templates).
"""

import copy
import json
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import jsonschema
import kubernetes
import pytest
import yaml
from dagster._config import process_config
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.workspace.config_schema import WORKSPACE_CONFIG_SCHEMA
from dagster._serdes.config_class import ConfigurableClassData
from dagster_k8s import K8sRunLauncher
from dagster_k8s.job import construct_dagster_k8s_job
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

from ecl_dagster.runs import launching
from ecl_dagster.stack import services

ROOT = Path(__file__).resolve().parents[2]
HELM = ROOT / "deploy" / "helm"
SCHEMA_FILE = HELM / "chart" / "values.schema.json"

RELEASE = "dagster"  # the release name the README installs with
NAMESPACE = "ecl"
CHART = "dagster"
SUBCHART = "dagster-user-deployments"
K8S_DEFINITIONS = "https://kubernetesjsonschema.dev/v1.18.0/_definitions.json"
SECRET_LIKE = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY$")

# The chart's top-level `concurrency` key came after the vendored schema's commit; its model in
# the dagster repo (helm/dagster/schema/schema/charts/dagster/subschema/concurrency.py, every
# class extra="forbid") written as JSON schema.
CONCURRENCY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean"},
        "pools": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "defaultLimit": {"type": ["integer", "null"]},
                "granularity": {"enum": ["run", "op", None]},
                "opGranularityRunBuffer": {"type": ["integer", "null"]},
            },
        },
        "runs": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "maxConcurrentRuns": {"type": ["integer", "null"]},
                "tagConcurrencyLimits": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["key", "limit"],
                        "properties": {
                            "key": {"type": "string"},
                            "value": {"type": ["string", "object", "null"]},
                            "limit": {"type": "integer"},
                        },
                    },
                },
            },
        },
    },
}


# ---------------------------------------------------------------------------------------------
# Reading the files


def _values() -> dict[str, Any]:
    return yaml.safe_load((HELM / "values.yaml").read_text())


def _manifests() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((HELM / "ecl-api.yaml").read_text()) if doc]


def _one(kind: str) -> dict[str, Any]:
    (doc,) = [doc for doc in _manifests() if doc["kind"] == kind]
    return doc


def _coalesced(values: Any) -> Any:
    """Values as helm hands them to templates and the schema: a null in a values file unsets."""
    if isinstance(values, dict):
        return {key: _coalesced(value) for key, value in values.items() if value is not None}
    if isinstance(values, list):
        return [_coalesced(item) for item in values]
    return values


def _deployment(values: Mapping[str, Any]) -> dict[str, Any]:
    (deployment,) = values[SUBCHART]["deployments"]
    return deployment


# ---------------------------------------------------------------------------------------------
# The chart's names (templates/helpers/_helpers.tpl and the subchart's helpers/_helpers.tpl)


def _fullname(chart_name: str = CHART) -> str:
    return RELEASE if chart_name in RELEASE else f"{RELEASE}-{chart_name}"


def _service_account(values: Mapping[str, Any]) -> str:
    return (
        values.get("global", {}).get("serviceAccountName")
        or values.get("serviceAccount", {}).get("name")
        or _fullname()
    )


def _postgres_secret(values: Mapping[str, Any]) -> str:
    return values["global"].get("postgresqlSecretName") or f"{_fullname()}-postgresql-secret"


# ---------------------------------------------------------------------------------------------
# The schema, and the Kubernetes definitions it refers to


def _k8s_type(type_name: str, definitions: dict[str, Any]) -> dict[str, Any]:
    """JSON schema of a type of the kubernetes client's models; unknown keys refused."""
    scalars = {"str": "string", "int": "integer", "bool": "boolean", "float": "number",
               "datetime": "string"}
    if type_name in scalars:
        return {"type": scalars[type_name]}
    if type_name == "object":  # IntOrString, Quantity, raw extensions
        return {}
    if match := re.fullmatch(r"list\[(.+)\]", type_name):
        return {"type": "array", "items": _k8s_type(match[1], definitions)}
    if match := re.fullmatch(r"dict\[str, (.+)\]", type_name):
        return {"type": "object", "additionalProperties": _k8s_type(match[1], definitions)}
    if type_name not in definitions:
        model = getattr(kubernetes.client, type_name)
        definitions[type_name] = schema = {}
        schema.update({
            "type": "object",
            "additionalProperties": False,
            "properties": {
                model.attribute_map[attr]: _k8s_type(attr_type, definitions)
                for attr, attr_type in model.openapi_types.items()
            },
        })
    return {"$ref": f"#/definitions/{type_name}"}


def _k8s_document(names: set[str]) -> dict[str, Any]:
    """The document behind K8S_DEFINITIONS, for the names the chart's schema refers to."""
    definitions: dict[str, Any] = {}
    aliases = {}
    for name in names:  # io.k8s.api.core.v1.Volume -> kubernetes.client.V1Volume
        model = "V1" + name.rsplit(".", 1)[1]
        _k8s_type(model, definitions)
        aliases[name] = definitions[model]
    return {"definitions": {**definitions, **aliases}}


def _remote_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith(K8S_DEFINITIONS + "#/definitions/"):
            yield ref.split("#/definitions/", 1)[1].split("/", 1)[0]
        for value in node.values():
            yield from _remote_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _remote_names(item)


def _chart_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def _validator(schema: Mapping[str, Any]) -> jsonschema.Draft7Validator:
    """Draft 7, as helm's validator reads a schema with no $schema; nothing is fetched."""
    document = _k8s_document(set(_remote_names(_chart_schema())))

    def retrieve(uri: str) -> Resource:
        if uri != K8S_DEFINITIONS:
            raise NoSuchResource(ref=uri)
        return Resource.from_contents(document, default_specification=DRAFT7)

    return jsonschema.Draft7Validator(schema, registry=Registry(retrieve=retrieve))


def _without_required(node: Any) -> Any:
    """The schema with its `required` lists dropped, except the chart's if/then conditions.

    helm validates the values merged onto the chart's defaults; the defaults are not here,
    so the keys we set are checked and the keys we leave to the defaults are not asked for.
    """
    if isinstance(node, dict):
        return {
            key: value if key == "then" else _without_required(value)
            for key, value in node.items()
            if not (key == "required" and isinstance(value, list))
        }
    if isinstance(node, list):
        return [_without_required(item) for item in node]
    return node


def _strict(node: Any) -> Any:
    """The schema with every object that lists its properties closed to other keys.

    Most of the chart's models allow extra keys (a misspelled key is then silently ignored by
    the templates); this is how a misspelling is caught where the chart's schema does not.
    """
    if isinstance(node, dict):
        out = {key: _strict(value) for key, value in node.items()}
        if out.get("properties") and "additionalProperties" not in out and "$ref" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


def _errors(validator: jsonschema.Draft7Validator, values: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(values)
    ]


def _chart_errors(values: Mapping[str, Any], strict: bool = False) -> list[str]:
    values = _coalesced(values)
    schema = _without_required(_chart_schema())
    if strict:
        values = {key: value for key, value in values.items() if key != "concurrency"}
        schema = _strict(schema)
    errors = _errors(_validator(schema), values)
    if "concurrency" in values:
        errors += _errors(jsonschema.Draft7Validator(CONCURRENCY_SCHEMA), values["concurrency"])
    return errors


def _k8s_errors(manifest: Mapping[str, Any], model: str) -> list[str]:
    definitions: dict[str, Any] = {}
    root = _k8s_type(model, definitions)
    return _errors(jsonschema.Draft7Validator({**root, "definitions": definitions}), manifest)


# ---------------------------------------------------------------------------------------------
# The instance config the chart renders (templates/configmap-instance.yaml and
# templates/helpers/instance/*.tpl), for the keys values.yaml sets


def _postgres_config(values: Mapping[str, Any]) -> dict[str, Any]:  # _postgresql.tpl
    pg = values["postgresql"]
    host = f"{RELEASE}-postgresql" if pg["enabled"] else pg["postgresqlHost"]
    db = {
        "username": pg["postgresqlUsername"],
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": host,
        "db_name": pg["postgresqlDatabase"],
        "port": pg["service"]["port"],
        "params": pg["postgresqlParams"],
    }
    if pg.get("postgresqlScheme"):
        db["scheme"] = pg["postgresqlScheme"]
    return {"postgres_db": db}


def _run_launcher(values: Mapping[str, Any]) -> dict[str, Any]:  # _run-launcher.tpl, k8s
    launcher = values["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    k8s = launcher["config"]["k8sRunLauncher"]
    config: dict[str, Any] = {"load_incluster_config": k8s["loadInclusterConfig"]}
    if k8s.get("kubeconfigFile"):
        config["kubeconfig_file"] = k8s["kubeconfigFile"]
    config["job_namespace"] = k8s.get("jobNamespace") or NAMESPACE
    config["image_pull_policy"] = k8s["imagePullPolicy"]
    if values.get("imagePullSecrets"):
        config["image_pull_secrets"] = values["imagePullSecrets"]
    config["service_account_name"] = _service_account(values)
    if "image" in k8s:
        config["job_image"] = f"{k8s['image']['repository']}:{k8s['image']['tag']}"
    config["dagster_home"] = values["global"]["dagsterHome"]
    config["instance_config_map"] = f"{_fullname()}-instance"
    config["postgres_password_secret"] = _postgres_secret(values)
    for key, field in (("envConfigMaps", "env_config_maps"), ("envSecrets", "env_secrets")):
        if k8s.get(key):
            config[field] = [source["name"] for source in k8s[key] if "name" in source]
    for key, field in (("envVars", "env_vars"), ("volumeMounts", "volume_mounts"),
                       ("volumes", "volumes"), ("labels", "labels"), ("resources", "resources"),
                       ("securityContext", "security_context")):
        if k8s.get(key):
            config[field] = k8s[key]
    if k8s.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    if k8s.get("schedulerName"):
        config["scheduler_name"] = k8s["schedulerName"]
    if k8s.get("runK8sConfig"):
        config["run_k8s_config"] = {
            re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), key): value
            for key, value in k8s["runK8sConfig"].items() if value
        }
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def _run_coordinator(values: Mapping[str, Any]) -> dict[str, Any]:  # _run-coordinator.tpl
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator"
    queued = coordinator["config"].get("queuedRunCoordinator", {})
    rendered: dict[str, Any] = {"module": "dagster.core.run_coordinator",
                                "class": "QueuedRunCoordinator"}
    config = {}
    # 1.13 leaves max_concurrent_runs out when the concurrency block owns it.
    if "maxConcurrentRuns" in queued or not values.get("concurrency", {}).get("enabled"):
        config["max_concurrent_runs"] = queued.get("maxConcurrentRuns", -1)
    for key, field in (("tagConcurrencyLimits", "tag_concurrency_limits"),
                       ("dequeueIntervalSeconds", "dequeue_interval_seconds"),
                       ("dequeueUseThreads", "dequeue_use_threads"),
                       ("dequeueNumWorkers", "dequeue_num_workers")):
        if queued.get(key):
            config[field] = queued[key]
    if any(value is not None for value in queued.values()):
        rendered["config"] = config
    return rendered


def _concurrency(values: Mapping[str, Any]) -> dict[str, Any]:  # _concurrency.tpl
    concurrency = values["concurrency"]
    pools, runs = concurrency.get("pools", {}), concurrency.get("runs", {})
    rendered: dict[str, Any] = {}
    pool_fields = (("defaultLimit", "default_limit"), ("granularity", "granularity"),
                   ("opGranularityRunBuffer", "op_granularity_run_buffer"))
    if any(key in pools for key, _ in pool_fields):
        rendered["pools"] = {field: pools[key] for key, field in pool_fields if key in pools}
    if "maxConcurrentRuns" in runs or runs.get("tagConcurrencyLimits"):
        rendered["runs"] = {}
        if "maxConcurrentRuns" in runs:
            rendered["runs"]["max_concurrent_runs"] = runs["maxConcurrentRuns"]
        if runs.get("tagConcurrencyLimits"):
            rendered["runs"]["tag_concurrency_limits"] = runs["tagConcurrencyLimits"]
    return rendered


def _instance_yaml(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the blocks the chart renders itself, additionalInstanceConfig appended after them)."""
    values = _coalesced(values)
    daemon = values["dagsterDaemon"]
    storage = {"config": _postgres_config(values)}
    rendered: dict[str, Any] = {
        "schedule_storage": {"module": "dagster_postgres.schedule_storage",
                             "class": "PostgresScheduleStorage", **storage},
        "run_launcher": _run_launcher(values),
        "run_storage": {"module": "dagster_postgres.run_storage",
                        "class": "PostgresRunStorage", **storage},
        "event_log_storage": {"module": "dagster_postgres.event_log",
                              "class": "PostgresEventLogStorage", **storage},
    }
    if daemon.get("enabled", True) and daemon["runCoordinator"]["enabled"]:
        rendered["run_coordinator"] = _run_coordinator(values)
    monitoring = daemon.get("runMonitoring", {})
    if monitoring.get("enabled"):
        rendered["run_monitoring"] = {"enabled": True, **{
            field: monitoring[key] for key, field in (
                ("startTimeoutSeconds", "start_timeout_seconds"),
                ("cancelTimeoutSeconds", "cancel_timeout_seconds"),
                ("maxResumeRunAttempts", "max_resume_run_attempts"),
                ("pollIntervalSeconds", "poll_interval_seconds"),
                ("freeSlotsAfterRunEndSeconds", "free_slots_after_run_end_seconds"))
            if key in monitoring}}
    retries = daemon.get("runRetries", {})
    if retries.get("enabled"):
        rendered["run_retries"] = {"enabled": True}
        if retries.get("maxRetries"):
            rendered["run_retries"]["max_retries"] = retries["maxRetries"]
    rendered["telemetry"] = {"enabled": values["telemetry"]["enabled"]}
    if values.get("concurrency", {}).get("enabled"):
        rendered["concurrency"] = _concurrency(values)
    return rendered, dict(values.get("additionalInstanceConfig") or {})


def _dagster_yaml(values: Mapping[str, Any]) -> dict[str, Any]:
    rendered, additional = _instance_yaml(values)
    return {**rendered, **additional}


def _settings(instance: dg.DagsterInstance) -> dict[str, Any]:
    """What ECL relies on, as the instance reads its config."""
    concurrency = instance.get_concurrency_config()
    return {
        "run_coordinator": type(instance.run_coordinator).__name__,
        "max_concurrent_runs": concurrency.run_queue_config.max_concurrent_runs
        if concurrency.run_queue_config else None,
        "default_pool_limit": concurrency.pool_config.default_pool_limit,
        "run_retries": instance.run_retries_enabled,
        "run_retries_max": instance.run_retries_max_retries,
        "run_monitoring": instance.run_monitoring_enabled,
        "start_timeout": instance.run_monitoring_start_timeout_seconds,
        "max_runtime": instance.run_monitoring_max_runtime_seconds,
        "poll_interval": instance.run_monitoring_poll_interval_seconds,
        "telemetry": instance.telemetry_enabled,
    }


def _without_storage(config: Mapping[str, Any]) -> dict[str, Any]:
    storage = {"storage", "run_storage", "event_log_storage", "schedule_storage", "run_launcher"}
    return {key: value for key, value in config.items() if key not in storage}


# ---------------------------------------------------------------------------------------------
# The run worker's Job, as dagster-k8s builds it


def _container_context(values: Mapping[str, Any]) -> dict[str, Any]:
    """The subchart's dagsterUserDeployments.k8sContainerContext (helpers/_helpers.tpl)."""
    values = _coalesced(values)
    deployment = _deployment(values)
    user_fullname = _fullname(SUBCHART)
    k8s: dict[str, Any] = {"image_pull_policy": deployment["image"]["pullPolicy"]}
    if values.get("imagePullSecrets"):
        k8s["image_pull_secrets"] = values["imagePullSecrets"]
    k8s["env_config_maps"] = [f"{user_fullname}-{deployment['name']}-user-env"] + [
        source["name"] for source in deployment.get("envConfigMaps", []) if "name" in source]
    if deployment.get("envSecrets"):
        k8s["env_secrets"] = [s["name"] for s in deployment["envSecrets"] if "name" in s]
    for key, field in (("volumeMounts", "volume_mounts"), ("volumes", "volumes"),
                       ("labels", "labels"), ("resources", "resources"),
                       ("schedulerName", "scheduler_name")):
        if deployment.get(key):
            k8s[field] = deployment[key]
    k8s["namespace"] = NAMESPACE
    k8s["service_account_name"] = (
        values["global"].get("serviceAccountName") or f"{user_fullname}-user-deployments")
    if isinstance(deployment.get("env"), list):
        k8s["env"] = deployment["env"]
    k8s["run_k8s_config"] = {"pod_spec_config": {"automount_service_account_token": True}}
    return {"k8s": k8s}


@pytest.fixture
def no_cluster(monkeypatch):
    """In a pod, load_incluster_config reads the service account token; here there is none."""
    monkeypatch.setattr(kubernetes.config, "load_incluster_config", lambda: None)


def _launcher(values: Mapping[str, Any]) -> K8sRunLauncher:
    block = _dagster_yaml(values)["run_launcher"]
    data = ConfigurableClassData(block["module"], block["class"], yaml.safe_dump(block["config"]))
    return data.rehydrate(as_type=K8sRunLauncher)


def _run_job(values: Mapping[str, Any]) -> dict[str, Any]:
    """The Job of a run of the code location, serialized as the Kubernetes API gets it."""
    launcher = _launcher(values)
    deployment = _deployment(values)
    include = deployment.get("includeConfigInLaunchedRuns", {"enabled": True})["enabled"]
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    origin = JobPythonOrigin("critique_revise", RepositoryPythonOrigin(
        executable_path="/usr/local/bin/python",
        code_pointer=ModuleCodePointer("ecl_dagster", "defs", working_directory=None),
        container_image=image,
        container_context=_container_context(values) if include else None,
    ))
    run = dg.DagsterRun(job_name="critique_revise", run_id="0" * 36, job_code_origin=origin)
    context = launcher.get_container_context_for_run(run)
    job = construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(job_image=image, run_launcher=launcher),
        args=["dagster", "api", "execute_run", "{}"],
        job_name="dagster-run-00000000",
        user_defined_k8s_config=context.run_k8s_config,
        component="run_worker",
    )
    assert context.namespace == NAMESPACE
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)


# ---------------------------------------------------------------------------------------------
# (1) The values against the chart's schema


def test_the_vendored_schema_is_the_charts():
    schema = _chart_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["title"] == "DagsterHelmValues"
    assert {"dagster-user-deployments", "runLauncher", "dagsterDaemon", "postgresql",
            "additionalInstanceConfig"} <= set(schema["properties"])


def test_the_values_validate_against_the_charts_schema():
    assert _chart_errors(_values()) == []


def test_every_key_set_is_one_the_chart_knows():
    assert _chart_errors(_values(), strict=True) == []


def _rename(path: str, new: str) -> Callable[[dict[str, Any]], None]:
    *parents, old = path.split("/")

    def mutate(values: dict[str, Any]) -> None:
        node: Any = values
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[new] = node.pop(old)

    return mutate


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split("/")

    def mutate(values: dict[str, Any]) -> None:
        node: Any = values
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value

    return mutate


DEPLOYMENT = f"{SUBCHART}/deployments/0"


@pytest.mark.parametrize(("mutate", "strict"), [
    # The chart's schema closes these objects itself (additionalProperties: false).
    pytest.param(_rename("runLauncher/config/k8sRunLauncher/loadInclusterConfig",
                         "loadInClusterConfig"), False, id="k8sRunLauncher-key"),
    pytest.param(_rename("dagsterDaemon/runRetries", "runRetry"), False, id="daemon-key"),
    pytest.param(_set("runLauncher/type", "K8SRunLauncher"), False, id="launcher-type"),
    pytest.param(_set(f"{DEPLOYMENT}/port", "4000"), False, id="port-type"),
    # Kubernetes objects, through the definitions the schema refers to.
    pytest.param(_rename(f"{DEPLOYMENT}/volumes/0/persistentVolumeClaim/claimName",
                         "claimname"), False, id="volume-key"),
    pytest.param(_rename(f"{DEPLOYMENT}/volumeMounts/0/mountPath", "mountpath"), False,
                 id="volume-mount-key"),
    pytest.param(_set(f"{DEPLOYMENT}/envSecrets", [{"secretName": "ecl-anthropic"}]), False,
                 id="env-secret-key"),
    # The 1.13 chart's concurrency model.
    pytest.param(_rename("concurrency/pools/defaultLimit", "defaultlimit"), False,
                 id="concurrency-key"),
    # Objects the chart leaves open: the strict check refuses what the templates would ignore.
    pytest.param(_rename(f"{DEPLOYMENT}/codeServerArgs", "codeServerArg"), True,
                 id="user-deployment-key"),
    pytest.param(_rename("global/postgresqlSecretName", "postgresSecretName"), True,
                 id="global-key"),
    pytest.param(_rename("postgresql/postgresqlScheme", "postgresqlSchema"), True,
                 id="postgresql-key"),
])
def test_a_misspelled_or_mistyped_value_is_refused(mutate, strict):
    values = _values()
    mutate(values)
    assert _chart_errors(values, strict=strict)


# ---------------------------------------------------------------------------------------------
# (2) The run launcher, through dagster-k8s


def test_the_run_launcher_loads_through_dagster_k8s(no_cluster):
    values = _values()
    launcher = _launcher(values)
    assert isinstance(launcher, K8sRunLauncher)
    assert launcher.job_namespace == NAMESPACE
    assert launcher.dagster_home == values["global"]["dagsterHome"]
    assert launcher.instance_config_map == f"{_fullname()}-instance"
    assert launcher.postgres_password_secret == values["global"]["postgresqlSecretName"]
    assert launcher.service_account_name == values["serviceAccount"]["name"]
    assert launcher.image_pull_policy == "IfNotPresent"


def test_a_wrong_run_launcher_field_is_refused_by_dagster_k8s(no_cluster):
    values = _values()
    values["runLauncher"]["config"]["k8sRunLauncher"]["imagePullPolicy"] = ["IfNotPresent"]
    with pytest.raises(dg.DagsterInvalidConfigError):
        _launcher(values)


def test_the_code_server_runs_the_compose_command():
    values = _values()
    deployment = _deployment(values)
    assert "dagsterApiGrpcArgs" not in deployment  # else the chart runs `dagster api grpc`
    # deployment-user.yaml: args: [dagster, code-server, start, -h, 0.0.0.0, -p, port, *args]
    chart = ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", str(deployment["port"]),
             *deployment["codeServerArgs"]]
    compose = services.code_server("0.0.0.0", deployment["port"])

    def options(argv: list[str]) -> tuple[list[str], dict[str, str]]:
        rest = argv[3:]
        return argv[:3], dict(zip(rest[::2], rest[1::2], strict=True))

    assert options(chart) == options(compose)
    assert deployment["name"] == launching.LOCATION_NAME  # the chart's location_name


def test_a_run_worker_gets_the_volume_the_key_and_the_database(no_cluster):
    values = _values()
    job = _run_job(values)
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    names = [volume["name"] for volume in pod["volumes"]]
    assert len(names) == len(set(names)), f"a volume twice in the run's pod: {names}"
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    claim = _one("PersistentVolumeClaim")["metadata"]["name"]
    assert volumes["ecl-shared"]["persistentVolumeClaim"]["claimName"] == claim
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    storage = _storage_directory(values["global"]["dagsterHome"])
    assert mounts[storage]["name"] == "ecl-shared" and not mounts[storage].get("readOnly")
    env = {item["name"]: item for item in container["env"]}
    assert env["DAGSTER_HOME"]["value"] == values["global"]["dagsterHome"]
    assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": values["global"]["postgresqlSecretName"], "key": "postgresql-password"}
    secrets = [source["secretRef"]["name"] for source in container["envFrom"]
               if "secretRef" in source]
    assert "ecl-anthropic" in secrets
    assert not any("ANTHROPIC" in name for name in env)
    assert container["image"] == "registry.example.com/ecl:0.1.0"


def _storage_directory(dagster_home: str) -> str:
    """Where an instance whose DAGSTER_HOME is ``dagster_home`` keeps step outputs."""
    return posixpath.join(dagster_home, "storage")


def test_step_outputs_go_to_the_instances_storage_directory(tmp_path):
    """The IO manager has no base_dir, so it writes under the instance's storage directory."""
    from ecl_dagster.definitions import defs

    assert defs.resources["io_manager"].base_dir is None
    (tmp_path / "dagster.yaml").write_text("")
    storage = InstanceRef.from_dir(str(tmp_path)).local_artifact_storage.storage_dir
    assert Path(storage) == Path(_storage_directory(str(tmp_path)))


# ---------------------------------------------------------------------------------------------
# (3) The API's manifests


def test_the_api_manifests_are_kubernetes_objects():
    models = {"PersistentVolumeClaim": "V1PersistentVolumeClaim", "ConfigMap": "V1ConfigMap",
              "Deployment": "V1Deployment", "Service": "V1Service"}
    manifests = _manifests()
    assert sorted(doc["kind"] for doc in manifests) == sorted(models)
    for doc in manifests:
        assert _k8s_errors(doc, models[doc["kind"]]) == [], doc["kind"]


def test_a_misspelled_manifest_field_is_refused():
    deployment = copy.deepcopy(_one("Deployment"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGET"] = container["readinessProbe"].pop("httpGet")
    assert _k8s_errors(deployment, "V1Deployment")


def _api_container() -> dict[str, Any]:
    (container,) = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def _port(container: Mapping[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return number


def test_the_api_runs_ecl_server_start_with_its_probes_and_metrics():
    container = _api_container()
    assert container["command"] == [
        "ecl", "server", "start", "--host", "0.0.0.0", "--port", "8080"]
    assert _port(container, "http") == 8080
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert _port(container, container[probe]["httpGet"]["port"]) == 8080, probe
    template = _one("Deployment")["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == 8080
    service = _one("Service")
    assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert _port(container, port["targetPort"]) == 8080


def test_the_api_uses_the_charts_instance_and_the_code_locations_service(tmp_path):
    values = _values()
    deployment = _deployment(values)
    container = _api_container()
    pod = _one("Deployment")["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    env = {item["name"]: item for item in container["env"]}
    home = values["global"]["dagsterHome"]
    assert env["DAGSTER_HOME"]["value"] == home
    # The chart's instance ConfigMap at $DAGSTER_HOME/dagster.yaml.
    instance = mounts[posixpath.join(home, "dagster.yaml")]
    assert volumes[instance["name"]]["configMap"]["name"] == f"{_fullname()}-instance"
    assert instance["subPath"] == "dagster.yaml"
    assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": values["global"]["postgresqlSecretName"], "key": "postgresql-password"}
    # The workspace where ecl_dagster.runs.launching looks for a deployment's.
    (tmp_path / "workspace.yaml").write_text("load_from: []\n")
    name = launching.workspace_file(tmp_path).name
    workspace = mounts[posixpath.join(home, name)]
    config_map = _one("ConfigMap")
    assert volumes[workspace["name"]]["configMap"]["name"] == config_map["metadata"]["name"]
    loaded = yaml.safe_load(config_map["data"][workspace["subPath"]])
    assert process_config(WORKSPACE_CONFIG_SCHEMA, loaded).success
    (entry,) = loaded["load_from"]
    # templates/configmap-workspace.yaml: host and location_name are the deployment's name.
    assert entry["grpc_server"] == {
        "host": deployment["name"], "port": deployment["port"],
        "location_name": launching.LOCATION_NAME}
    # Step outputs: the same claim, at the instance's storage directory, read-only.
    storage = mounts[_storage_directory(home)]
    assert storage["readOnly"] is True
    claim = volumes[storage["name"]]["persistentVolumeClaim"]["claimName"]
    assert claim == _one("PersistentVolumeClaim")["metadata"]["name"]
    (shared,) = [m for m in deployment["volumeMounts"] if m["mountPath"] == storage["mountPath"]]
    assert shared["subPath"] == storage["subPath"]
    assert "ReadWriteMany" in _one("PersistentVolumeClaim")["spec"]["accessModes"]
    assert container["image"] == "{repository}:{tag}".format(**deployment["image"])
    assert pod["serviceAccountName"] == _service_account(values)


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _strings(item, f"{path}/{index}")
    elif isinstance(node, str):
        yield path, node


def test_no_secret_is_written_in_the_files():
    values = _values()
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["postgresql"]["postgresqlPassword"] == ""
    # Nothing that looks like an Anthropic key, an ECL API key or a password.
    for document in [values, *_manifests()]:
        for path, text in _strings(document):
            assert not re.search(r"sk-ant-|ecl_[A-Za-z0-9_-]{43}", text), path
    assert not any(doc["kind"] == "Secret" for doc in _manifests())
    # Secret-like variables come from Secrets, never as values.
    container = _api_container()
    for item in container["env"]:
        if SECRET_LIKE.search(item["name"]):
            assert "value" not in item and "secretKeyRef" in item["valueFrom"], item["name"]
    deployment = _deployment(values)
    assert not any(SECRET_LIKE.search(name) for name in deployment.get("env", {}))
    # The keys file is a file of a mounted Secret.
    env = {item["name"]: item for item in container["env"]}
    keys_file = env["ECL_API_KEYS_FILE"]["value"]
    volumes = {v["name"]: v for v in _one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    (mount,) = [m for m in container["volumeMounts"]
                if keys_file.startswith(m["mountPath"].rstrip("/") + "/")]
    secret = volumes[mount["name"]]["secret"]
    assert posixpath.relpath(keys_file, mount["mountPath"]) in {
        item["path"] for item in secret["items"]}


# ---------------------------------------------------------------------------------------------
# (4) The instance settings against deploy/postgres/dagster.yaml


def _ecl_dagster_yaml() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deploy" / "postgres" / "dagster.yaml").read_text())


def test_the_rendered_instance_config_loads(tmp_path, monkeypatch, no_cluster):
    rendered, additional = _instance_yaml(_values())
    # The chart appends additionalInstanceConfig after its own blocks: a key in both would
    # appear twice in dagster.yaml.
    assert not set(rendered) & set(additional)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump({**rendered, **additional}))
    config, _ = dagster_instance_config(str(tmp_path))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "not-a-password")
    for key, storage in (("run_storage", PostgresRunStorage),
                         ("event_log_storage", PostgresEventLogStorage),
                         ("schedule_storage", PostgresScheduleStorage)):
        assert process_config(storage.config_type(), config[key]["config"]).success, key
    assert config["run_storage"]["config"]["postgres_db"]["scheme"] == (
        _ecl_dagster_yaml()["storage"]["postgres"]["postgres_db"]["scheme"])


def test_the_instance_settings_match_deploy_postgres():
    ecl = _ecl_dagster_yaml()
    chart = _dagster_yaml(_values())
    for key in ("run_retries", "run_monitoring", "concurrency", "telemetry"):
        assert chart[key] == ecl[key], key
    assert chart["run_coordinator"]["class"] == ecl["run_coordinator"]["class"]
    with dg.instance_for_test(overrides=_without_storage(chart)) as from_chart, \
            dg.instance_for_test(overrides=_without_storage(ecl)) as from_ecl:
        assert _settings(from_chart) == _settings(from_ecl)
        assert _settings(from_chart)["default_pool_limit"] == 4
        assert _settings(from_chart)["run_monitoring"] and _settings(from_chart)["run_retries"]
