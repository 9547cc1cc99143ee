"""Verification that a converted flow is the same graph and gives the same results."""

from dagshift.verify.compare import (
    Difference,
    FlowVerification,
    compare_graphs,
    compare_runs,
    verify_flows,
)

__all__ = ["Difference", "FlowVerification", "compare_graphs", "compare_runs", "verify_flows"]
