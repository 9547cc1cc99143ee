"""Airflow's configuration defaults for the options DAG files read, per Airflow generation.

Values are what ``conf.get(section, key)`` answers in a fresh ``AIRFLOW_HOME`` of apache-airflow
2.11.2 and 3.3.2 (``{AIRFLOW_HOME}`` stands for that home); ``tests/compat/test_configuration.py``
checks every entry against both. An option missing from a generation's table is one that Airflow
version does not have (``conf.get`` raises there too) or one dagshift does not carry.
"""

from __future__ import annotations

__all__ = ["DEFAULTS"]

_COMMON = {
    "celery.broker_url": "redis://redis:6379/0",
    "celery.worker_concurrency": "16",
    "core.allowed_deserialization_classes": "airflow.*",
    "core.dag_discovery_safe_mode": "True",
    "core.dag_run_conf_overrides_params": "True",
    "core.dagbag_import_timeout": "30.0",
    "core.dags_are_paused_at_creation": "True",
    "core.dags_folder": "{AIRFLOW_HOME}/dags",
    "core.default_pool_task_slot_count": "128",
    "core.default_task_execution_timeout": "",
    "core.default_task_retries": "0",
    "core.default_task_retry_delay": "300",
    "core.default_timezone": "utc",
    "core.hostname_callable": "airflow.utils.net.getfqdn",
    "core.killed_task_cleanup_time": "60",
    "core.load_examples": "True",
    "core.max_active_runs_per_dag": "16",
    "core.max_active_tasks_per_dag": "16",
    "core.max_map_length": "1024",
    "core.max_num_rendered_ti_fields_per_task": "30",
    "core.parallelism": "32",
    "core.plugins_folder": "{AIRFLOW_HOME}/plugins",
    "core.security": "",
    "core.sql_alchemy_conn": "sqlite:///{AIRFLOW_HOME}/airflow.db",
    "core.test_connection": "Disabled",
    "core.unit_test_mode": "False",
    "database.sql_alchemy_conn": "sqlite:///{AIRFLOW_HOME}/airflow.db",
    "email.default_email_on_failure": "True",
    "email.default_email_on_retry": "True",
    "email.email_backend": "airflow.utils.email.send_email_smtp",
    "email.email_conn_id": "smtp_default",
    "email.ssl_context": "default",
    "kubernetes_executor.namespace": "default",
    "logging.base_log_folder": "{AIRFLOW_HOME}/logs",
    "logging.colored_console_log": "True",
    "logging.dag_processor_log_target": "file",
    "logging.fab_logging_level": "WARNING",
    "logging.logging_level": "INFO",
    "logging.remote_base_log_folder": "",
    "logging.remote_log_conn_id": "",
    "logging.remote_logging": "False",
    "logging.simple_log_format": "%(asctime)s %(levelname)s - %(message)s",
    "metrics.statsd_host": "localhost",
    "metrics.statsd_on": "False",
    "metrics.statsd_port": "8125",
    "metrics.statsd_prefix": "airflow",
    "operators.default_cpus": "1",
    "operators.default_disk": "512",
    "operators.default_gpus": "0",
    "operators.default_owner": "airflow",
    "operators.default_queue": "default",
    "operators.default_ram": "512",
    "scheduler.dag_dir_list_interval": "300",
    "scheduler.max_tis_per_query": "16",
    "scheduler.scheduler_heartbeat_sec": "5",
    "secrets.backend": "",
    "secrets.backend_kwargs": "",
    "sensors.default_timeout": "604800",
    "smtp.smtp_host": "localhost",
    "smtp.smtp_mail_from": "airflow@example.com",
    "smtp.smtp_port": "25",
    "smtp.smtp_retry_limit": "5",
    "smtp.smtp_ssl": "False",
    "smtp.smtp_starttls": "True",
    "smtp.smtp_timeout": "30",
    "webserver.web_server_port": "8080",
}

_AIRFLOW2 = {
    "celery.default_queue": "default",
    "core.dag_ignore_file_syntax": "regexp",
    "core.donot_pickle": "True",
    "core.enable_xcom_pickling": "False",
    "core.executor": "SequentialExecutor",
    "core.xcom_backend": "airflow.models.xcom.BaseXCom",
    "kubernetes.namespace": "default",
    "lineage.backend": "",
    "logging.log_format": "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s",
    "operators.allow_illegal_arguments": "False",
    "scheduler.catchup_by_default": "True",
    "scheduler.min_file_process_interval": "30",
    "scheduler.parsing_processes": "2",
    "webserver.base_url": "http://localhost:8080",
    "webserver.default_ui_timezone": "UTC",
}

_AIRFLOW3 = {
    "api.port": "8080",
    "core.dag_ignore_file_syntax": "glob",
    "core.executor": "LocalExecutor",
    "core.xcom_backend": "airflow.sdk.execution_time.xcom.BaseXCom",
    "dag_processor.min_file_process_interval": "30",
    "dag_processor.refresh_interval": "300",
    "logging.log_format": "",
    "scheduler.catchup_by_default": "False",
}

DEFAULTS: dict[str, dict[str, str]] = {
    "2": {**_COMMON, **_AIRFLOW2},
    "3": {**_COMMON, **_AIRFLOW3},
}
