"""The one table of what the shim serves: Airflow module path -> names -> implementation.

Every path of Airflow 1.10, 2.x and 3.x that a DAG file imports for the supported surface is
listed here, and nothing else: a path or a name that is not here fails with a message that
says what to do (see :mod:`dagshift.compat.finder`). Implementations are ``module:attribute``
strings inside ``dagshift.compat``, loaded when the served module is first imported.
"""

from __future__ import annotations

__all__ = ["MODULE_ALIASES", "PATHS", "REEXPORTS"]

_DAG = {"DAG": "dag:DAG"}
_SDK_DAG = {"DAG": "dag:SdkDAG"}
_PYTHON = {
    "PythonOperator": "operators:PythonOperator",
    "BranchPythonOperator": "operators:BranchPythonOperator",
    "ShortCircuitOperator": "operators:ShortCircuitOperator",
    "get_current_context": "context:get_current_context",
}
_BASH = {"BashOperator": "operators:BashOperator"}
_EMPTY = {"EmptyOperator": "operators:EmptyOperator"}
_DUMMY = {"DummyOperator": "operators:DummyOperator", "EmptyOperator": "operators:EmptyOperator"}
_BRANCH = {"BaseBranchOperator": "operators:BaseBranchOperator"}
_SENSOR_BASE = {
    "BaseSensorOperator": "operators:BaseSensorOperator",
    "PokeReturnValue": "operators:PokeReturnValue",
}
_SUBDAG = {
    "SubDagOperator": "subdag:SubDagOperator",
    "SkippedStatePropagationOptions": "subdag:SkippedStatePropagationOptions",
}
_PYTHON_SENSOR = {"PythonSensor": "operators:PythonSensor"}
_BASH_SENSOR = {"BashSensor": "operators:BashSensor"}
_FILE_SENSOR = {"FileSensor": "operators:FileSensor"}
_TIME_DELTA = {"TimeDeltaSensor": "operators:TimeDeltaSensor"}
_DATE_TIME = {"DateTimeSensor": "operators:DateTimeSensor"}
_BASEOPERATOR = {
    "BaseOperator": "baseoperator:BaseOperator",
    "chain": "baseoperator:chain",
    "chain_linear": "baseoperator:chain_linear",
    "cross_downstream": "baseoperator:cross_downstream",
}
_TRIGGER_RULE = {"TriggerRule": "utils:TriggerRule"}
_TASK_GROUP = {"TaskGroup": "dag:TaskGroup"}
_SETUP_TEARDOWN = {"setup": "taskflow:setup", "teardown": "taskflow:teardown"}
_EXCEPTIONS = {
    name: f"exceptions:{name}"
    for name in (
        "AirflowException",
        "AirflowSkipException",
        "AirflowFailException",
        "AirflowSensorTimeout",
        "AirflowTaskTimeout",
        "AirflowNotFoundException",
        "AirflowDagCycleException",
        "DuplicateTaskIdFound",
        "ParamValidationError",
        "TaskDeferred",
    )
}
_MACROS = {
    "ds_add": "context:macros.ds_add",
    "ds_format": "context:macros.ds_format",
    "datetime_diff_for_humans": "context:macros.datetime_diff_for_humans",
    "datetime": "context:macros.datetime",
    "timedelta": "context:macros.timedelta",
    "json": "context:macros.json",
    "time": "context:macros.time",
    "uuid": "context:macros.uuid",
    "random": "context:macros.random",
    "dateutil": "context:macros.dateutil",
}

PATHS: dict[str, dict[str, str]] = {
    "airflow": {
        **_DAG,
        "XComArg": "baseoperator:XComArg",
        "macros": "@airflow.macros",
        "models": "@airflow.models",
        "__version__": "finder:AIRFLOW_VERSION",
    },
    "airflow.models": {
        **_DAG,
        **_BASEOPERATOR,
        "Variable": "variables:Variable",
        "Param": "params:Param",
        "XCom": "context:XCom",
        "XComArg": "baseoperator:XComArg",
        "TaskInstance": "context:TaskInstance",
        "DagRun": "context:DagRun",
    },
    "airflow.models.dag": {**_DAG, "dag": "dag:dag"},
    "airflow.models.baseoperator": _BASEOPERATOR,
    "airflow.models.param": {"Param": "params:Param", "ParamsDict": "params:ParamsDict"},
    "airflow.models.variable": {"Variable": "variables:Variable"},
    "airflow.models.xcom": {"XCom": "context:XCom", "XCOM_RETURN_KEY": "context:XCOM_RETURN_KEY"},
    "airflow.models.xcom_arg": {"XComArg": "baseoperator:XComArg"},
    "airflow.models.taskinstance": {"TaskInstance": "context:TaskInstance"},
    "airflow.models.dagrun": {"DagRun": "context:DagRun"},
    "airflow.models.skipmixin": {"SkipMixin": "context:SkipMixin"},
    # Operators, old and new module names
    "airflow.operators": {},
    "airflow.operators.python": {**_PYTHON, **_BRANCH},
    "airflow.operators.python_operator": _PYTHON,
    # Airflow 1.10 and 2.x only: Airflow 3 has no SubDagOperator (the shim says so at load).
    "airflow.operators.subdag": _SUBDAG,
    "airflow.operators.subdag_operator": _SUBDAG,
    "airflow.operators.bash": _BASH,
    "airflow.operators.bash_operator": _BASH,
    "airflow.operators.empty": _EMPTY,
    "airflow.operators.dummy": _DUMMY,
    "airflow.operators.dummy_operator": _DUMMY,
    "airflow.operators.branch": _BRANCH,
    "airflow.operators.branch_operator": _BRANCH,
    "airflow.providers": {},
    "airflow.providers.standard": {},
    "airflow.providers.standard.operators": {},
    "airflow.providers.standard.operators.python": _PYTHON,
    "airflow.providers.standard.operators.bash": _BASH,
    "airflow.providers.standard.operators.empty": _EMPTY,
    "airflow.providers.standard.operators.branch": _BRANCH,
    "airflow.providers.standard.sensors": {},
    "airflow.providers.standard.sensors.python": _PYTHON_SENSOR,
    "airflow.providers.standard.sensors.bash": _BASH_SENSOR,
    "airflow.providers.standard.sensors.filesystem": _FILE_SENSOR,
    "airflow.providers.standard.sensors.time_delta": _TIME_DELTA,
    "airflow.providers.standard.sensors.date_time": _DATE_TIME,
    "airflow.providers.standard.utils": {},
    "airflow.providers.standard.utils.python": {},
    "airflow.providers.standard.utils.weekday": {"WeekDay": "utils:WeekDay"},
    # Sensors
    "airflow.sensors": {},
    "airflow.sensors.base": _SENSOR_BASE,
    "airflow.sensors.base_sensor_operator": _SENSOR_BASE,
    "airflow.sensors.python": _PYTHON_SENSOR,
    "airflow.sensors.bash": _BASH_SENSOR,
    "airflow.sensors.bash_sensor": _BASH_SENSOR,
    "airflow.sensors.filesystem": _FILE_SENSOR,
    "airflow.sensors.time_delta": _TIME_DELTA,
    "airflow.sensors.time_delta_sensor": _TIME_DELTA,
    "airflow.sensors.date_time": _DATE_TIME,
    "airflow.contrib": {},
    "airflow.contrib.sensors": {},
    "airflow.contrib.sensors.python_sensor": _PYTHON_SENSOR,
    "airflow.contrib.sensors.bash_sensor": _BASH_SENSOR,
    "airflow.contrib.sensors.file_sensor": _FILE_SENSOR,
    # TaskFlow and the Airflow 3 task SDK
    "airflow.decorators": {
        "dag": "dag:dag",
        "task": "taskflow:task",
        "task_group": "taskflow:task_group",
        **_SETUP_TEARDOWN,
    },
    "airflow.decorators.setup_teardown": {
        "setup_task": "taskflow:setup",
        "teardown_task": "taskflow:teardown",
    },
    "airflow.sdk": {
        **_SDK_DAG,
        **_BASEOPERATOR,
        **_SENSOR_BASE,
        **_TASK_GROUP,
        **_TRIGGER_RULE,
        "dag": "dag:sdk_dag",
        "task": "taskflow:task",
        "task_group": "taskflow:task_group",
        **_SETUP_TEARDOWN,
        "Variable": "variables:Variable",
        "Param": "params:Param",
        "XComArg": "baseoperator:XComArg",
        "Label": "baseoperator:Label",
        "get_current_context": "context:get_current_context",
        "Context": "context:Context",
    },
    # The common.compat provider re-exports the task SDK for code that runs on 2.x and 3.x.
    "airflow.providers.common": {},
    "airflow.providers.common.compat": {},
    "airflow.providers.common.compat.sdk": "airflow.sdk",  # type: ignore[dict-item]
    "airflow.sdk.definitions": {},
    "airflow.sdk.definitions.param": {"Param": "params:Param"},
    "airflow.sdk.definitions.taskgroup": _TASK_GROUP,
    "airflow.sdk.bases": {},
    "airflow.sdk.bases.operator": _BASEOPERATOR,
    "airflow.sdk.bases.sensor": _SENSOR_BASE,
    "airflow.sdk.exceptions": _EXCEPTIONS,
    # Utilities
    "airflow.utils": {},
    "airflow.utils.dates": {"days_ago": "utils:days_ago"},
    "airflow.utils.weekday": {"WeekDay": "utils:WeekDay"},
    "airflow.utils.trigger_rule": _TRIGGER_RULE,
    "airflow.utils.task_group": _TASK_GROUP,
    "airflow.utils.helpers": {
        "chain": "baseoperator:chain",
        "cross_downstream": "baseoperator:cross_downstream",
    },
    "airflow.utils.context": {
        "Context": "context:Context",
        "get_current_context": "context:get_current_context",
    },
    "airflow.utils.state": {
        "State": "utils:State",
        "TaskInstanceState": "utils:TaskInstanceState",
        "DagRunState": "utils:DagRunState",
    },
    "airflow.utils.edgemodifier": {"Label": "baseoperator:Label"},
    "airflow.utils.decorators": {"apply_defaults": "utils:apply_defaults"},
    "airflow.utils.timezone": {
        "utcnow": "utils:utcnow",
        "make_aware": "utils:make_aware",
        "datetime": "utils:tz_datetime",
        "parse": "utils:parse",
        "coerce_datetime": "utils:coerce_datetime",
    },
    "airflow.exceptions": _EXCEPTIONS,
    "airflow.macros": _MACROS,
}

# ---- Scheduling beyond the clock: timetables, assets/datasets (issue 16) ----
_TT = "timetables:"
_TIMETABLE_BASE = {
    n: _TT + n for n in ("DagRunInfo", "DataInterval", "TimeRestriction", "Timetable")
}
_TIMETABLE_INTERVAL = {
    n: _TT + n for n in ("CronDataIntervalTimetable", "DeltaDataIntervalTimetable")
}
_TIMETABLE_TRIGGER = {
    n: _TT + n
    for n in ("CronTriggerTimetable", "DeltaTriggerTimetable", "MultipleCronTriggerTimetable")
}
_TIMETABLE_EVENTS = {"EventsTimetable": _TT + "EventsTimetable"}
_TIMETABLE_SIMPLE = {n: _TT + n for n in ("NullTimetable", "OnceTimetable", "ContinuousTimetable")}
_ASSETS = {
    n: f"assets:{n}" for n in ("Asset", "AssetAlias", "AssetAll", "AssetAny", "AssetWatcher")
}
_DATASETS = {n: f"assets:{n}" for n in ("Dataset", "DatasetAlias", "DatasetAll", "DatasetAny")}
_METADATA = {"Metadata": "assets:Metadata"}
PATHS.update(
    {
        "airflow.timetables": {},
        "airflow.timetables.base": _TIMETABLE_BASE,
        "airflow.timetables.interval": _TIMETABLE_INTERVAL,
        "airflow.timetables.trigger": _TIMETABLE_TRIGGER,
        "airflow.timetables.events": _TIMETABLE_EVENTS,
        "airflow.timetables.simple": _TIMETABLE_SIMPLE,
        "airflow.timetables.assets": {"AssetOrTimeSchedule": _TT + "AssetOrTimeSchedule"},
        "airflow.timetables.datasets": {"DatasetOrTimeSchedule": _TT + "DatasetOrTimeSchedule"},
        "airflow.sdk.definitions.timetables": {},
        "airflow.sdk.definitions.timetables.interval": _TIMETABLE_INTERVAL,
        "airflow.sdk.definitions.timetables.trigger": _TIMETABLE_TRIGGER,
        "airflow.sdk.definitions.timetables.events": _TIMETABLE_EVENTS,
        "airflow.sdk.definitions.timetables.simple": _TIMETABLE_SIMPLE,
        "airflow.sdk.definitions.timetables.assets": {
            "AssetOrTimeSchedule": _TT + "AssetOrTimeSchedule"
        },
        "airflow.datasets": _DATASETS,
        "airflow.datasets.metadata": _METADATA,
        "airflow.sdk.definitions.asset": _ASSETS,
        "airflow.sdk.definitions.asset.metadata": _METADATA,
    }
)
PATHS["airflow.sdk"].update(
    {
        **_ASSETS,
        **_METADATA,
        **_TIMETABLE_INTERVAL,
        **_TIMETABLE_TRIGGER,
        **_TIMETABLE_EVENTS,
        "AssetOrTimeSchedule": _TT + "AssetOrTimeSchedule",
    }
)
_LATEST_ONLY = {"LatestOnlyOperator": "external:LatestOnlyOperator"}
PATHS.update(
    {
        "airflow.operators.latest_only": _LATEST_ONLY,
        "airflow.operators.latest_only_operator": _LATEST_ONLY,
        "airflow.providers.standard.operators.latest_only": _LATEST_ONLY,
    }
)
_TRIGGER = {"TriggerDagRunOperator": "external:TriggerDagRunOperator"}
PATHS.update(
    {
        "airflow.operators.trigger_dagrun": _TRIGGER,
        "airflow.operators.dagrun_operator": _TRIGGER,
        "airflow.providers.standard.operators.trigger_dagrun": _TRIGGER,
    }
)
_EXTERNAL = {
    "ExternalTaskSensor": "external:ExternalTaskSensor",
    "ExternalTaskMarker": "external:ExternalTaskMarker",
}
PATHS.update(
    {
        "airflow.sensors.external_task": _EXTERNAL,
        "airflow.sensors.external_task_sensor": _EXTERNAL,
        "airflow.providers.standard.sensors.external_task": _EXTERNAL,
    }
)
PATHS.update(
    {
        "airflow.providers.standard.triggers": {},
        "airflow.providers.standard.triggers.file": {
            "FileDeleteTrigger": "assets:FileDeleteTrigger",
            "DirectoryFileDeleteTrigger": "assets:DirectoryFileDeleteTrigger",
        },
    }
)
# ---- end of scheduling beyond the clock ----

# --- Hooks and connections (BaseHook is the shim's own: connections from the environment and
# dagshift's connections file; provider hooks go through the bridge) ---
_HOOK = {"BaseHook": "hooks:BaseHook"}
_CONNECTION = {"Connection": "connections:Connection"}
PATHS.update(
    {
        "airflow.hooks": {},
        "airflow.hooks.base": _HOOK,
        "airflow.hooks.base_hook": _HOOK,
        "airflow.sdk.bases.hook": _HOOK,
        "airflow.models.connection": _CONNECTION,
        "airflow.sdk.definitions.connection": _CONNECTION,
    }
)
PATHS["airflow.models"].update(_CONNECTION)
PATHS["airflow.sdk"].update({**_HOOK, **_CONNECTION})

# --- Configuration, settings and the metadata database (no database: a query fails with what
# to do; see compat/orm.py) ---
_CONFIGURATION = {
    "conf": "configuration:conf",
    "AIRFLOW_HOME": "configuration:AIRFLOW_HOME",
    "AIRFLOW_CONFIG": "configuration:AIRFLOW_CONFIG",
    "AirflowConfigParser": "configuration:AirflowConfigParser",
    "get_airflow_home": "configuration:get_airflow_home",
    "get_airflow_config": "configuration:get_airflow_config",
}
_SETTINGS = {
    name: f"settings:{name}"
    for name in (
        "AIRFLOW_HOME",
        "CAN_FORK",
        "DAGS_FOLDER",
        "LOG_FORMAT",
        "LOGGING_LEVEL",
        "PLUGINS_FOLDER",
        "SIMPLE_LOG_FORMAT",
        "SQL_ALCHEMY_CONN",
        "Session",
        "TIMEZONE",
        "engine",
    )
}
_SETTINGS["conf"] = "configuration:conf"
_MODELS = {"DagModel": "orm:DagModel", "ImportError": "orm:ImportError"}
PATHS.update(
    {
        "airflow.configuration": _CONFIGURATION,
        "airflow.settings": _SETTINGS,
        "airflow.sdk.configuration": {"conf": "configuration:conf"},
        "airflow.models.errors": {
            "ImportError": "orm:ImportError",
            "ParseImportError": "orm:ImportError",
        },
        "airflow.utils.session": {
            "provide_session": "orm:provide_session",
            "create_session": "orm:create_session",
            "NEW_SESSION": "orm:NEW_SESSION",
        },
    }
)
PATHS["airflow"].update(
    {"settings": "@airflow.settings", "configuration": "@airflow.configuration"}
)
PATHS["airflow.models"].update(_MODELS)
PATHS["airflow.models.dag"].update({"DagModel": "orm:DagModel"})
PATHS["airflow.sdk"].update({"conf": "configuration:conf"})
# Plugins (the folder is loaded by install(), see plugins.py); airflow.example_dags.* is run from
# the installed Airflow's files by the finder.
PATHS["airflow.plugins_manager"] = {
    "AirflowPlugin": "plugins:AirflowPlugin",
    "AirflowPluginException": "plugins:AirflowPluginException",
}
# @asset / @asset.multi (Airflow 3): an asset defined by a function, with its DAG
PATHS["airflow.sdk"]["asset"] = "asset_decorator:asset"
PATHS["airflow.sdk.definitions.asset.decorators"] = {
    n: f"asset_decorator:{n}" for n in ("asset", "AssetDefinition", "MultiAssetDefinition")
}
# Airflow 3's timezone module (a submodule of the task SDK, also re-exported by common.compat)
PATHS["airflow.sdk"]["timezone"] = "@airflow.sdk.timezone"
PATHS["airflow.sdk.timezone"] = {
    name: f"timezone:{name}"
    for name in (
        "coerce_datetime",
        "convert_to_utc",
        "datetime",
        "from_timestamp",
        "initialize",
        "make_naive",
        "parse",
        "utc",
        "utcnow",
    )
}
# retry policies (Airflow 3.3): a task's failure decided from its exception
_RETRY_POLICY = {
    n: f"retry_policy:{n}"
    for n in ("ExceptionRetryPolicy", "RetryAction", "RetryDecision", "RetryPolicy", "RetryRule")
}
PATHS["airflow.sdk"].update(_RETRY_POLICY)
PATHS["airflow.sdk.definitions.retry_policy"] = dict(_RETRY_POLICY)
_EXCEPTIONS["AirflowConfigException"] = "exceptions:AirflowConfigException"

# --- E-mail: EmailOperator and airflow.utils.email with Airflow's [smtp] options (the 3.x smtp
# provider's own EmailOperator, which reads its connection instead, goes through the bridge) ---
_EMAIL = {"EmailOperator": "mail:EmailOperator"}
PATHS.update(
    {
        "airflow.operators.email": _EMAIL,
        "airflow.operators.email_operator": _EMAIL,
        "airflow.utils.email": {
            name: f"mail:{name}"
            for name in (
                "send_email",
                "send_email_smtp",
                "build_mime_message",
                "send_mime_email",
                "get_email_address_list",
            )
        },
    }
)

# --- Python callables run by another interpreter: virtualenvs and external Pythons ---
_VENV = {
    name: f"venv:{name}"
    for name in (
        "PythonVirtualenvOperator",
        "BranchPythonVirtualenvOperator",
        "ExternalPythonOperator",
        "BranchExternalPythonOperator",
    )
}
PATHS["airflow.operators.python"].update(_VENV)
PATHS["airflow.operators.python"]["is_venv_installed"] = "venv:is_venv_installed"  # 2.x only
PATHS["airflow.providers.standard.operators.python"] = {**_PYTHON, **_VENV}
PATHS["airflow.operators.python_operator"].update(
    {"PythonVirtualenvOperator": "venv:PythonVirtualenvOperator"}
)

# --- Time and weekday sensors, date-time and weekday branches (1.10 / 2.x / 3.x paths) ---
_TIME_SENSOR = {"TimeSensor": "sensors:TimeSensor", "TimeSensorAsync": "sensors:TimeSensorAsync"}
_WEEKDAY_SENSOR = {"DayOfWeekSensor": "sensors:DayOfWeekSensor"}
_DATETIME_BRANCH = {"BranchDateTimeOperator": "sensors:BranchDateTimeOperator"}
_WEEKDAY_BRANCH = {"BranchDayOfWeekOperator": "sensors:BranchDayOfWeekOperator"}
_TIME_DELTA_ASYNC = {**_TIME_DELTA, "TimeDeltaSensorAsync": "operators:TimeDeltaSensorAsync"}
_DATE_TIME_ASYNC = {**_DATE_TIME, "DateTimeSensorAsync": "operators:DateTimeSensorAsync"}
PATHS.update(
    {
        "airflow.sensors.time_sensor": _TIME_SENSOR,
        "airflow.sensors.weekday": _WEEKDAY_SENSOR,
        "airflow.contrib.sensors.weekday_sensor": _WEEKDAY_SENSOR,
        "airflow.providers.standard.sensors.time": _TIME_SENSOR,
        "airflow.providers.standard.sensors.weekday": _WEEKDAY_SENSOR,
        "airflow.operators.datetime": _DATETIME_BRANCH,
        "airflow.operators.weekday": _WEEKDAY_BRANCH,
        "airflow.providers.standard.operators.datetime": _DATETIME_BRANCH,
        "airflow.providers.standard.operators.weekday": _WEEKDAY_BRANCH,
        "airflow.sensors.time_delta": _TIME_DELTA_ASYNC,
        "airflow.providers.standard.sensors.time_delta": _TIME_DELTA_ASYNC,
        "airflow.sensors.date_time": _DATE_TIME_ASYNC,
        "airflow.providers.standard.sensors.date_time": _DATE_TIME_ASYNC,
    }
)

# --- ObjectStoragePath (local files; fsspec stores where fsspec is installed) ---
_OSP = {"ObjectStoragePath": "io:ObjectStoragePath"}
PATHS.update(
    {
        "airflow.io": {},
        "airflow.io.path": _OSP,
        "airflow.sdk.io": _OSP,
        "airflow.sdk.io.path": _OSP,
    }
)
PATHS["airflow.sdk"].update(_OSP)

# --- Human-in-the-loop operators: the ones with defaults and a response timeout run ---
PATHS["airflow.providers.standard.operators.hitl"] = {
    name: f"hitl:{name}"
    for name in ("HITLOperator", "HITLEntryOperator", "ApprovalOperator", "HITLBranchOperator")
}

# A path whose entry is another path's name serves the same names (the converter resolves
# imports through these too).
REEXPORTS: dict[str, str] = {p: e for p, e in PATHS.items() if isinstance(e, str)}
for _path, _entry in list(PATHS.items()):
    if isinstance(_entry, str):
        PATHS[_path] = PATHS[_entry]

# Modules Python code reaches as attributes of their parent (``from airflow import models``).
MODULE_ALIASES = {name: name for name in PATHS}
