"""sample_data/README.md, written from the same plan as the data so the two never disagree."""

from __future__ import annotations

from gaopin.sample import street_data as sd
from gaopin.sample.street import DEFAULT_SEED

RULE_NAMES = {"point_day": "单日同点位", "two_day": "两日多人"}
LEDGER_NAMES = {"caller": "高频诉求人", "point": "高频点位", "issue": "高频问题"}


def readme_text(sample, gt: dict) -> str:
    seed_flag = "" if sample.seed == DEFAULT_SEED else f" --seed {sample.seed}"
    lines = [
        "# 示例数据：丰台区新村街道 12345 工单（虚构）",
        "",
        f"本目录由 `gaopin sample --out sample_data{seed_flag}` 生成，内容完全由随机种子（{sample.seed}）决定，"
        "同一种子每次生成的文件逐字节相同。街道、社区、人名、电话、工单都是虚构的。",
        "",
        f"{sd.DISTRICT}{sd.STREET}：18 个社区和 1 个村，约 11.37 万居民，老旧小区和大单位宿舍多；"
        f"2024 年 1 月 1 日至 10 月 31 日共 {gt['ticket_count']} 张工单。",
        "",
        "## 文件",
        "",
        "| 文件 | 内容 |",
        "|---|---|",
        "| `tickets.xlsx` | 工单明细（工作表“工单明细”）：第 1 行是合并的标题，第 2 行是说明，第 3 行是表头。"
        "电话多数是数字单元格，约 3% 的来电时间是手写文本，地址、分类写法不一，和真实导出一样 |",
        "| `tickets.csv` | 同一批工单的 GB18030 编码 CSV（无标题行；时间为 `YYYY-MM-DD HH:MM:SS` 文本，电话为文本）；"
        f"含有 GBK 无法表示的姓名“{sd.RARE_NAME}” |",
        "| `ground_truth.json` | 生成时埋入的案例、应当触发的预警（`expected_warnings`）、应当进入台账的记录（`expected_ledger`）"
        "和每月三率，供测试核对 |",
        "| `rankings.csv` | 区里公布的月度排名（UTF-8 带 BOM）：接诉量排名、综合成绩排名、市直派成绩 |",
        "| `gaopin.toml` | 示例配置：街道名、点位前缀、咨询类剔除、中心负责人和 9 位包片领导 |",
        "",
        "## 重新生成",
        "",
        "```",
        f"gaopin sample --out sample_data{seed_flag}",
        "```",
        "",
        "试用：",
        "",
        "```",
        "gaopin inspect sample_data/tickets.xlsx",
        "gaopin warn sample_data/tickets.xlsx --config sample_data/gaopin.toml",
        "```",
        "",
        "## 埋入的案例",
        "",
        "取自街道的案例材料。点位是地址归一到楼栋后的写法；预警和台账的阈值都是 gaopin 的默认值。",
        "",
        "| 案例 | 工单数 | 点位 | 问题分类 | 说明 | 预期结果 |",
        "|---|---|---|---|---|---|",
    ]
    for name, case in gt["cases"].items():
        categories = "<br>".join(case["categories"]) if len(case["categories"]) <= 3 else f"{case['category']} 等 {len(case['categories'])} 类"
        lines.append(
            f"| `{name}` | {case['ticket_count']} | {'、'.join(case['points'])} | {categories} | {case['description']} | {case['effect']} |"
        )
    lines += [
        "",
        "## 应当触发的预警",
        "",
        "整份数据（剔除咨询类后）应当恰好触发下列预警，其他工单都不应触发：",
        "",
        "| 规则 | 点位 | 问题分类 | 开始 | 结束 | 工单数 |",
        "|---|---|---|---|---|---|",
    ]
    for w in gt["expected_warnings"]:
        lines.append(
            f"| {RULE_NAMES[w['rule']]}（`{w['rule']}`） | {w['point']} | {w['category']} | {w['start']} | {w['end']} | {len(w['ticket_ids'])} |"
        )
    lines += [
        "",
        "## 应当进入台账的记录",
        "",
        "| 台账 | 案例 | 对象 | 工单数 |",
        "|---|---|---|---|",
    ]
    for e in gt["expected_ledger"]:
        if e["kind"] == "caller":
            who = f"{e['name']}（{len(e['phones'])} 个号码）"
        else:
            who = e["point"] + (f" / {e['category']}" if "category" in e else "")
        lines.append(f"| {LEDGER_NAMES[e['kind']]}（`{e['kind']}`） | `{e['case']}` | {who} | {len(e['ticket_ids'])} |")
    lines += [
        "",
        "其余工单是按“绝不触发”构造的背景：不使用任何案例点位；同一点位同一问题任意 3 天内至多 1 件、每月至多 1 件；"
        "同一点位每月至多 4 件；同一诉求人至多 3 件。",
        "",
        "## 每月三率",
        "",
        "综合成绩 = 100 ×（0.10 × 响应率 + 0.50 × 解决率 + 0.40 × 满意率），满意率 =（满意 + 0.9 × 基本满意）/ 有效回访。"
        "一月到八月逐月提高，八月最好，九、十月略有回落。",
        "",
        "| 月份 | 工单 | 有效回访 | 响应率 | 解决率 | 满意率 | 综合成绩 | 市直派成绩 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for month, m in gt["monthly"].items():
        v = m["valid"]
        sat = (m["satisfied"] + 0.9 * m["basically_satisfied"]) / v
        lines.append(
            f"| {month} | {m['tickets']} | {v} | {m['contacted'] / v:.1%} | {m['resolved'] / v:.1%} | {sat:.1%} | {m['score']:.2f} | {m['city_score']:.2f} |"
        )
    lines.append("")
    return "\n".join(lines)
