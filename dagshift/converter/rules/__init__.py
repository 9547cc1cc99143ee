"""The converter's rules: one module per construct, each with a one-line ``DESCRIPTION``.

``RULES`` lists them in the order the docs present them; ``fixtures/convert/<rule>/`` holds
each rule's golden cases (input, ``# output``, expected), collected by one parametrized test.
"""

from __future__ import annotations

from dagshift.converter.rules import (
    airflow_values,
    bash_operator,
    callables,
    callbacks,
    context,
    dag_definition,
    default_args,
    dependencies,
    empty_operator,
    operators,
    params,
    python_operator,
    taskflow,
    variables,
    xcom,
)

__all__ = ["RULES"]

RULES = {
    module.__name__.rpartition(".")[2]: module.DESCRIPTION
    for module in (
        dag_definition,
        default_args,
        callbacks,
        operators,
        python_operator,
        bash_operator,
        empty_operator,
        callables,
        context,
        xcom,
        taskflow,
        dependencies,
        airflow_values,
        variables,
        params,
    )
}
