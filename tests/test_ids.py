from tutela.ids import new_id


def test_ids_sort_in_the_order_they_were_made() -> None:
    ids = [new_id("dec") for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("dec_") and len(i) == 30 for i in ids)
