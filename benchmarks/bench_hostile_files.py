"""Benchmark of hostile uploads: the status, seconds and memory of each file, API and CLI.

Every file of the hostile corpus (``tests/data/hostile_files.py``: the 5 KB dimension bomb of
issue 12, truncated XML, broken styles, billion laughs, zip bombs, 16,384 columns, NUL bytes,
mixed encodings, ...) and one valid worker sheet go, each in a fresh process, through

* the API: ``POST /api/v1/workers/import`` on the Flask test client of a real app (SQLite);
* the CLI: ``jobbridge import workers FILE``.

For each it prints the status (HTTP status / exit code), the seconds, the peak memory growth
(the process's peak RSS minus its RSS just before the upload or the command) and the
process's max RSS. The CLI runs in-process through click, as the console script does, after
its imports; the wall time of the whole console command on the bomb is printed at the end.

Target (issue 12): the dimension bomb answered 4xx in ≤ 1 s with ≤ 50 MB growth, API and CLI.

    .venv/bin/python benchmarks/bench_hostile_files.py               # corpus + 5,000 valid rows
    .venv/bin/python benchmarks/bench_hostile_files.py --rows 100000 # full-size valid sheet
    .venv/bin/python benchmarks/bench_hostile_files.py --only dimension_bomb

Measured 2026-12-02 on the shared 2-core machine (default scale): the dimension bomb 422 in
0.012 s with 0.6 MiB growth through the API, exit 1 in 0.004 s with 0.1 MiB through the CLI
(1.3 s for the whole console command, 0.2 s of it Python start-up); all 33 hostile files
4xx, none over 0.4 s or 20 MiB growth (the slowest: 100,001 CSV rows, 0.37 s, 20 MiB);
max RSS 441 MiB, the service's own start-up. The code before issue 12 had not answered the
bomb after 20 s (stopped at a 3 GB address-space limit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.memory import max_rss_mib, peak_mib, reset_peak, rss_mib  # noqa: E402


def valid_workers_xlsx(rows: int) -> bytes:
    """A realistic register of ``rows`` workers (openpyxl, as a bureau's export would be)."""
    import openpyxl

    from data.idcard import make_id_number

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("劳动力")
    ws.append(["姓名", "身份证号", "县区代码", "学历", "手机号", "技能", "意向城市", "期望月薪"])
    for i in range(rows):
        birth = dt.date(1975, 1, 1) + dt.timedelta(days=i % 9000)
        number = make_id_number("630224", birth, i // 9000 + 1, "男" if i % 2 else "女")
        ws.append(
            [f"测试{i}", number, "630224", "初中毕业", f"138{i:08d}", "做过缝纫工", "苏州", 3500]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- children


def child_api(path: str, database: str, key: str) -> dict:
    """One upload through the app's test client; runs in its own process."""
    from api import create_app, storage
    from api.service import state
    from api.storage import session_scope

    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "ID_KEY": key,
            "INSTANCE_DIR": str(Path(database).parent / "instance"),
            "MODELS_DIR": str(Path(database).parent / "models"),
        }
    )
    with app.app_context(), session_scope(state().engine) as session:
        _, token = storage.create_api_key(session, name="bench", role="admin")
    client = app.test_client()
    data = Path(path).read_bytes()
    import gc

    gc.collect()
    before = rss_mib()
    reset_peak()
    start = time.perf_counter()
    r = client.post(
        "/api/v1/workers/import",
        data={"file": (io.BytesIO(data), Path(path).name)},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    seconds = time.perf_counter() - start
    body = r.get_json(silent=True) or {}
    return {
        "status": r.status_code,
        "seconds": seconds,
        "growth_mib": peak_mib() - before,
        "max_rss_mib": max_rss_mib(),
        "detail": body.get("detail") or f"已导入 {body.get('created')} 人",
    }


def child_cli(path: str, database: str, key: str) -> dict:
    """``jobbridge import workers FILE`` in this (fresh) process, through click as the
    console script runs it, after the imports a started CLI has already done."""
    import gc

    from click.testing import CliRunner

    from api.cli import cli

    env = {
        "JOBBRIDGE_DATABASE_URL": f"sqlite:///{database}",
        "JOBBRIDGE_ID_KEY": key,
        "JOBBRIDGE_INSTANCE_DIR": str(Path(database).parent / "instance"),
    }
    runner = CliRunner()
    # A first command on a header-only file does the imports a running CLI has done.
    warm = Path(database).parent / "warm.csv"
    warm.write_text("姓名,身份证号,县区代码,学历\n", encoding="utf-8")
    runner.invoke(cli, ["import", "workers", str(warm)], env=env)
    gc.collect()
    before = rss_mib()
    reset_peak()
    start = time.perf_counter()
    result = runner.invoke(cli, ["import", "workers", path], env=env)
    seconds = time.perf_counter() - start
    lines = result.stderr.strip().splitlines()
    return {
        "status": result.exit_code,
        "seconds": seconds,
        "growth_mib": peak_mib() - before,
        "max_rss_mib": max_rss_mib(),
        "detail": (lines[0] if lines else result.stdout.strip()).removeprefix("Error: "),
        "traceback": "Traceback" in result.output
        or not isinstance(result.exception, SystemExit | None),
    }


def cli_process_seconds(path: Path, template: Path, key: str, work: Path) -> tuple[int, float]:
    """Wall time of the whole console command, Python start-up included."""
    database = work / "process.db"
    shutil.copy(template, database)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JOBBRIDGE_DATABASE_URL": f"sqlite:///{database}",
        "JOBBRIDGE_ID_KEY": key,
        "JOBBRIDGE_INSTANCE_DIR": str(work / "instance"),
    }
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "import", "workers", str(path)],
        env=env,
        capture_output=True,
        timeout=600,
    )
    return proc.returncode, time.perf_counter() - start


def startup_seconds() -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "api.cli", "--help"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=600,
    )
    return time.perf_counter() - start


# --------------------------------------------------------------------------- parent


def spawn(mode: str, path: Path, template: Path, key: str, work: Path) -> dict:
    database = work / f"{mode}-{path.stem}.db"
    shutil.copy(template, database)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), str(database), key],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    database.unlink(missing_ok=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"status": "crash", "seconds": 0, "max_rss_mib": 0, "detail": out.stderr[-300:]}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000, help="rows of the valid sheet")
    parser.add_argument("--only", help="run only the corpus file of this name")
    parser.add_argument("--child", nargs=4, metavar=("MODE", "FILE", "DB", "KEY"))
    args = parser.parse_args()
    if args.child:
        mode, path, database, key = args.child
        result = (child_api if mode == "api" else child_cli)(path, database, key)
        print(json.dumps(result, ensure_ascii=False))
        return

    from api.crypto import generate_key
    from api.storage import init_db
    from tests.data import hostile_files as hf

    work = Path(tempfile.mkdtemp(prefix="jobbridge-hostile-"))
    key = generate_key()
    template = work / "template.db"
    init_db(f"sqlite:///{template}").dispose()
    cases = [(name, filename, data) for name, filename, data, _ in hf.corpus()]
    cases.append(("valid_one_row", "one.csv", hf.valid_worker_csv(1)))
    cases.append((f"valid_{args.rows}_rows", "valid.xlsx", valid_workers_xlsx(args.rows)))
    if args.only:
        cases = [c for c in cases if c[0] in (args.only, "valid_one_row")]
    paths = {}
    for name, filename, data in cases:
        paths[name] = work / f"{name}{Path(filename).suffix}"
        paths[name].write_bytes(data)

    header = f"{'file':28} {'bytes':>10} | {'API':>4} {'s':>6} {'+MiB':>6} {'RSS':>5} | "
    print(header + f"{'CLI':>4} {'s':>6} {'+MiB':>6} {'RSS':>5} | detail")
    worst = {"api": 0.0, "cli": 0.0}
    for name, _, data in cases:
        api = spawn("api", paths[name], template, key, work)
        cli = spawn("cli", paths[name], template, key, work)
        worst["api"] = max(worst["api"], api["max_rss_mib"])
        worst["cli"] = max(worst["cli"], cli["max_rss_mib"])
        flag = " TRACEBACK" if cli.get("traceback") else ""
        print(
            f"{name:28} {len(data):>10,} | {api['status']:>4} {api['seconds']:6.3f} "
            f"{api.get('growth_mib', 0):6.1f} {api['max_rss_mib']:5.0f} | "
            f"{cli['status']:>4} {cli['seconds']:6.3f} {cli['growth_mib']:6.1f} "
            f"{cli['max_rss_mib']:5.0f} | {str(api['detail'])[:60]}{flag}"
        )
    print(f"\nmax RSS over all files: API {worst['api']:.0f} MiB, CLI {worst['cli']:.0f} MiB")
    bomb = paths.get("dimension_bomb")
    if bomb is not None:
        code, seconds = cli_process_seconds(bomb, template, key, work)
        print(
            f"whole console command on the dimension bomb, Python start-up included: "
            f"exit {code} in {seconds:.2f} s (`jobbridge --help` alone: {startup_seconds():.2f} s)"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
