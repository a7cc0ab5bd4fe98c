from __future__ import annotations

import datetime as dt
import json
import stat

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import storage as st
from api.cli import cli
from api.config import REPO_ROOT, load_config
from data.idcard import make_id_numbers

WORKER_HEADER = "姓名,身份证号,县区代码,学历,手机号,意向城市,期望月薪,建档立卡"


# --------------------------------------------------------------------------- config
def test_load_config_layers_environment_then_overrides():
    env = {
        "JOBBRIDGE_DATABASE_URL": "sqlite:///x.db",
        "JOBBRIDGE_PAGE_SIZE": "20",
        "JOBBRIDGE_ID_KEY": "",
        "OTHER": "ignored",
    }
    config = load_config({"PAGE_SIZE": 30}, environ=env)
    assert config["DATABASE_URL"] == "sqlite:///x.db"
    assert config["PAGE_SIZE"] == 30
    assert config["ID_KEY"] is None
    assert "OTHER" not in config
    default = load_config(environ={})
    assert default["DATABASE_URL"] == f"sqlite:///{REPO_ROOT / 'instance' / 'jobbridge.db'}"


def test_the_embedded_database_lives_in_the_instance_folder(tmp_path):
    """A deployment that moves ``INSTANCE_DIR`` gets its SQLite file there, not in the
    checkout; an explicit ``DATABASE_URL`` still wins."""
    moved = load_config(environ={"JOBBRIDGE_INSTANCE_DIR": str(tmp_path)})
    assert moved["DATABASE_URL"] == f"sqlite:///{tmp_path / 'jobbridge.db'}"
    both = {"JOBBRIDGE_INSTANCE_DIR": str(tmp_path), "JOBBRIDGE_DATABASE_URL": "sqlite:///y.db"}
    assert load_config(environ=both)["DATABASE_URL"] == "sqlite:///y.db"


def test_the_service_opens_the_database_of_its_instance_folder(tmp_path):
    from api import create_app

    app = create_app({"INSTANCE_DIR": str(tmp_path), "TESTING": True}, load_engine=False)
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'jobbridge.db'}"


@pytest.mark.parametrize("value", ["many", "0", "-5"])
def test_load_config_rejects_bad_numbers(value):
    with pytest.raises(ValueError, match="MAX_CONTENT_LENGTH"):
        load_config(environ={"JOBBRIDGE_MAX_CONTENT_LENGTH": value})


# --------------------------------------------------------------------------- fixtures
@pytest.fixture
def env(database_url, tmp_path, id_key):
    return {
        "JOBBRIDGE_DATABASE_URL": database_url,
        "JOBBRIDGE_INSTANCE_DIR": str(tmp_path / "inst"),
        "JOBBRIDGE_ID_KEY": id_key,
    }


@pytest.fixture
def run(env):
    runner = CliRunner()

    def invoke(*args: str, **kwargs):
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False, **kwargs)

    return invoke


@pytest.fixture
def ready(run, env):
    assert run("init-db").exit_code == 0
    engine = st.make_engine(env["JOBBRIDGE_DATABASE_URL"])
    yield engine
    engine.dispose()


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture(scope="module")
def ten_thousand_workers(tmp_path_factory):
    """A UTF-8 CSV of 10,000 valid workers, and the same with row 5,001 given a bad check digit."""
    n = 10_000
    ids = make_id_numbers(
        np.array(["630224"] * n),
        np.array(["1985-05-05"] * n, dtype="datetime64[D]") + np.arange(n) // 400,
        np.arange(n) % 400,
        np.array(["男"] * n),
    )
    lines = [WORKER_HEADER] + [
        f"马{i},{x},630224,初中,138{i:08d},苏州,4500,是" for i, x in enumerate(ids)
    ]
    bad = list(lines)
    number = ids[4999]
    bad[5000] = bad[5000].replace(number, number[:-1] + ("1" if number[-1] != "1" else "2"))
    folder = tmp_path_factory.mktemp("import")
    good_path, bad_path = folder / "good.csv", folder / "bad.csv"
    good_path.write_text("\n".join(lines), encoding="utf-8")
    bad_path.write_text("\n".join(bad), encoding="utf-8")
    return good_path, bad_path


# --------------------------------------------------------------------------- init-db
def test_init_db_is_idempotent_and_creates_dev_key(database_url, tmp_path):
    env = {
        "JOBBRIDGE_DATABASE_URL": database_url,
        "JOBBRIDGE_INSTANCE_DIR": str(tmp_path / "inst"),
        "JOBBRIDGE_ID_KEY": "",
    }
    runner = CliRunner()
    first = runner.invoke(cli, ["init-db"], env=env)
    assert first.exit_code == 0, first.output
    key_file = tmp_path / "inst" / "id_key"
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "JOBBRIDGE_ID_KEY" in first.stderr and str(key_file) in first.stderr
    second = runner.invoke(cli, ["init-db"], env=env)
    assert second.exit_code == 0 and "JOBBRIDGE_ID_KEY" not in second.stderr
    assert "已建立基础模型" not in second.stderr  # a model exists now: none is built again
    from alembic.script import ScriptDirectory

    from api.storage.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"结构版本 {head}" in second.stderr


def test_commands_on_uninitialised_database_say_init_db(run):
    result = run("keys", "list")
    assert result.exit_code == 1
    assert "jobbridge init-db" in result.stderr and "Traceback" not in result.output


# --------------------------------------------------------------------------- keys
def test_keys_create_prints_only_the_key(run, ready):
    with st.session_scope(ready) as s:
        firm_id = st.create_firm(s, {"name": "立讯精密", "city": "苏州市"}).id
    result = run("keys", "create", "--role", "hr", "--firm", str(firm_id), "--name", "立讯HR")
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and token.startswith("jb_") and " " not in token
    with Session(ready) as s:
        key = st.authenticate(s, token)
        assert (key.role, key.firm_id, key.name) == ("hr", firm_id, "立讯HR")
    listing = run("keys", "list").stdout
    assert "立讯HR" in listing and token not in listing and "有效" in listing
    assert run("keys", "revoke", str(key.id)).exit_code == 0
    with Session(ready) as s:
        assert st.authenticate(s, token) is None
    assert "已吊销" in run("keys", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "hr", "--name", "x"], "--firm"),
        (["--role", "bureau", "--name", "x"], "--region"),
        (["--role", "boss", "--name", "x"], "boss"),
        (["--role", "hr", "--firm", "999", "--name", "x"], "企业 999 不存在"),
        (["--role", "bureau", "--region", "海东", "--name", "x"], "地区代码"),
        (["--role", "bureau", "--region", "9999", "--name", "x"], "9999 不是任何协作县代码的前缀"),
        (["--role", "bureau", "--firm", "3", "--region", "6302", "--name", "x"], "不能指定企业"),
        (["--role", "organiser", "--region", "6302", "--name", "x"], "不能指定地区代码"),
    ],
)
def test_keys_create_refuses_with_a_sentence(run, ready, args, message):
    result = run("keys", "create", *args)
    assert result.exit_code in (1, 2)
    assert message in result.stderr and result.stdout == ""
    assert _count(ready, st.ApiKey) == 0


def test_keys_revoke_unknown(run, ready):
    result = run("keys", "revoke", "42")
    assert result.exit_code == 1 and "42 不存在" in result.stderr


# --------------------------------------------------------------------------- load-demo
def test_load_demo_then_refuses_non_empty_unless_replace(run, ready):
    result = run(
        "load-demo",
        "--workers",
        "300",
        "--jobs",
        "40",
        "--seed",
        "3",
        "--events-workers",
        "50",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert "劳动力 300 人" in result.stdout
    assert _count(ready, st.Worker) == 300 and _count(ready, st.Job) == 40
    events = _count(ready, st.OutcomeEvent)
    assert events > 0
    with Session(ready) as s:
        assert s.scalar(select(func.count(func.distinct(st.OutcomeEvent.worker_id)))) <= 50
        jobs, workers, ev = st.read_world(s)
    assert len(jobs) == 40 and len(workers) == 300 and len(ev) == events

    again = run("load-demo", "--workers", "100", "--jobs", "10", "--quiet")
    assert again.exit_code == 1 and "--replace" in again.stderr
    assert _count(ready, st.Worker) == 300
    replaced = run("load-demo", "--workers", "100", "--jobs", "10", "--quiet", "--replace")
    assert replaced.exit_code == 0
    assert _count(ready, st.Worker) == 100
    assert run("load-demo", "--workers", "0", "--quiet").exit_code == 2


# --------------------------------------------------------------------------- import / export
def test_import_with_one_bad_row_among_10000_stores_nothing(run, ready, ten_thousand_workers):
    _, bad = ten_thousand_workers
    result = run("import", "workers", str(bad))
    assert result.exit_code == 1
    assert "第5001行" in result.stderr and "校验位" in result.stderr
    assert "未导入任何数据" in result.stderr
    assert result.stderr.count("第5001行") == 1 and "第5002行" not in result.stderr
    assert _count(ready, st.Worker) == 0


def test_import_skip_invalid_writes_rejects(run, ready, ten_thousand_workers, tmp_path):
    good, bad = ten_thousand_workers
    # 500 good rows, then the bad row of the big file (row 502 here), then one more good row.
    good_lines = good.read_text(encoding="utf-8").splitlines()
    bad_line = bad.read_text(encoding="utf-8").splitlines()[5000]
    source = tmp_path / "some.csv"
    source.write_text("\n".join([*good_lines[:501], bad_line, good_lines[600]]), encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    result = run("import", "workers", str(source), "--skip-invalid", "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert "已导入劳动力 501 条" in result.stdout and "第502行" in result.stderr
    assert _count(ready, st.Worker) == 501
    frame = pd.read_csv(rejects, dtype=str, encoding="utf-8-sig")
    assert frame["行号"].tolist() == ["502"] and "校验位" in frame["错误原因"][0]
    assert frame["姓名"][0] == "马4999"
    # The same people again: every row is a duplicate of a stored worker, nothing is added.
    again = run("import", "workers", str(source), "--skip-invalid")
    assert again.exit_code == 0 and "已导入劳动力 0 条" in again.stdout
    assert "已登记，不能重复登记" in again.stderr
    assert _count(ready, st.Worker) == 501


def test_import_jobs_from_gbk_csv_creates_firms(run, ready, tmp_path):
    path = tmp_path / "岗位.csv"
    text = (
        "企业名称,岗位名称,工作城市,月薪下限,月薪上限,招聘人数,包吃,包住,所需证书,最低学历\n"
        "昆山立讯精密,普工+包吃住+月入6000,昆山,5000,6500,30,是,是,叉车证,初中\n"
        "昆山立讯精密,SMT操作工,苏州市昆山市,5500,7000,10,是,是,,高中\n"
        "无锡海澜,缝纫工,无锡,4500,8000,5,否,是,,\n"
    )
    path.write_bytes(text.encode("gbk"))
    # Unregistered firms are refused, each row named, unless the admin asks to register them.
    refused = run("import", "jobs", str(path))
    assert refused.exit_code == 1
    assert "第2行" in refused.stderr and "第4行" in refused.stderr
    assert "企业 '无锡海澜' 未登记" in refused.stderr
    assert _count(ready, st.Job) == 0 and _count(ready, st.Firm) == 0
    result = run("import", "jobs", str(path), "--create-firms")
    assert result.exit_code == 0, result.output
    assert "已导入岗位 3 条" in result.stdout
    with Session(ready) as s:
        jobs, _, _ = st.read_world(s)
        assert st.list_firms(s).total == 2
    assert jobs["firm_name"].tolist() == ["昆山立讯精密", "昆山立讯精密", "无锡海澜"]
    assert jobs["city"].tolist() == ["苏州市", "苏州市", "无锡市"]
    assert jobs["district"].tolist()[:2] == ["昆山市", "昆山市"]
    assert jobs["certificates_required"][0] == ["special_equipment.forklift"]
    assert jobs["education_min"].tolist()[:2] == ["初中", "高中"]


def test_import_jobs_lists_every_bad_row(run, ready, tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text(
        "企业名称,岗位名称,工作城市,月薪下限,月薪上限,招聘人数,年龄下限,年龄上限\n"
        "甲厂,普工,苏州,5000,6000,3,18,45\n"
        "乙厂,普工,苏州,7000,6000,3,18,45\n"
        "丙厂,普工,苏州,5000,6000,0,18,45\n"
        ",普工,苏州,5000,6000,3,50,20\n",
        encoding="utf-8",
    )
    result = run("import", "jobs", str(path), "--create-firms")
    assert result.exit_code == 1
    for row in ("第3行", "第4行", "第5行"):
        assert row in result.stderr
    assert "第2行" not in result.stderr.split("\n", 1)[1]
    assert _count(ready, st.Job) == 0 and _count(ready, st.Firm) == 0


def test_import_refuses_a_fake_xlsx(run, ready, tmp_path):
    path = tmp_path / "workers.xlsx"
    path.write_text("姓名,身份证号\n", encoding="utf-8")
    result = run("import", "workers", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "xlsx" in result.stderr.lower()


def test_rejects_needs_skip_invalid(run, ready, tmp_path):
    path = tmp_path / "w.csv"
    path.write_text(WORKER_HEADER + "\n", encoding="utf-8")
    result = run("import", "workers", str(path), "--rejects", str(tmp_path / "r.csv"))
    assert result.exit_code == 2 and "--skip-invalid" in result.stderr


def test_export_masks_ids_unless_asked_and_audits(run, ready, tmp_path, ten_thousand_workers):
    good, _ = ten_thousand_workers
    small = tmp_path / "small.csv"
    small.write_text("\n".join(good.read_text(encoding="utf-8").splitlines()[:6]), encoding="utf-8")
    assert run("import", "workers", str(small)).exit_code == 0
    original = pd.read_csv(small, dtype=str)

    masked = tmp_path / "masked.xlsx"
    assert run("export", "workers", "-o", str(masked)).exit_code == 0
    frame = pd.read_excel(masked, dtype=str)
    assert frame["身份证号"].str.contains(r"^\d{4}\*{10}[\dX]{4}$").all()
    assert not set(original["身份证号"]) & set(frame["身份证号"])
    with Session(ready) as s:
        audited = s.execute(select(st.AuditEntry.actor, st.AuditEntry.action)).all()
    # the import is audited as the HTTP import is (one row per worker); a masked export is not
    assert audited == [("cli", "create")] * 5

    full = tmp_path / "full.csv"
    result = run("export", "workers", "--format", "csv", "-o", str(full), "--with-id-numbers")
    assert result.exit_code == 0 and "审计" in result.stderr
    frame = pd.read_csv(full, dtype=str, encoding="utf-8-sig")
    assert frame["身份证号"].tolist() == original["身份证号"].tolist()
    assert frame["姓名"].tolist() == original["姓名"].tolist()
    with Session(ready) as s:
        entry = s.scalars(select(st.AuditEntry).where(st.AuditEntry.action == "export")).one()
    assert (entry.actor, entry.action, entry.object_type, entry.fields) == (
        "cli",
        "export",
        "worker",
        ["id_number"],
    )

    # The full export imports back into an empty database as the same workers.
    with st.session_scope(ready) as s:
        s.execute(st.Worker.__table__.delete())
    assert run("import", "workers", str(full)).exit_code == 0
    with Session(ready) as s:
        _, workers, _ = st.read_world(s)
    assert workers["name"].tolist() == original["姓名"].tolist()
    assert workers["preferred_cities"].tolist() == [["苏州市"]] * 5
    assert workers["birth_date"].iloc[0] == dt.date(1985, 5, 5)


def test_export_format_from_suffix(run, ready, tmp_path):
    result = run("export", "jobs", "-o", str(tmp_path / "jobs.txt"))
    assert result.exit_code == 2 and "--format" in result.stderr
    result = run("export", "jobs", "-o", str(tmp_path / "jobs.csv"), "--with-id-numbers")
    assert result.exit_code == 2


def test_serve_builds_gunicorn_app(monkeypatch, run, ready):
    """serve hands gunicorn the bind/workers/threads options and the lazily imported app."""
    import gunicorn.app.base

    seen = {}

    def fake_run(self):
        seen["bind"] = self.cfg.bind
        seen["workers"] = self.cfg.workers
        seen["threads"] = self.cfg.threads
        seen["timeout"] = self.cfg.timeout
        seen["loader"] = self.load

    monkeypatch.setattr(gunicorn.app.base.BaseApplication, "run", fake_run)
    result = run("serve", "--host", "0.0.0.0", "--port", "8123", "--workers", "3", "--threads", "2")
    assert result.exit_code == 0, result.output
    assert seen["bind"] == ["0.0.0.0:8123"] and seen["workers"] == 3 and seen["threads"] == 2
    # The engine is fitted while each process boots, so gunicorn must wait for it.
    assert seen["timeout"] == 600
    assert callable(seen["loader"])


def test_serve_hands_the_command_line_database_to_the_app(monkeypatch, run, ready, env, tmp_path):
    """`jobbridge --database-url URL serve` serves URL, not what the environment names."""
    import gunicorn.app.base

    apps = []
    monkeypatch.setattr(
        gunicorn.app.base.BaseApplication, "run", lambda self: apps.append(self.load())
    )
    url = env["JOBBRIDGE_DATABASE_URL"]
    env["JOBBRIDGE_DATABASE_URL"] = "sqlite:///" + str(tmp_path / "elsewhere.db")
    result = run("--database-url", url, "serve", "--lazy")
    assert result.exit_code == 0, result.output
    assert apps[0].config["DATABASE_URL"] == url
    assert apps[0].config["ENGINE_PRELOAD"] is False


def test_demo_loads_trains_and_serves_once(monkeypatch, run, env, tmp_path):
    import api.cli as cli_module

    calls = {"train": [], "serve": []}
    monkeypatch.setattr(cli_module, "DEMO_WORKERS", 150)
    monkeypatch.setattr(cli_module, "DEMO_JOBS", 20)

    def fake_train_default(database_url, models_dir, world=None, *, events=None, **kwargs):
        calls["train"].append((database_url, models_dir, len(world.workers), len(events)))
        version = tmp_path / "models" / "v1"
        version.mkdir(parents=True)
        meta = {"format": 3, "kind": "trained", "libraries": {}}
        (version / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
        (tmp_path / "models" / "current").write_text("v1\n", encoding="utf-8")
        return version

    import training.pipeline

    monkeypatch.setattr(training.pipeline, "train_default", fake_train_default)
    monkeypatch.setattr(cli_module, "serve", lambda **kw: calls["serve"].append(kw))
    env["JOBBRIDGE_MODELS_DIR"] = str(tmp_path / "models")

    first = run("demo", "--port", "8765", "--quiet")
    assert first.exit_code == 0, first.output
    assert calls["train"] == [
        (env["JOBBRIDGE_DATABASE_URL"], str(tmp_path / "models"), 150, calls["train"][0][3])
    ]
    assert calls["train"][0][3] > 0
    assert calls["serve"] == [
        {
            "host": "127.0.0.1",
            "port": 8765,
            "workers": 2,
            "threads": 4,
            "timeout": 600,
            "overrides": {
                "DATABASE_URL": env["JOBBRIDGE_DATABASE_URL"],
                "ENGINE_PRELOAD": True,
                "NUMERIC_THREADS": 1,
            },
        }
    ]

    second = run("demo", "--quiet")
    assert second.exit_code == 0
    assert len(calls["train"]) == 1 and len(calls["serve"]) == 2  # data and models kept
    engine = st.make_engine(env["JOBBRIDGE_DATABASE_URL"])
    assert _count(engine, st.Worker) == 150
    engine.dispose()


def test_database_url_option_and_bad_environment(tmp_path, id_key):
    runner = CliRunner()
    other = tmp_path / "other.db"
    env = {
        "JOBBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'default.db'}",
        "JOBBRIDGE_ID_KEY": id_key,
    }
    result = runner.invoke(cli, ["--database-url", f"sqlite:///{other}", "init-db"], env=env)
    assert result.exit_code == 0, result.output
    assert other.exists() and not (tmp_path / "default.db").exists()
    bad = runner.invoke(cli, ["init-db"], env={**env, "JOBBRIDGE_PAGE_SIZE": "lots"})
    assert bad.exit_code == 1 and "PAGE_SIZE" in bad.stderr and "Traceback" not in bad.output
    bad_key = runner.invoke(cli, ["init-db"], env={**env, "JOBBRIDGE_ID_KEY": "short"})
    assert bad_key.exit_code == 1 and "base64" in bad_key.stderr


# --------------------------------------------------------------------------- train / evaluate
def test_train_from_the_database_then_evaluate_stored(run, ready, env, tmp_path):
    """`train` learns from the stored events and makes the version current; `evaluate --stored`
    prints the figures written into its metadata."""
    import json

    env["JOBBRIDGE_MODELS_DIR"] = str(tmp_path / "models")
    assert run("load-demo", "--workers", "400", "--jobs", "80", "--quiet").exit_code == 0
    result = run("train", "--encoder", "char-ngram", "--quiet")
    assert result.exit_code == 0, result.output
    folder = result.stdout.strip()
    assert (tmp_path / "models" / "current").read_text().strip() == folder.rsplit("/", 1)[-1]
    assert (tmp_path / "models" / folder.rsplit("/", 1)[-1] / "metadata.json").is_file()

    shown = run("evaluate", "--stored", "--json")
    assert shown.exit_code == 0, shown.output
    figures = json.loads(shown.stdout)
    assert 0.0 <= figures["retention"]["auc"] <= 1.0
    assert "AUC" in run("evaluate", "--stored").stdout


def test_train_without_events_and_evaluate_without_model_are_sentences(run, ready, env, tmp_path):
    env["JOBBRIDGE_MODELS_DIR"] = str(tmp_path / "models")
    result = run("train", "--encoder", "char-ngram")
    assert result.exit_code == 1 and "没有就业结果事件" in result.output
    result = run("evaluate", "--stored")
    assert result.exit_code == 1 and "jobbridge train" in result.output
    result = run("train", "--encoder", str(tmp_path / "no-such-model"))
    assert result.exit_code == 2 and "模型目录" in result.output
