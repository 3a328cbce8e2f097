from gaopin.ledger.model import assign_fields, assign_text


def test_an_assign_text_reads_back_as_the_fields_it_set():
    changes = {"owner": "李四", "unit": "物业办", "deadline": "2024-09-10", "measures": "约谈；回访"}
    assert assign_fields(assign_text(changes)) == [changes]
    assert assign_fields(assign_text({"unit": ""})) == [{"unit": ""}]
    # A 办理时限 that is no date was typed into the owner: assign takes only dates.
    assert assign_fields("包案领导：李四；办理时限：下周") == [{"owner": "李四；办理时限：下周"}]


def test_an_assign_text_that_reads_two_ways_gives_both_and_one_that_is_none_gives_none():
    assert assign_fields("责任单位：a；化解措施：b；化解措施：c") == [{"unit": "a", "measures": "b；化解措施：c"}, {"unit": "a；化解措施：b", "measures": "c"}]
    assert assign_fields("已约谈") == []
