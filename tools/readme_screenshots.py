"""Render the README's screenshots with Debian's Chromium (Playwright) on a small demo world.

    .venv/bin/python tools/readme_screenshots.py [--out docs/screenshots] [--workers 3000]

Builds a throw-away demo world (``jobbridge init-db`` and ``load-demo``) in a temporary folder,
sets yearly targets for its counties, serves it on 127.0.0.1 with a background-queue consumer,
imports a small file with two bad rows as a county clerk, and saves

* ``dashboard.png``: the admin's dashboard (1200 × 1000, desktop);
* ``import-phone.png``: the clerk's import task with its bad rows on a 360-px phone.

Fonts: the pages ask for Noto Sans CJK (Debian ``fonts-noto-cjk``). Prints each file's size:
the README wants them under 200 KB.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "screenshot-password-1"
MAX_BYTES = 200 * 1024


def build_world(folder: Path, workers: int, jobs: int) -> str:
    url = f"sqlite:///{folder / 'demo.db'}"
    env_cmd = [sys.executable, "-m", "api.cli", "--database-url", url]
    env = {"JOBBRIDGE_INSTANCE_DIR": str(folder), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    subprocess.run([*env_cmd, "init-db"], check=True, env=env, cwd=ROOT, capture_output=True)
    subprocess.run(
        [*env_cmd, "load-demo", "--workers", str(workers), "--jobs", str(jobs), "--seed", "7"],
        check=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
    )
    return url


def workers_csv(county: str, n: int, bad: set[int]) -> bytes:
    from data.idcard import make_id_number

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "身份证号", "县区代码", "学历", "手机号", "求职意向", "意向城市"])
    for i in range(n):
        birth = dt.date(1988, 1, 1) + dt.timedelta(days=37 * i)
        id_number = make_id_number(county, birth, 450 + i, "男" if i % 2 else "女")
        phone = f"139{i + 70_000_000:08d}"
        if i in bad:
            id_number, phone = (id_number[:-3], phone) if i % 2 else (id_number, "1234")
        writer.writerow([f"马{i}", id_number, county, "初中", phone, "缝纫工", "苏州"])
    return out.getvalue().encode("utf-8")


def prepare(app) -> tuple[str, str]:
    """Accounts and targets; returns the bureau's region and one of its counties."""
    from sqlalchemy import func, select

    from api.service import state
    from api.storage import session_scope
    from api.storage.models import Worker
    from api.storage.outcomes import today_in_china
    from api.storage.targets import set_target
    from api.storage.users import create_user

    year = today_in_china().year
    with app.app_context(), session_scope(state().engine) as session:
        counties = session.execute(
            select(Worker.county_code, func.count()).group_by(Worker.county_code)
        ).all()
        for code, n in counties:
            set_target(
                session, county_code=code, year=year, hired_target=max(10, n // 8), actor="截图"
            )
        county = max(counties, key=lambda c: c[1])[0]
        create_user(
            session, username="shot-admin", password=PASSWORD, role="admin", display_name="管理员"
        )
        create_user(
            session,
            username="shot-bureau",
            password=PASSWORD,
            role="bureau",
            display_name="县劳务专员",
            region_prefix=county[:4],
        )
    return county[:4], county


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--workers", type=int, default=3000)
    parser.add_argument("--jobs", type=int, default=400)
    args = parser.parse_args(argv)

    from playwright.sync_api import expect, sync_playwright
    from werkzeug.serving import make_server

    from api import create_app
    from api.tasks import get_queue, start_consumer

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jobbridge-shots-") as tmp:
        folder = Path(tmp)
        url = build_world(folder, args.workers, args.jobs)
        app = create_app(
            {
                "DATABASE_URL": url,
                "INSTANCE_DIR": str(folder),
                "MODELS_DIR": str(folder / "models"),
                "SECRET_KEY": "screenshots",
            }
        )
        _, county = prepare(app)
        consumer = start_consumer(get_queue(app))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        upload = folder / "劳动力名单.csv"
        upload.write_bytes(workers_csv(county, 40, {6, 17}))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

                def signed_in(user: str, **size):
                    context = browser.new_context(base_url=base, locale="zh-CN", **size)
                    tab = context.new_page()
                    tab.goto("/")
                    tab.get_by_label("用户名").fill(user)
                    tab.get_by_label("密码").fill(PASSWORD)
                    tab.get_by_role("button", name="登录").click()
                    return tab

                tab = signed_in("shot-admin", viewport={"width": 1200, "height": 1000})
                tab.goto("/dashboard")
                expect(tab.locator("svg").first).to_be_visible()
                tab.screenshot(path=str(args.out / "dashboard.png"))

                tab = signed_in("shot-bureau", viewport={"width": 360, "height": 900})
                tab.goto("/imports")
                tab.get_by_label("文件").set_input_files(str(upload))
                tab.get_by_role("button", name="上传并在后台导入").click()
                expect(tab.get_by_role("alert")).to_contain_text("任务失败", timeout=60_000)
                expect(tab.get_by_role("cell", name="第 8 行")).to_be_visible()
                tab.screenshot(path=str(args.out / "import-phone.png"))
                browser.close()
        finally:
            server.shutdown()
            consumer.stop()
            time.sleep(0.2)
    too_big = False
    for name in ("dashboard.png", "import-phone.png"):
        size = (args.out / name).stat().st_size
        too_big |= size > MAX_BYTES
        print(f"{args.out / name}: {size / 1024:.0f} KB")
    return 1 if too_big else 0


if __name__ == "__main__":
    raise SystemExit(main())
