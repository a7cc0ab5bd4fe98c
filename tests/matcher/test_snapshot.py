"""Index snapshots: written as .npy files, mapped back, and changed by a private overlay."""

from __future__ import annotations

import copy
import json
import mmap

import numpy as np
import pandas as pd
import pytest

from matcher.index import ItemIndex, ObjectColumn
from matcher.snapshot import (
    SnapshotError,
    current_id,
    list_snapshots,
    open_latest,
    open_snapshot,
    pointer_stamp,
    write_snapshot,
)


@pytest.fixture(scope="module")
def base_engine(make_engine, world_factory):
    jobs, workers = world_factory(n_workers=120, n_jobs=200, seed=11)
    jobs = jobs.assign(status="open", hired_count=0)
    # A small coarse copy, so that the snapshot carries one and search uses it.
    engine = make_engine(jobs, workers, candidate_pool=30, ann_min_rows=50, ann_dim=8)
    engine.ann_shortlist = 60
    return engine, jobs, workers


def mapped_from_file(array) -> bool:
    """True when ``array`` reads a file's map (through however many views)."""
    while array is not None:
        if isinstance(array, np.memmap | mmap.mmap):
            return True
        array = getattr(array, "base", None)
    return False


def on_snapshot(engine, snap):
    out = copy.deepcopy(engine)
    out.jobs_index_, out.workers_index_ = snap.jobs, snap.workers
    return out


def answers(engine, worker_ids, job_ids):
    def shape(items):
        return [
            (
                it.get("job_id", it.get("worker_id")),
                round(it["score"], 6),
                it.get("title"),
                tuple(map(str, it["reasons"])),
            )
            for it in items
        ]

    return (
        [shape(engine.recommend_jobs(int(w), k=8)) for w in worker_ids],
        [shape(engine.recommend_workers(int(j), k=8)) for j in job_ids],
        {w: shape(v) for w, v in engine.recommend_jobs_batch(worker_ids[:5], k=5).items()},
    )


def test_round_trip_ranks_identically_and_reads_file_maps(base_engine, tmp_path):
    engine, jobs, workers = base_engine
    assert engine.workers_index_.coarse is not None  # the coarse copy travels too
    path = write_snapshot(
        tmp_path, engine.jobs_index_, engine.workers_index_, model_version="m1", feed_position=42
    )
    snap = open_snapshot(path, model_version="m1")
    assert snap.feed_position == 42 and snap.model_version == "m1"
    assert snap.manifest["counts"] == {"jobs": 200, "workers": 120}
    mapped = on_snapshot(engine, snap)
    wids = workers["worker_id"].iloc[:12].tolist()
    jids = jobs["job_id"].iloc[:6].tolist()
    assert answers(mapped, wids, jids) == answers(engine, wids, jids)

    # The big arrays are the files' maps, not copies read into memory.
    w = snap.workers
    rules = w.prepared.rules
    for array in (
        w.embeddings,
        w.coarse,
        w.ids,
        w.active,
        w.lexical.data,
        w.lexical.indices,
        w._csc_main.data,
        w.prepared.columns["lat"],
        rules.age,
        rules.certificates.indices,
    ):
        assert mapped_from_file(array)
    assert not mapped_from_file(engine.workers_index_.embeddings)  # the check can fail
    codes = w.prepared.columns["second_codes"]
    assert isinstance(codes, ObjectColumn) and mapped_from_file(codes._base["values"])
    pd.testing.assert_frame_equal(w.prepared.frame, engine.workers_index_.prepared.frame)
    assert list(w.prepared.texts) == list(engine.workers_index_.prepared.texts)


def test_overlay_changes_match_the_same_changes_in_memory(base_engine, tmp_path, make_worker):
    engine, jobs, workers = base_engine
    path = write_snapshot(
        tmp_path, engine.jobs_index_, engine.workers_index_, model_version="m1", feed_position=1
    )
    mapped = on_snapshot(engine, open_snapshot(path))
    memory = copy.deepcopy(engine)
    before = mapped.workers_index_.embeddings[:3].copy()
    w0, w1, w2 = (int(i) for i in workers["worker_id"].iloc[:3])
    new = [
        make_worker(worker_id=90_001, skills_text="会开叉车，做过仓管"),
        make_worker(worker_id=90_002, skills_text="电子厂流水线插件"),
    ]
    changed = workers[workers["worker_id"] == w1].assign(skills_text="会电焊，氩弧焊有证")
    closed = jobs.iloc[[0]].assign(status="filled")
    added_job = jobs.iloc[[1]].assign(job_id=80_001, title="叉车司机 包吃住")
    for e in (mapped, memory):
        e.add_workers(new)
        e.update_workers(changed)
        e.remove_workers([w2])
        e.update_jobs(closed)
        e.add_jobs(added_job)
    widx = mapped.workers_index_
    assert widx.n_base == 120 and widx.overlay_rows == 3
    assert 90_001 in widx and w2 not in widx and widx.row_of(w1) >= 120
    with pytest.raises(KeyError, match=str(w2)):
        widx.row_of(w2)
    wids = [90_001, 90_002, w0, w1]
    jids = [80_001] + jobs["job_id"].iloc[2:6].tolist()
    assert answers(mapped, wids, jids) == answers(memory, wids, jids)
    assert all(it["job_id"] != int(jobs["job_id"].iat[0]) for it in mapped.recommend_jobs(w0, k=50))
    assert mapped.recommend_workers(80_001, k=5)

    # Changes stay in the process: the files, opened again, hold the snapshot's rows.
    again = open_snapshot(path)
    assert again.workers.n_rows == 120 and w2 in again.workers and 90_001 not in again.workers
    np.testing.assert_array_equal(again.workers.embeddings[:3], before)


def test_appending_to_a_snapshot_writes_into_its_spare_rows(base_engine, tmp_path, make_worker):
    engine, _, _ = base_engine
    path = write_snapshot(
        tmp_path,
        engine.jobs_index_,
        engine.workers_index_,
        model_version="m1",
        feed_position=1,
        spare_rows=4,
    )
    mapped = on_snapshot(engine, open_snapshot(path))
    idx = mapped.workers_index_
    emb_buffer, lat_buffer = idx._emb.buf, idx._cols["lat"].buf
    assert isinstance(emb_buffer, np.memmap) and emb_buffer.shape[0] == 124
    for k in range(4):
        mapped.add_workers([make_worker(worker_id=70_000 + k)])
    assert idx._emb.buf is emb_buffer and idx._cols["lat"].buf is lat_buffer
    mapped.add_workers([make_worker(worker_id=70_100)])  # past the spare rows: private copy
    assert idx._emb.buf is not emb_buffer and not isinstance(idx._emb.buf, np.memmap)
    assert idx.n_rows == 125 and idx.row_of(70_100) == 124
    memory = copy.deepcopy(engine)
    memory.add_workers([make_worker(worker_id=i) for i in (70_000, 70_001, 70_002, 70_003)])
    memory.add_workers([make_worker(worker_id=70_100)])
    jids = mapped.jobs_index_.ids[:5].tolist()
    assert answers(mapped, [70_000, 70_100], jids) == answers(memory, [70_000, 70_100], jids)


def test_publish_is_atomic_and_old_snapshots_are_pruned(base_engine, tmp_path, monkeypatch):
    engine, _, _ = base_engine
    j, w = engine.jobs_index_, engine.workers_index_
    assert current_id(tmp_path, "m1") is None and open_latest(tmp_path, "m1") is None
    first = write_snapshot(tmp_path, j, w, model_version="m1", feed_position=5)
    stamp = pointer_stamp(tmp_path, "m1")
    assert current_id(tmp_path, "m1") == first.name
    second = write_snapshot(tmp_path, j, w, model_version="m1", feed_position=6)
    assert pointer_stamp(tmp_path, "m1") != stamp
    assert open_latest(tmp_path, "m1").feed_position == 6
    assert list_snapshots(tmp_path, "m1") == [first, second]  # the previous one is kept

    # A writer that fails half way publishes nothing and leaves nothing behind.
    def broken(self):
        yield "ids", np.array(self.ids), True
        raise OSError("磁盘已满")

    with monkeypatch.context() as m:
        m.setattr(ItemIndex, "snapshot_arrays", broken)
        with pytest.raises(OSError, match="磁盘已满"):
            write_snapshot(tmp_path, j, w, model_version="m1", feed_position=7)
    assert current_id(tmp_path, "m1") == second.name
    assert sorted(p.name for p in (tmp_path / "m1").iterdir()) == sorted(
        [first.name, second.name, "current"]
    )
    third = write_snapshot(tmp_path, j, w, model_version="m1", feed_position=8)
    assert list_snapshots(tmp_path, "m1") == [second, third]
    assert json.loads((third / "manifest.json").read_text())["feed_position"] == 8
    assert (tmp_path / "m1").stat().st_mode & 0o077 == 0  # owner-only: rows describe people

    # Another model version has its own snapshots; a mismatch is refused by name.
    assert open_latest(tmp_path, "m2") is None
    with pytest.raises(SnapshotError, match="m1"):
        open_snapshot(third, model_version="m2")


def test_an_emptied_index_snapshots_and_grows_again(base_engine, tmp_path):
    engine, jobs, _ = base_engine
    e = copy.deepcopy(engine)
    e.remove_jobs(e.jobs_index_.active_ids().tolist())
    path = write_snapshot(
        tmp_path, e.jobs_index_, e.workers_index_, model_version="m", feed_position=0
    )
    mapped = on_snapshot(e, open_snapshot(path))
    assert (
        mapped.jobs_index_.n_rows == 0 and mapped.recommend_jobs(int(e.workers_index_.ids[0])) == []
    )
    mapped.add_jobs(jobs.iloc[:5])
    assert len(mapped.jobs_index_) == 5
    assert {it["job_id"] for it in mapped.recommend_jobs(int(e.workers_index_.ids[0]), k=5)} <= set(
        jobs["job_id"].iloc[:5]
    )


def test_rows_added_on_a_snapshot_number_new_certificates_as_its_rows(
    base_engine, tmp_path, make_job, make_worker
):
    """Preparing rows grows the certificate vocabulary with ids the model never saw; another
    process (the model as loaded, without them) must number them as the snapshot did, or a
    hard rule would read another certificate's column."""
    from matcher.rules import jobs_mask_for_worker
    from matcher.snapshot import attach, engine_facts

    engine, _, _ = base_engine
    builder = copy.deepcopy(engine)
    model = copy.deepcopy(engine)  # what a starting process loads
    builder.add_jobs(
        [
            make_job(job_id=9001, certificates_required=["潜水证"]),
            make_job(job_id=9002, certificates_required=["爆破证"]),
        ]
    )
    path = write_snapshot(
        tmp_path,
        builder.jobs_index_,
        builder.workers_index_,
        model_version="m",
        feed_position=0,
        extra=engine_facts(builder),
    )
    other = attach(model, open_snapshot(path))
    other.add_workers([make_worker(worker_id=9100, certificates=["爆破证"])])
    widx, jidx = other.workers_index_, other.jobs_index_
    mask = jobs_mask_for_worker(widx.prepared.rules, widx.row_of(9100), jidx.prepared.rules)
    assert mask[jidx.row_of(9002)] and not mask[jidx.row_of(9001)]


@pytest.mark.parametrize(
    "values",
    [
        ["缝纫工", None, "", "电焊工", "缝纫工", "叉车司机（持证）", None, "a"],
        [("苏州市", "无锡市"), (), ("南京市",), ("", "常州市", "扬州市"), (), ("苏州市", "无锡市")],
    ],
    ids=["str", "tuple"],
)
@pytest.mark.parametrize("whole", [False, True], ids=["bytes", "decoded-whole"])
def test_object_column_reads_rows_as_the_values_it_was_written_from(values, whole, monkeypatch):
    """Rows read in bulk (repeated, unordered, negative, masks, slices; base and appended
    rows together) are the values themselves, as one object array would give them: read
    from the bytes, or from the base decoded whole after its first bulk read."""
    import matcher.index
    from matcher.index import encode_objects

    monkeypatch.setattr(matcher.index, "DECODE_WHOLE_READ", 2 if whole else 10**9)
    kind, arrays = encode_objects(values)
    col = ObjectColumn(arrays, kind)
    tail = [("连云港市",), ()] if kind == "tuple" else ["保安", None]
    col.append(tail)
    expected = np.empty(len(values) + len(tail), dtype=object)
    for k, v in enumerate(values + tail):
        expected[k] = v
    rng = np.random.default_rng(3)
    keys = [
        rng.integers(0, len(expected), 40),
        np.array([3, 3, 3, 3]),
        np.array([len(expected) - 1, 0, -1, -len(expected)]),
        rng.random(len(expected)) < 0.5,
        slice(1, None, 2),
        np.array([], dtype=np.int64),
    ]
    for key in keys:
        assert col[key].tolist() == expected[key].tolist()
    assert (col._whole is not None) == whole
    assert [col[i] for i in range(-len(expected), len(expected))] == (expected.tolist() * 2)
    with pytest.raises(IndexError):
        col[np.array([len(expected)])]


def test_crowding_prices_travel_in_the_snapshot(make_engine, make_job, make_worker, tmp_path):
    """The builder's prices are written beside the rows and mapped back: a process on the
    snapshot answers each worker exactly as the builder would; a snapshot written without
    prices serves none."""
    from matcher.snapshot import attach

    jobs = [make_job(job_id=1 + i, wage_min=6500, wage_max=8000, headcount=1) for i in range(2)]
    jobs += [make_job(job_id=10 + i, wage_min=6000, wage_max=7500, headcount=20) for i in range(8)]
    workers = [make_worker(worker_id=100 + i, min_wage=4000 + 10 * i) for i in range(40)]
    engine = make_engine(jobs, workers)
    plain = {w: engine.recommend_jobs(w, k=3) for w in range(100, 140)}
    prices = engine.price_crowding(0.2, k=3, per_place=3)
    assert len(prices.job_ids)
    priced = {w: engine.recommend_jobs(w, k=3) for w in range(100, 140)}
    assert priced != plain

    path = write_snapshot(
        tmp_path,
        engine.jobs_index_,
        engine.workers_index_,
        model_version="m1",
        feed_position=1,
        crowding=prices,
    )
    snap = open_snapshot(path)
    assert snap.manifest["crowding"]["spread"] == 0.2
    assert snap.manifest["crowding"]["workers_priced"] == 40
    assert mapped_from_file(snap.crowding.prices) and mapped_from_file(snap.crowding.job_ids)
    served = attach(copy.deepcopy(engine), snap)
    assert {w: served.recommend_jobs(w, k=3) for w in range(100, 140)} == priced

    bare = write_snapshot(
        tmp_path, engine.jobs_index_, engine.workers_index_, model_version="m1", feed_position=2
    )
    old = attach(copy.deepcopy(engine), open_snapshot(bare))
    assert old.crowding_ is None
    assert {w: old.recommend_jobs(w, k=3) for w in range(100, 140)} == plain
