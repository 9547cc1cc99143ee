"""Golden cases, safety checks and the behaviour of converted flows (``dagshift migrate``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dagshift.converter.convert import convert_source
from dagshift.runtime.loader import load_path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = sorted((ROOT / "fixtures" / "convert").glob("*/*.py"))
DAY = "2024-01-15"  # a Monday


def _split(path: Path) -> tuple[str, str]:
    text = path.read_text()
    if "\n# output\n" in text:
        before, after = text.split("\n# output\n", 1)
        return before + "\n", after
    return text, text


def _case(name: str) -> str:
    return _split(ROOT / "fixtures" / "convert" / f"{name}.py")[0]


def _flows(name: str, tmp_path: Path) -> dict:
    result = convert_source(_case(name))
    assert result.status == "converted", result.findings
    path = tmp_path / f"{name.replace('/', '_')}.py"
    path.write_text(result.code)
    return {flow.name: flow for flow in load_path(str(path))}


def _run(name: str, tmp_path: Path):
    (flow,) = _flows(name, tmp_path).values()
    return flow, flow.run(logical_date=DAY)


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_case_converts_to_expected_output_and_is_stable(path: Path) -> None:
    source, expected = _split(path)
    result = convert_source(source)
    assert result.code == expected
    ast.parse(result.code)
    assert convert_source(result.code).code == result.code


@pytest.mark.parametrize(
    ("case", "findings"),
    [
        ("variables/setdefault_kept", [("DS002", 8)]),
        ("airflow_values/trigger_rule_old_member_as_value_kept", [("DS002", 7)]),
        ("airflow_values/get_current_context_other_value_kept", [("DS095", 7)]),
        ("scheduling/outlet_not_an_asset_kept", [("DS011", 11)]),
        ("variables/sdk_default_var_kept", [("DS002", 7)]),
        ("xcom/pull_with_computed_id_kept", [("DS072", 7)]),
        ("xcom/pull_of_a_later_task_kept", [("DS078", 14)]),
        ("xcom/pull_from_a_repeated_taskflow_task_kept", [("DS076", 19)]),
        ("xcom/pull_from_an_operator_in_an_if_kept", [("DS076", 20)]),
        ("xcom/pull_from_an_operator_in_a_for_kept", [("DS076", 16)]),
        ("xcom/pull_from_an_unbound_operator_kept", [("DS076", 16)]),
        ("context/unknown_context_value_kept", [("DS061", 5)]),
        ("context/airflow3_has_no_next_ds", [("DS063", 6)]),
        ("context/template_object_attributes", [("DS063", 7)]),
        ("context/airflow3_callable_without_neighbours_kept", [("DS061", 6)]),
        ("context/airflow3_has_no_execution_date_kept", [("DS061", 6)]),
        ("context/airflow3_context_execution_date_kept", [("DS061", 6)]),
        ("context/airflow3_template_execution_date_kept", [("DS063", 5)]),
        ("callables/context_passed_along_kept", [("DS060", 10)]),
        ("context_whole/airflow_only_key_in_a_loop_kept", [("DS061", 6)]),
        ("context_whole/computed_key_kept", [("DS060", 8)]),
        ("context_whole/passed_on_reading_what_dagshift_lacks_kept", [("DS061", 6)]),
        ("xcom/template_list_pull_rendered_whole_airflow2_kept", [("DS075", 14)]),
        ("xcom/template_pull_of_another_dag_kept", [("DS075", 5)]),
        ("xcom/pull_of_any_key_airflow3_kept", [("DS071", 11)]),
        ("callables/test_mode_passed_airflow3_kept", [("DS060", 9)]),
        ("taskflow/context_name_given_by_some_calls_kept", [("DS060", 4)]),
        ("task_groups/not_a_with_item_kept", [("DS011", 7)]),
        ("task_groups/bridged_operator_in_group_kept", [("DS104", 6)]),
        ("task_groups/kept_taskflow_in_group_kept", [("DS104", 8)]),
        ("task_groups/kept_taskflow_in_module_group_kept", [("DS104", 6)]),
        ("task_groups/module_group_task_argument_kept", [("DS081", 6)]),
        ("task_groups/parent_group_kept", [("DS103", 8)]),
        ("mapped_groups/argument_in_an_expression_kept", [("DS105", 16)]),
        ("mapped_groups/argument_read_in_a_closure_kept", [("DS105", 15)]),
        ("mapped_groups/task_mapped_inside_kept", [("DS105", 16)]),
        ("mapped_groups/partial_not_expanded_kept", [("DS105", 16)]),
        ("mapped_groups/star_parameters_kept", [("DS105", 16)]),
        ("task_groups/pull_from_a_group_function_kept", [("DS077", 22)]),
        ("task_groups/group_default_args_dates_kept", [("DS102", 8)]),
        ("task_groups/group_attribute_kept", [("DS106", 8)]),
        ("dag_definition/dag_in_a_loop_kept", [("DS054", 7), ("DS002", 8)]),
        ("bash_operator/template_with_other_names_kept", [("DS063", 6)]),
        ("bash_operator/command_name_bound_twice_kept", [("DS035", 6)]),
        ("bash_operator/command_from_another_dedent_kept", [("DS035", 12)]),
        ("bash_operator/command_from_a_loop_variable_kept", [("DS035", 7)]),
        ("default_args/changed_after_kept", [("DS023", 8)]),
        ("callbacks/context_passed_on_kept", [("DS024", 13)]),
        ("callbacks/operator_callback_reading_exception_on_success_kept", [("DS110", 10)]),
        ("callbacks/task_callback_lambda_kept", [("DS110", 6)]),
        ("callbacks/dag_callback_reading_the_task_kept", [("DS111", 10)]),
        ("callbacks/callback_alias_used_whole_kept", [("DS110", 14)]),
        ("default_args/keys_not_known_kept", [("DS023", 7)]),
        ("default_args/factory_parameter_differs_per_call_kept", [("DS023", 12)]),
        ("default_args/key_reaching_converted_kept", [("DS024", 5)]),
        ("bridged/template_also_converted_kept", [("DS075", 11)]),
        ("default_args/function_with_statements_kept", [("DS023", 12)]),
        ("unsupported/other_task_attribute_kept", [("DS053", 6)]),
        ("unsupported/setup_teardown_kept", [("DS093", 12)]),
        (
            "setup_teardown/with_a_kept_operator_kept",
            [("DS093", 15)],
        ),
        ("setup_teardown/with_a_work_task_kept", [("DS093", 11)]),
        ("dag_definition/dag_reentered_by_with_kept", [("DS052", 6)]),
        ("setup_teardown/with_inside_a_task_group_kept", [("DS093", 18)]),
        ("python_operator/templates_dict_pull_kept", [("DS063", 15)]),
        ("scheduling/inlet_events_template_timestamp_kept", [("DS002", 5), ("DS063", 9)]),
        ("scheduling/inlet_events_template_uri_key_airflow3_kept", [("DS002", 5), ("DS063", 9)]),
        ("kept_names/class_the_shim_cannot_serve_kept", [("DS002", 9)]),
        ("kept_names/xcom_model_kept", [("DS002", 9)]),
        ("dependencies/cross_downstream_of_tasks_from_a_function_kept", [("DS056", 15)]),
        ("shadowing/task_from_airflow_and_bound_kept", [("DS003", 6)]),
        # Airflow 3 pulls the XCom key "greet", which only multiple_outputs=True pushes
        ("bash_operator/command_from_a_key_without_multiple_outputs_kept", [("DS035", 14)]),
        # Airflow 2.11 fails a BashOperator whose bash_command is an XComArg (checked)
        ("bash_operator/command_from_a_taskflow_result_airflow2_kept", [("DS035", 17)]),
        # Airflow resolves a @dag parameter only in a templated field: elsewhere the DagParam
        (
            "dag_function_params/parameter_in_a_field_not_templated_kept",
            [("DS002", 7), ("DS025", 21)],
        ),
    ],
)
def test_what_is_not_converted_stays_as_written_with_a_todo_at_its_line(
    case: str, findings: list[tuple[str, int]]
) -> None:
    source = _case(case)
    result = convert_source(source)
    assert result.status == "partial"
    assert [(f.code, f.line) for f in result.findings] == findings
    lines = result.code.splitlines()
    todos = [ln for ln in lines if ln.strip().startswith("# dagshift: TODO(")]
    assert len(todos) == len(findings)
    # the TODO comment sits right above the line at fault, and nothing else changed
    for code, line in findings:
        at = lines.index(next(t for t in todos if f"TODO({code})" in t))
        assert lines[at + 1] == source.splitlines()[line - 1]
    assert [ln for ln in lines if ln not in todos] == source.splitlines()


def test_every_rule_has_golden_cases_named_after_it() -> None:
    from dagshift.converter.rules import RULES

    cases = {p.parent.name for p in GOLDEN}
    assert set(RULES) <= cases, sorted(set(RULES) - cases)


def test_a_function_also_called_as_a_plain_function_is_wrapped_not_decorated(
    tmp_path: Path,
) -> None:
    flows = _flows("callables/used_elsewhere_wrapped", tmp_path)
    assert flows["wrapped"].run(logical_date=DAY).tasks["total"].result == 6


def test_a_function_binding_an_airflow_name_itself_converts_and_runs(tmp_path: Path) -> None:
    # `def on_miss(dag, ...)`, `lambda dag:`, `[dag for dag in ...]` read their own `dag`
    flows = _flows("shadowing/parameter_named_like_an_import", tmp_path)
    assert flows["shadowed"].run(logical_date=DAY).tasks["hello"].result == "dag aC"
    assert "airflow" not in convert_source(_case("shadowing/parameter_named_like_an_import")).code
    # the import itself, read by a function or rebound through `global`, stays with a TODO
    kept = convert_source(_case("shadowing/import_read_by_a_function_kept"))
    assert [(f.code, f.line) for f in kept.findings] == [("DS002", 7), ("DS002", 11), ("DS002", 12)]
    assert "from airflow.decorators import dag" in kept.code


def test_a_bash_command_from_a_taskflow_result_runs_as_it_is_not_rendered(
    tmp_path: Path,
) -> None:
    # as Airflow resolves an XComArg in bash_command and renders it no further
    _, run = _run("bash_operator/command_from_a_taskflow_result", tmp_path)
    assert run.tasks["greet"].result == "{{ ds }} stays as written"
    assert run.tasks["whole"].result == "whole"


def test_names_the_file_binds_stay_its_own_beside_dagshifts_qualified(tmp_path: Path) -> None:
    # the file's `render`, `Flow` and loop variable `task`; dagshift's as dagshift.NAME
    flow = _flows("shadowing/dagshift_names_bound_by_the_file", tmp_path)["own_names"]
    run = flow.run(logical_date=DAY)
    assert run.tasks["part_1"].result == "part 1"
    assert run.tasks["own_flow"].result == "the file's own Flow"
    assert run.tasks["last"].result == DAY
    assert sorted(flow.upstream_ids("last")) == ["own_flow", "part_0", "part_1"]


def test_a_pull_from_a_taskflow_task_gets_its_result_and_one_by_key_keeps_the_dag(
    tmp_path: Path,
) -> None:
    flow, run = _run("xcom/pull_from_a_taskflow_task", tmp_path)
    assert run.tasks["show"].result == 3
    # what a TaskFlow task pushes is not known statically: a pull by key stays (DS076)
    by_key = _case("xcom/pull_from_a_taskflow_task").replace(
        'task_ids="extract")', 'task_ids="extract", key="extra")'
    )
    assert [(f.code, f.line) for f in convert_source(by_key).findings] == [("DS076", 18)]


def test_one_dag_converts_while_the_other_stays_with_its_todo(tmp_path: Path) -> None:
    result = convert_source(_case("dag_definition/one_dag_kept_one_converted"))
    assert result.status == "partial"
    assert [(f.code, f.line) for f in result.findings] == [("DS012", 9)]
    assert 'with Flow("plain") as plain:' in result.code
    assert 'with DAG("sensing") as sensing:' in result.code
    assert "from airflow.sensors.filesystem import FileSensor" in result.code


def test_converting_never_imports_or_runs_the_input(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    source = (
        f"open({str(marker)!r}, 'w').close()\n"
        "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        "with DAG('evil') as dag:\n    EmptyOperator(task_id='x')\n"
    )
    assert convert_source(source).status == "converted"
    assert not marker.exists()


def test_converted_flow_keeps_task_ids_edges_results_and_options(tmp_path: Path) -> None:
    flow, run = _run("operators/python_bash_empty", tmp_path)
    assert flow.name == "demo"
    assert set(flow.graph.edges) == {("start", "extract_it"), ("extract_it", "echo")}
    assert run.state == "success"
    assert (run.tasks["extract_it"].result, run.tasks["echo"].result) == (42, DAY)
    assert flow.graph.nodes["extract_it"]["task"].options["retries"] == 2
    assert flow.graph.nodes["start"]["task"].options["retries"] == 1


def test_a_command_named_in_the_dag_body_renders_like_a_literal(tmp_path: Path) -> None:
    flow, run = _run("bash_operator/command_named_in_the_dag_body", tmp_path)
    assert run.state == "success"
    assert run.tasks["templated"].result == "2024-01-15 2024-01-22 dag"


def test_task_documentation_attributes_stay_on_the_converted_task(tmp_path: Path) -> None:
    flow, run = _run("operators/task_documentation_attributes", tmp_path)
    assert run.state == "success"
    assert flow.tasks["count"].meta == {"doc_md": "#### Count\nAdds the numbers up.\n"}
    assert flow.tasks["echo"].meta == {"doc": "plain text", "doc_rst": "**rst**"}


def test_operator_params_lie_over_the_dag_params_for_that_task(tmp_path: Path) -> None:
    flow, run = _run("operators/task_params", tmp_path)
    assert (run.tasks["describe"].result, run.tasks["echo"].result) == ("task in eu", "dag us")
    # the run's parameters (Airflow: dag_run.conf) win over both
    run = flow.run(logical_date=DAY, parameters={"who": "run"})
    assert (run.tasks["describe"].result, run.tasks["echo"].result) == ("run in eu", "run us")


def test_xcom_pulls_of_every_style_reach_the_same_values(tmp_path: Path) -> None:
    flow, run = _run("xcom/pull_and_push_styles", tmp_path)
    assert run.state == "success"
    results = {tid: t.result for tid, t in run.tasks.items()}
    assert results["with_ti"] == 2
    assert results["with_context"] == [{"a": 1}, "b"]
    assert results["with_kwargs_key"] == 3
    assert results["with_task_instance"] == "fallback"
    assert results["with_alias"] == ["b", {"a": 1}]
    # a pull is a data edge from the task that produced the value
    assert flow.graph.edges["produce", "with_ti"]["data"]


def test_a_list_pull_leaves_out_tasks_that_returned_nothing_as_airflow_does(
    tmp_path: Path,
) -> None:
    source = _case("xcom/pull_and_push_styles").replace('return {"a": 1}', "return None")
    path = tmp_path / "flow.py"
    path.write_text(convert_source(source).code)
    (flow,) = load_path(str(path))
    assert flow.run(logical_date=DAY).tasks["with_context"].result == ["b"]


def test_xcom_pull_in_a_bash_template_gets_the_upstream_result(tmp_path: Path) -> None:
    flow, run = _run("xcom/pull_in_bash_template", tmp_path)
    assert run.tasks["use"].result == "pulled=42 env=rows rows"
    assert ("count", "use") in flow.graph.edges


def test_context_parameters_and_context_dict_give_airflow_values(tmp_path: Path) -> None:
    _, run = _run("context/named_parameters", tmp_path)
    assert run.tasks["stamp"].result == f"day {DAY} {DAY}T00:00:00+00:00 eu"
    _, run = _run("context/catch_all_dict", tmp_path)
    assert run.tasks["describe"].result == {
        "ds_nodash": "20240115",
        "start": f"{DAY}T00:00:00+00:00",
        "try": 1,
        "label": "none",
    }


def test_dag_decorator_and_taskflow_keep_the_data_flow(tmp_path: Path) -> None:
    flow, run = _run("taskflow/dag_decorator", tmp_path)
    assert (flow.name, flow.schedule, flow.params) == ("etl", "@daily", {"factor": 2})
    assert run.tasks["summarize"].result == {"count": 3, "total": 6}
    assert run.tasks["label"].result == "rows:12"
    assert flow.graph.nodes["extract"]["task"].options["retries"] == 1
    assert flow.graph.nodes["scale_total"]["task"].options["retries"] == 0


def test_branch_and_short_circuit_skip_as_in_airflow(tmp_path: Path) -> None:
    _, run = _run("taskflow/branch_and_short_circuit", tmp_path)
    states = {tid: t.state for tid, t in run.tasks.items()}
    assert (states["left"], states["right"]) == ("success", "skipped")
    assert states["after"] == "skipped"  # a direct child, whatever its trigger rule
    _, run = _run("python_operator/branch_and_short_circuit_operators", tmp_path)
    states = {tid: t.state for tid, t in run.tasks.items()}
    assert (states["weekday"], states["weekend"], states["after"]) == (
        "success",
        "skipped",
        "skipped",
    )


def test_mapped_operator_and_taskflow_mapping_give_one_result_per_element(
    tmp_path: Path,
) -> None:
    _, run = _run("taskflow/mapping", tmp_path)
    assert run.tasks["powers"].result == [8, 9]
    assert run.tasks["size"].result == ["a.csv:5B", "b.csv:5B"]


def test_chain_and_cross_downstream_give_airflow_edges(tmp_path: Path) -> None:
    flow, _ = _run("dependencies/chain_and_cross_downstream", tmp_path)
    assert sorted(flow.graph.edges) == [
        ("left", "x1"),
        ("left", "x2"),
        ("right", "x1"),
        ("right", "x2"),
        ("start", "step_0"),
        ("step_0", "step_1"),
        ("step_1", "step_2"),
        ("step_2", "left"),
        ("step_2", "right"),
    ]


def test_several_dags_of_one_file_become_flows_with_their_schedules(tmp_path: Path) -> None:
    flows = _flows("dag_definition/several_dags", tmp_path)
    assert sorted(flows) == ["cron", "daily", "every_6h"]
    assert flows["cron"].schedule == "15 2 * * *"
    assert flows["daily"].default_task_options["retries"] == 2
    assert str(flows["daily"].start_date) == "2024-01-01 00:00:00"
    run = flows["daily"].run(logical_date=DAY)
    # Airflow 2: a run for a date covers the schedule period that ends at that date
    assert run.tasks["interval"].result == ["2024-01-14T00:00:00+00:00", f"{DAY}T00:00:00+00:00"]


def test_airflow_exceptions_and_trigger_rules_keep_their_effect(tmp_path: Path) -> None:
    _, run = _run("airflow_values/trigger_rules_exceptions_days_ago", tmp_path)
    states = {tid: t.state for tid, t in run.tasks.items()}
    assert states == {"skip": "skipped", "fail": "failed", "done": "success"}
    assert run.tasks["fail"].tries == 1  # AirflowFailException: no retries


def test_trigger_rule_members_read_as_values_keep_airflow_strings_and_rules(
    tmp_path: Path,
) -> None:
    _, run = _run("airflow_values/trigger_rule_members_as_values", tmp_path)
    states = {tid: t.state for tid, t in run.tasks.items()}
    assert states == {
        "bad": "failed",
        "after_all_success": "upstream_failed",
        "after_all_failed": "success",
        "all_done": "success",
    }


def test_a_pull_from_a_repeated_taskflow_task_gets_the_call_with_airflows_suffix(
    tmp_path: Path,
) -> None:
    _, run = _run("xcom/pull_from_a_repeated_taskflow_task", tmp_path)
    assert run.tasks["show"].result == [1, 3]  # "extract" is the first call, "extract__2" the third


def test_a_list_pull_naming_a_task_the_dag_lacks_gets_none_in_its_place(tmp_path: Path) -> None:
    _, run = _run("xcom/list_pull_with_a_task_the_dag_lacks", tmp_path)
    assert run.tasks["pull"].result == ["A", None]  # Airflow 3.3 (2.11 leaves it out)


def test_bash_tasks_of_a_native_rendering_dag_render_natively(tmp_path: Path) -> None:
    _, run = _run("bash_operator/native_rendering_dag", tmp_path)
    assert run.tasks["day"].state == "failed"  # env N renders to the int 2, as in Airflow
    assert run.tasks["appended"].state == "success"
    assert run.tasks["appended"].result == "two"


def test_values_read_from_get_current_context_are_the_run_contexts(tmp_path: Path) -> None:
    _, run = _run("airflow_values/get_current_context_values", tmp_path)
    assert run.tasks["show"].result == [DAY, 1]


def test_a_factory_given_the_same_default_args_at_every_call_gives_them_to_its_dags(
    tmp_path: Path,
) -> None:
    flows = _flows("default_args/factory_parameter_every_call_gives", tmp_path)
    assert sorted(flows) == ["first", "second"]
    for flow in flows.values():
        assert flow.default_task_options["retries"] == 2
        assert str(flow.start_date) == "2024-01-01 00:00:00+00:00"


def test_a_sub_dag_factory_gives_a_flow_the_kept_operator_runs(tmp_path: Path) -> None:
    flows = _mixed("dag_definition/sub_dag_factory", tmp_path)
    assert sorted(flows) == ["parent", "parent.load"]
    run = flows["parent"].run(logical_date=DAY)
    assert run.tasks["load"].state == "success"
    assert flows["parent.load"].schedule is None  # its parent's runs start its runs


def test_templated_op_args_and_templates_dict_are_rendered_in_the_task(tmp_path: Path) -> None:
    _, run = _run("python_operator/templated_op_args", tmp_path)
    assert run.tasks["show"].result == [DAY, "plain", {"next": ["2024-01-16"], "n": 1}]


def test_bash_env_values_are_rendered_like_airflow_templates(tmp_path: Path) -> None:
    _, run = _run("bash_operator/bash_env_templated", tmp_path)
    assert run.tasks["say"].result == "20240115"


def test_a_bash_script_template_file_stays_an_operator_run_by_the_shim() -> None:
    source = _case("bash_operator/bash_env_templated").replace('"echo $DAY"', '"scripts/run.sh"')
    result = convert_source(source)
    assert result.status == "converted"
    assert result.bridged == [{"task_id": "say", "operator": "BashOperator"}]


def test_a_bash_command_ending_in_sh_and_a_space_is_a_command(tmp_path: Path) -> None:
    # Airflow's documented way to run a script without loading it as a template
    source = _case("bash_operator/bash_env_templated").replace('"echo $DAY"', '"echo run.sh "')
    result = convert_source(source)
    assert result.status == "converted"
    out = tmp_path / "flow.py"
    out.write_text(result.code)
    (flow,) = load_path(str(out))
    assert flow.run(logical_date=DAY).tasks["say"].result == "run.sh"


def test_dag_assignment_with_dag_kwarg_runs_with_the_same_ids_and_results(tmp_path: Path) -> None:
    flow, run = _run("dag_definition/assigned_dag_with_dag_kwarg", tmp_path)
    assert sorted(flow.graph.edges) == [("hello", "echo")]
    assert (run.tasks["hello"].result, run.tasks["echo"].result) == ("hi", DAY)


def test_a_file_without_airflow_is_not_a_dag_and_comes_back_unchanged() -> None:
    source = _case("noop/already_functional")
    assert (convert_source(source).status, convert_source(source).code) == ("not_a_dag", source)


def test_dag_task_and_run_attributes_come_from_the_run_context(tmp_path: Path) -> None:
    _, run = _run("context/object_attributes", tmp_path)
    first, second = run.tasks["where"].result, run.tasks["where__1"].result
    assert first[:3] == ["attributes", "where", "where"]
    assert second[:3] == ["attributes", "where__1", "where__1"]
    assert first[3] == second[3] and first[3]


def test_a_mapped_bash_operator_runs_every_command_with_the_same_env(tmp_path: Path) -> None:
    _, run = _run("bash_operator/mapped_bash", tmp_path)
    assert run.tasks["echo"].result == [f"one {DAY}", "two"]


def test_a_bash_command_mapped_over_a_map_is_not_rendered_but_its_env_is(
    tmp_path: Path,
) -> None:
    # real Airflow 3.3 and 2.11 give the same: a mapped value from XCom is never rendered
    _, run = _run("bash_operator/mapped_bash_over_a_map", tmp_path)
    assert run.tasks["echo"].result == [f"one {DAY}", f"{{{{ ds }}}} {DAY}"]


def test_a_map_over_a_mapped_task_and_a_zip_of_results_bound_at_once_run(
    tmp_path: Path,
) -> None:
    _, run = _run("taskflow/xcomarg_map_of_mapped", tmp_path)
    assert run.tasks["show"].result == [3, 5, 7]
    assert run.tasks["zipped"].result == [(1, 8)]


def test_module_level_helpers_get_dagshift_values_when_every_dag_converts(
    tmp_path: Path,
) -> None:
    flow, run = _run("airflow_values/module_level_values", tmp_path)
    assert run.tasks["load"].state == "skipped"  # the helper's AirflowSkipException
    assert flow.start_date.hour == 0 and flow.start_date.timezone_name == "UTC"


def test_documentation_set_on_the_dag_object_is_kept_on_the_flow(tmp_path: Path) -> None:
    flow, _ = _run("dag_definition/doc_md_on_the_dag", tmp_path)
    assert flow.doc_md == "### A documented DAG"


def test_edge_labels_leave_the_edges_they_annotate(tmp_path: Path) -> None:
    flow, _ = _run("dependencies/edge_labels", tmp_path)
    assert sorted(flow.graph.edges) == [
        ("check", "describe"),
        ("check", "save"),
        ("describe", "save"),
    ]


def test_a_bash_command_kept_in_a_module_constant_is_rendered_at_run_time(
    tmp_path: Path,
) -> None:
    _, run = _run("bash_operator/command_in_a_variable", tmp_path)
    assert run.tasks["templated"].result == f"{DAY} 1"


def _mixed(name: str, tmp_path: Path) -> dict:
    """A converted flow that keeps operators as written: it loads through the compat shim."""
    import dagshift.compat

    dagshift.compat.install()
    return _flows(name, tmp_path)


def test_an_operator_without_a_rule_stays_a_task_of_the_flow_with_xcom_both_ways(
    tmp_path: Path,
) -> None:
    result = convert_source(_case("bridged/custom_operator_and_xcom_both_ways"))
    assert result.bridged == [{"task_id": "echo", "operator": "EchoOperator"}]
    flow = _mixed("bridged/custom_operator_and_xcom_both_ways", tmp_path)["mixed"]
    graph = flow.graph
    assert set(graph.edges) == {("produce", "echo"), ("echo", "consume")}
    assert [b.argument for b in graph.edges["echo", "consume"]["data"]] == ["echo"]
    run = flow.run(logical_date=DAY)
    # the kept operator reads the converted task's result and its pushed key (a named output)
    assert run.tasks["echo"].result == "42 rows"
    assert run.tasks["consume"].result == "42 rows"
    assert run.tasks["produce"].result == 42 and run.tasks["produce"].pushed == {"unit": "rows"}
    # the DAG's default_args reach the kept operator, as in Airflow
    assert flow.get_task("echo").options["retries"] == 2
    assert flow.get_task("echo").options["trigger_rule"] == "all_done"


def test_a_kept_script_file_operator_finds_its_file_as_airflow_does(tmp_path: Path) -> None:
    """The flow file's folder first, then template_searchpath; the file's text is rendered."""
    import dagshift.compat

    result = convert_source(_case("bash_operator/script_template_file_kept_as_written"))
    assert result.status == "converted"
    assert [b["task_id"] for b in result.bridged] == ["here", "there"]
    searchpath = tmp_path / "templates"
    searchpath.mkdir()
    (searchpath / "here.sh").write_text("echo 'the searchpath comes second'\n")
    (searchpath / "there.sh").write_text('echo "there {{ ds }}"\n')
    (tmp_path / "here.sh").write_text('echo "here {{ macros.ds_add(ds, 1) }}"\n')
    flow_file = tmp_path / "scripts.py"
    flow_file.write_text(result.code.replace("/srv/templates", str(searchpath)))
    dagshift.compat.install()
    (flow,) = load_path(str(flow_file))
    run = flow.run(logical_date=DAY)
    assert run.tasks["here"].result == "here 2024-01-16"
    assert run.tasks["there"].result == f"there {DAY}"


def test_output_of_a_converted_operator_is_its_result_and_of_a_kept_one_its_xcom(
    tmp_path: Path,
) -> None:
    flow = _mixed("bridged/output_of_operators", tmp_path)["outputs"]
    assert flow.graph.edges["count", "double"]["data"]
    assert flow.graph.edges["wait", "sensed"]["data"]
    run = flow.run(logical_date=DAY)
    assert run.tasks["double"].result == 6
    assert run.tasks["sensed"].state == "failed"  # 2 * None: a sensor's XCom is None


def test_a_pushed_key_is_a_named_output_the_puller_gets_and_the_result_stays(
    tmp_path: Path,
) -> None:
    flow, run = _run("xcom/push_from_a_function_named_push", tmp_path)
    assert run.tasks["push"].result is None  # as in Airflow: it returned nothing
    assert run.tasks["push"].pushed == {"pushed": [1, 2]}
    assert run.tasks["pull"].result == [1, 2]
    assert [b.argument for b in flow.graph.edges["push", "pull"]["data"]] == ["push_pushed"]


def test_a_taskflow_kind_without_a_rule_stays_as_written_and_runs_in_the_flow(
    tmp_path: Path,
) -> None:
    result = convert_source(_case("taskflow/bash_and_sensor_kept_as_written"))
    assert sorted(b["operator"] for b in result.bridged) == ["@task.bash", "@task.sensor"]
    flow = _mixed("taskflow/bash_and_sensor_kept_as_written", tmp_path)["kept_kinds"]
    assert set(flow.graph.edges) == {("ready", "say"), ("word", "say")}
    run = flow.run(logical_date=DAY)
    assert run.tasks["say"].result == f"hello {DAY}"
    assert run.tasks["ready"].state == "success"


def test_converted_task_groups_keep_airflows_ids_options_edges_and_pulls(tmp_path: Path) -> None:
    flow, run = _run("task_groups/with_blocks", tmp_path)
    assert list(flow.tasks) == ["start", "extract.rows", "loose", "load.show"]
    assert flow.get_task("extract.rows").options["retries"] == 2  # the group's default_args
    assert flow.get_task("loose").options["retries"] == 2  # nested, not prefixed
    assert flow.get_task("load.show").options["retries"] == 0
    assert sorted(flow.graph.edges) == [
        ("extract.rows", "load.show"),  # start >> extract >> load, and the pull
        ("loose", "load.show"),
        ("start", "extract.rows"),
        ("start", "loose"),
    ]
    assert run.tasks["load.show"].result == "3"


def test_converted_group_function_called_twice_gets_airflows_suffix(tmp_path: Path) -> None:
    (flow,) = _flows("task_groups/task_group_function_in_dag", tmp_path).values()
    run = flow.run(logical_date=DAY)
    assert list(flow.tasks) == [
        "steps.inc",
        "steps.inc__1",
        "steps__1.inc",
        "steps__1.inc__1",
        "total",
    ]
    assert run.tasks["total"].result == 3 + 12
