import pandas as pd

from gaopin.rules.persons import Links, callers, link_persons, name_key, person_column


def persons(rows, links=Links()):
    frame = pd.DataFrame(rows, columns=["phone", "name", "point"], dtype="str")
    return person_column(frame["phone"], frame["name"], frame["point"], links).tolist()


def test_numbers_used_under_one_name_at_one_point_are_one_person():
    out = persons([("13800000001", "赵建国", "A1号楼"), ("13800000002", "赵建国", "A1号楼")])
    assert out == ["13800000001", "13800000001"]


def test_linking_is_transitive_across_points():
    out = persons(
        [
            ("13800000003", "赵建国", "A1号楼"),
            ("13800000002", "赵建国", "A1号楼"),
            ("13800000002", "赵建国", "驿站"),
            ("13800000009", "赵建国", "驿站"),
        ]
    )
    assert set(out) == {"13800000002"}


def test_same_name_at_different_points_is_not_linked():
    out = persons([("13800000001", "王女士", "A1号楼"), ("13900000002", "王女士", "B2号楼")])
    assert out == ["13800000001", "13900000002"]


def test_different_names_at_one_point_are_not_linked():
    out = persons([("13800000001", "王女士", "A1号楼"), ("13900000002", "李先生", "A1号楼")])
    assert out == ["13800000001", "13900000002"]


def test_names_that_say_nothing_never_link():
    for name in ["匿名", "市民", "保密", "先生", "女士", "未知", "不详", "无", "匿名用户", None, " "]:
        out = persons([("13800000001", name, "A1号楼"), ("13900000002", name, "A1号楼")])
        assert out == ["13800000001", "13900000002"], name


def test_unusable_numbers_are_not_persons():
    out = persons([("123456", "赵建国", "A"), ("11111111", "赵建国", "A"), ("A000102948", "赵建国", "A"), (None, "赵建国", "A")])
    assert all(pd.isna(v) for v in out)


def test_manual_links_and_unlinks_override_the_rule():
    rows = [("13800000001", "赵建国", "A"), ("13800000002", "赵建国", "A"), ("13900000003", "钱", "B")]
    assert persons(rows, Links(pairs=(("13800000002", "13900000003"),)))[2] == "13800000001"
    out = persons(rows, Links(unlinked=frozenset({"13800000002"})))
    assert out == ["13800000001", "13800000002", "13900000003"]


def test_name_key_ignores_spacing_and_width():
    assert name_key(" 赵 建国") == name_key("赵建国")
    assert name_key("先生") == ""
    assert name_key("王先生") != ""


def test_person_codes_are_equal_exactly_where_the_persons_are():
    rows = [
        ("13800000001", "赵建国", "A"), ("13800000002", "赵建国", "A"), ("13900000003", "钱", "B"),
        ("13900000004", "钱", "C"), ("123", "赵建国", "A"), (None, "钱", "B"), ("13900000003", "匿名", None),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["phone", "name", "point"], dtype="str")
    point_codes, _ = pd.factorize(frame["point"], use_na_sentinel=True)
    for links in (Links(), Links(pairs=(("13900000003", "13800000001"),)), Links(unlinked=frozenset({"13800000002"}))):
        values, codes = link_persons(callers(frame["phone"], frame["name"]), point_codes, links)
        assert values.tolist() == person_column(frame["phone"], frame["name"], frame["point"], links).tolist()
        got = [None if pd.isna(v) else v for v in values]
        assert [c == -1 for c in codes] == [v is None for v in got]
        for i in range(len(got)):
            for j in range(len(got)):
                if got[i] is not None and got[j] is not None:
                    assert (codes[i] == codes[j]) == (got[i] == got[j]), links
