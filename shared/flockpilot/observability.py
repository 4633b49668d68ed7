"""The one Logger, Tracer and Metrics of Flockpilot; everything imports them from here.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE
(set in template.yaml Globals); the defaults serve local runs and tests.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="flockpilot")
tracer = Tracer(service="flockpilot")
metrics = Metrics(namespace="Flockpilot", service="flockpilot")
