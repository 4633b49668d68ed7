"""template.yaml translates with aws-sam-translator into what the README promises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]


def _cfn_loader() -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    Loader.add_multi_constructor("!", tag)
    return Loader


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.transform import transform

    ArnGenerator.BOTO_SESSION_REGION_NAME = "us-east-1"  # no AWS session in tests

    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_cfn_loader())  # noqa: S506
    # `sam package` uploads the local folders and rewrites their paths to S3: do the same.
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://artifacts/{name}.zip"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = f"s3://artifacts/{name}.zip"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        output = transform(template, {}, managed_policy_loader=None, feature_toggle=None)  # type: ignore[arg-type]
    assert Parser  # the translator's own parser validated the SAM resources on the way
    return dict(output["Resources"])


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def test_one_layer_built_for_python313_arm64(resources: dict[str, Any]) -> None:
    layers = of_type(resources, "AWS::Lambda::LayerVersion")
    assert len(layers) == 1
    props = next(iter(layers.values()))["Properties"]
    assert props["CompatibleRuntimes"] == ["python3.13"] and props["CompatibleArchitectures"] == ["arm64"]


def test_post_function_runs_python313_on_arm64_with_both_layers(resources: dict[str, Any]) -> None:
    fn = resources["PostFunction"]["Properties"]
    assert fn["Runtime"] == "python3.13" and fn["Architectures"] == ["arm64"]
    assert fn["Handler"] == "app.lambda_handler"
    assert len(fn["Layers"]) == 2
    assert fn["Environment"]["Variables"]["MODE"] == {"Ref": "Mode"}
    assert fn["TracingConfig"] == {"Mode": {"Fn::If": ["TracingOn", "Active", "PassThrough"]}}
    assert fn["DeadLetterConfig"]["TargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_table_is_on_demand_with_pitr_ttl_and_retained(resources: dict[str, Any]) -> None:
    table = resources["Table"]
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_secret_holds_no_value_in_the_template(resources: dict[str, Any]) -> None:
    props = resources["XCredentials"]["Properties"]
    assert "SecretString" not in props and "GenerateSecretString" not in props


def test_schedule_runs_in_the_users_time_zone_with_a_dead_letter_queue(resources: dict[str, Any]) -> None:
    schedules = of_type(resources, "AWS::Scheduler::Schedule")
    props = next(v["Properties"] for k, v in schedules.items() if k.startswith("PostFunction"))
    assert props["ScheduleExpressionTimezone"] == {"Ref": "TimeZone"}
    assert props["Target"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert '"trigger": "schedule"' in props["Target"]["Input"]


def test_policies_are_scoped_to_this_table_secret_and_queue(resources: dict[str, Any]) -> None:
    role = resources["PostFunctionRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    by_sid = {s["Sid"]: s for s in statements if "Sid" in s}
    assert {"TableReadWrite", "ReadXCredentials", "DeadLetters"} <= set(by_sid)
    assert by_sid["TableReadWrite"]["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert "dynamodb:Scan" not in by_sid["TableReadWrite"]["Action"]
    assert by_sid["ReadXCredentials"]["Resource"] == {"Ref": "XCredentials"}
    assert by_sid["ReadXCredentials"]["Action"] == "secretsmanager:GetSecretValue"
    assert by_sid["DeadLetters"]["Resource"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert all(s["Resource"] != "*" for s in statements)


def test_log_group_has_retention(resources: dict[str, Any]) -> None:
    assert resources["PostLogGroup"]["Properties"]["RetentionInDays"] == 30
    assert resources["PostFunction"]["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "PostLogGroup"}


def test_first_deploy_is_a_dry_run() -> None:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_cfn_loader())  # noqa: S506
    assert template["Parameters"]["Mode"]["Default"] == "dry-run"
    assert {"TimeZone", "Mode", "PostsPerDay", "ActiveHours", "MonthlyBudgetUsd", "DigestEmail"} <= set(template["Parameters"])


def test_follow_function_runs_hourly_with_its_own_dead_letters_and_scoped_policy(resources: dict[str, Any]) -> None:
    fn = resources["FollowFunction"]["Properties"]
    assert fn["Handler"] == "app.lambda_handler"
    assert fn["Environment"]["Variables"]["FOLLOW_MODE"] == {"Ref": "FollowMode"}
    schedules = {k: v["Properties"] for k, v in of_type(resources, "AWS::Scheduler::Schedule").items()}
    follow = next(p for k, p in schedules.items() if k.startswith("FollowFunction"))
    assert follow["ScheduleExpression"] == "cron(5 * * * ? *)"
    assert follow["ScheduleExpressionTimezone"] == {"Ref": "TimeZone"}
    role = resources["FollowFunctionRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert all(s["Resource"] != "*" for s in statements)
    assert resources["FollowLogGroup"]["Properties"]["RetentionInDays"] == 30


def test_follow_defaults_to_suggest_mode() -> None:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_cfn_loader())  # noqa: S506
    assert template["Parameters"]["FollowMode"]["Default"] == "suggest"
    assert template["Parameters"]["FollowDailyCap"]["MaxValue"] == 400


def test_digest_function_sends_only_from_the_chosen_ses_identity(resources: dict[str, Any]) -> None:
    role = resources["DigestFunctionRole"]["Properties"]
    statements = {s.get("Sid"): s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]}
    ses = statements["SendDigest"]
    assert ses["Action"] == "ses:SendEmail"
    assert ses["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"}
    assert ses["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmail"}}}  # only ever from the sender
    schedules = {k: v["Properties"] for k, v in of_type(resources, "AWS::Scheduler::Schedule").items()}
    digest = next(p for k, p in schedules.items() if k.startswith("DigestFunction"))
    assert digest["ScheduleExpression"] == {"Fn::Sub": "cron(15 ${DigestHour} * * ? *)"}
    assert resources["DigestFunction"]["Properties"]["Environment"]["Variables"]["SENDER_EMAIL"] == {"Ref": "SenderEmail"}


def test_prune_function_is_hourly_and_suggests_by_default(resources: dict[str, Any]) -> None:
    fn = resources["PruneFunction"]["Properties"]
    assert fn["Environment"]["Variables"]["PRUNE_MODE"] == {"Ref": "PruneMode"}
    schedules = {k: v["Properties"] for k, v in of_type(resources, "AWS::Scheduler::Schedule").items()}
    assert next(p for k, p in schedules.items() if k.startswith("PruneFunction"))["ScheduleExpression"] == "cron(35 * * * ? *)"
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_cfn_loader())  # noqa: S506
    assert template["Parameters"]["PruneMode"]["Default"] == "suggest"
    assert template["Parameters"]["PruneGraceDays"]["MinValue"] == 3
