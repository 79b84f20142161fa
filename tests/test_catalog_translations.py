"""Translated nova messages classify as their English originals (nova's .po files, shipped
in nsim/data/nova_translations.json.gz)."""

# ruff: noqa: RUF001  (full-width punctuation is what zh_CN nova writes)

from __future__ import annotations

import pytest

from nsim.events import classify
from nsim.events.source import load_translations
from nsim.events.translate import to_english

UUID = "ac91ed2c-6c0e-4865-afcf-2b1b9fcb5485"


def test_table_has_the_lifecycle_names_and_typed_messages() -> None:
    table = load_translations()
    assert {"zh_CN", "de", "fr", "ja"} <= set(table)
    zh = table["zh_CN"]
    assert zh["Started"] == "已开始"
    assert "Instance spawned successfully." in zh


@pytest.mark.parametrize(("message", "english"), [
    ("VM 已开始 (Lifecycle Event)", "VM Started (Lifecycle Event)"),
    ("VM 已恢复 (Lifecycle Event)", "VM Resumed (Lifecycle Event)"),
    ("实例成功生产。", "Instance spawned successfully."),
    (f"实例{UUID}的构建已中止：分配网络失败，不重新调度。",
     f"Build of instance {UUID} aborted: Failed to allocate the network(s), not rescheduling."),
])
def test_to_english(message: str, english: str) -> None:
    assert to_english(message) == english


def test_translated_messages_are_the_same_events() -> None:
    assert classify("VM 已暂停 (Lifecycle Event)") == classify("VM Paused (Lifecycle Event)")
    assert classify("实例成功生产。") == classify("Instance spawned successfully.")
    skip = classify("在同步电源状态期间，实例有一个待办任务 (spawning) 。跳过。")
    assert skip is not None and skip.kind == "sync_power_state_skip"
    assert skip.task_state == "spawning"
    aborted = classify(f"实例{UUID}的构建已中止：分配网络失败，不重新调度。")
    assert aborted is not None and aborted.kind == "aborted"
    assert aborted.instance_uuid == UUID
    assert aborted.reason == "Failed to allocate the network(s), not rescheduling."


@pytest.mark.parametrize("message", ["VM 已爆炸 (Lifecycle Event)", "这不是nova的消息", "Bonjour"])
def test_untranslatable_messages_stay_unknown(message: str) -> None:
    assert classify(message) is None
