"""The ``jobbridge`` command: a thin click group over plain functions.

Settings come from ``JOBBRIDGE_*`` environment variables (:func:`api.config.load_config`).
Mistakes a user can make (a bad file, a missing key, an uninitialised database) end in one
sentence on stderr and exit status 1, never a traceback. Long work shows a progress bar on stderr
unless ``--quiet``; results meant for scripts (a new key, counts) go to stdout.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from api.config import load_config

F = TypeVar("F", bound=Callable[..., Any])

ROLE_CHOICES = ("admin", "hr", "bureau", "organiser")


# --------------------------------------------------------------------------- helpers
def _say(message: str) -> None:
    click.echo(message, err=True)


def _user_errors(func: F) -> F:
    """Turn the errors a user can cause into :class:`click.ClickException` sentences."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import OperationalError

        from api.crypto import IdKeyError
        from api.permissions import LoosePermissions
        from api.storage.errors import Invalid, StorageError
        from data.tabular import TableError

        try:
            return func(*args, **kwargs)
        except Invalid as exc:
            raise click.ClickException(_format_invalid(exc)) from None
        except (StorageError, IdKeyError, TableError, LoosePermissions) as exc:
            raise click.ClickException(str(exc)) from None
        except OperationalError as exc:
            raise click.ClickException(f"无法访问数据库：{exc.orig}") from None

    return wrapper  # type: ignore[return-value]


def _format_invalid(exc: Any) -> str:
    lines = [exc.detail]
    for e in exc.errors:
        row = e.get("row")
        where = f"第{row}行" if row else "表头" if row == 0 else ""
        column = e.get("column") or e.get("field") or ""
        lines.append(f"  {where} {column} {e.get('message', '')}".rstrip())
    return "\n".join(lines)


class Context:
    """What every command needs: the settings, and lazily the engine and the ID protector."""

    def __init__(self, overrides: Mapping[str, Any] | None = None) -> None:
        self.config = load_config(overrides)
        self._engine = None

    @property
    def database_url(self) -> str:
        return self.config["DATABASE_URL"]

    def engine(self):
        if self._engine is None:
            from api.permissions import check_private_files
            from api.storage import make_engine

            # Every command that opens the database refuses a database or ID-key file that
            # others can read, as the service does (api.permissions).
            check_private_files(self.config)
            self._engine = make_engine(self.database_url)
        return self._engine

    def protector(self, *, create: bool = True):
        """The ID protector; in development the key file is created on first use, with a notice."""
        from api.crypto import IdProtector, load_id_key

        key, created = load_id_key(self.config, create=create)
        if created is not None:
            _say(
                f"已生成开发用身份证加密密钥 {created}（权限 0600）。"
                "生产环境请设置环境变量 JOBBRIDGE_ID_KEY，并妥善备份："
                "丢失密钥将无法读取已存身份证号。"
            )
        return IdProtector(key)


pass_context = click.make_pass_decorator(Context, ensure=True)


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --------------------------------------------------------------------------- group
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar=None,
    default=None,
    help="覆盖 JOBBRIDGE_DATABASE_URL（SQLAlchemy 地址）。",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """jobbridge — 东西部劳务协作岗位匹配服务的命令行工具。"""
    try:
        ctx.obj = Context({"DATABASE_URL": database_url} if database_url else None)
    except ValueError as exc:  # a malformed JOBBRIDGE_* variable
        raise click.ClickException(str(exc)) from None


# --------------------------------------------------------------------------- init-db
def init_database(context: Context) -> str | None:
    """Migrate the database to the newest schema and make sure an ID key exists."""
    from api.storage import current_revision, init_db

    engine = init_db(context.engine())
    context.protector(create=True)
    return current_revision(engine)


def ensure_model(
    context: Context, *, encoder: str = "char-ngram", coder: str = "trained", quiet: bool = True
) -> Path | None:
    """Build the base model (:func:`training.base.build_base_model`) into ``MODELS_DIR`` when
    it holds no model version; return its folder, or None when a version exists already."""
    from api.service import has_model

    models_dir = Path(context.config["MODELS_DIR"])
    if has_model(models_dir):
        return None
    from training.base import build_base_model

    return build_base_model(models_dir, encoder=encoder, coder=coder, show_progress=not quiet)


@cli.command("init-db")
@click.option(
    "--base-encoder",
    type=click.Choice(["char-ngram", "train"]),
    default="char-ngram",
    show_default=True,
    help="基础模型的编码器：char-ngram 免训练（数秒）；train 用职业分类训练（约半分钟）",
)
@click.option(
    "--base-coder",
    type=click.Choice(["trained", "names"]),
    default="trained",
    show_default=True,
    help=(
        "基础模型的职业编码器：trained 随项目提供的已训练分类器"
        "（与当前代码不符时现场训练，约一分钟）；names 按名称与别称"
    ),
)
@pass_context
@_user_errors
def init_db_command(context: Context, base_encoder: str, base_coder: str) -> None:
    """创建或升级数据库结构（alembic upgrade head），可重复执行；没有模型时建立基础模型。"""
    revision = init_database(context)
    _say(f"数据库已就绪：{_display_url(context.database_url)}（结构版本 {revision}）")
    folder = ensure_model(context, encoder=base_encoder, coder=base_coder)
    if folder is not None:
        _say(
            f"已建立基础模型 {folder.name}（仅由公开参考数据学习：职业分类、证书、地名；"
            f"尚无排序模型，有就业结果后运行 jobbridge train 替换）→ {folder}"
        )


# --------------------------------------------------------------------------- load-demo
def load_demo(
    context: Context,
    *,
    n_workers: int,
    n_jobs: int,
    seed: int,
    events_workers: int | None,
    replace: bool,
    quiet: bool,
) -> dict[str, Any]:
    """Generate a demo world with outcome history and bulk-load it; return counts and timings."""
    from api.storage import bulk_load_world, downgrade, init_db, is_empty
    from data.demo import generate_world
    from data.outcomes import historical_pairs, registered_before_events, simulate_outcomes

    engine = init_db(context.engine())
    protector = context.protector(create=True)
    if not is_empty(engine):
        if not replace:
            raise click.ClickException(
                f"数据库 {_display_url(context.database_url)} 已有数据；"
                "加 --replace 清空后重新载入（API 密钥也会一并清除）。"
            )
        downgrade(engine, "base")
        init_db(engine)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    world = generate_world(n_workers, n_jobs, seed=seed, show_progress=not quiet)
    timings["generate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sample = min(n_workers, events_workers if events_workers is not None else 20_000)
    pairs = historical_pairs(world, worker_sample=sample, seed=seed)
    events = simulate_outcomes(world, pairs, seed=seed)
    # A stored history never starts before its worker's registration (the training filter
    # would drop those events); the generator draws the two independently.
    world.workers = registered_before_events(world.workers, events)
    timings["outcomes"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    loaded = bulk_load_world(engine, world, events, protector=protector, show_progress=not quiet)
    timings["store"] = time.perf_counter() - t0
    return {
        **{k: loaded[k] for k in ("firms", "jobs", "workers", "events")},
        "timings": timings,
        "store_seconds": loaded["seconds"],
        "world": world,
        "events_frame": events,
    }


def _positive(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise click.BadParameter(f"应为正整数，收到 {value}")
    return value


@cli.command("load-demo")
@click.option(
    "--workers",
    "n_workers",
    type=int,
    default=20_000,
    show_default=True,
    callback=_positive,
    help="劳动力人数",
)
@click.option(
    "--jobs",
    "n_jobs",
    type=int,
    default=3_000,
    show_default=True,
    callback=_positive,
    help="岗位数",
)
@click.option("--seed", type=int, default=0, show_default=True, help="随机种子（同种子同数据）")
@click.option(
    "--events-workers",
    type=int,
    default=None,
    callback=_positive,
    help="为多少名劳动力模拟历史推荐与就业结果（默认 min(劳动力人数, 20000)）",
)
@click.option("--replace", is_flag=True, help="数据库非空时先清空（含 API 密钥）再载入")
@click.option("--quiet", "-q", is_flag=True, help="不显示进度条")
@pass_context
@_user_errors
def load_demo_command(
    context: Context,
    n_workers: int,
    n_jobs: int,
    seed: int,
    events_workers: int | None,
    replace: bool,
    quiet: bool,
) -> None:
    """生成演示数据（江苏岗位、西部劳动力、历史就业结果）并批量写入数据库。"""
    result = load_demo(
        context,
        n_workers=n_workers,
        n_jobs=n_jobs,
        seed=seed,
        events_workers=events_workers,
        replace=replace,
        quiet=quiet,
    )
    t = result["timings"]
    if not quiet:
        _say(
            f"生成 {t['generate']:.1f} 秒，模拟就业结果 {t['outcomes']:.1f} 秒，"
            f"写入 {t['store']:.1f} 秒"
        )
    click.echo(
        f"已载入 企业 {result['firms']} 家、岗位 {result['jobs']} 个、"
        f"劳动力 {result['workers']} 人、"
        f"就业事件 {result['events']} 条"
    )
    demo_accounts(context)


# --------------------------------------------------------------------------- keys
@cli.group("keys")
def keys_group() -> None:
    """管理 API 密钥（只保存哈希，密钥本身仅在创建时显示一次）。"""


@keys_group.command("create")
@click.option("--role", type=click.Choice(ROLE_CHOICES), required=True, help="角色")
@click.option("--firm", "firm_id", type=int, default=None, help="企业 ID（hr 角色必填）")
@click.option(
    "--region", "region_prefix", default=None, help="地区代码前缀，如 6302（bureau 角色必填）"
)
@click.option("--name", required=True, help="密钥名称，如 海东市人社局")
@pass_context
@_user_errors
def keys_create(
    context: Context, role: str, firm_id: int | None, region_prefix: str | None, name: str
) -> None:
    """创建密钥；标准输出只打印密钥本身，便于脚本使用。"""
    from api.storage import create_api_key, require_schema, session_scope

    if role == "hr" and firm_id is None:
        raise click.UsageError("hr 角色的密钥必须用 --firm 指定企业 ID。")
    if role == "bureau" and not region_prefix:
        raise click.UsageError("bureau 角色的密钥必须用 --region 指定地区代码（如 6302）。")
    engine = context.engine()
    require_schema(engine)
    with session_scope(engine) as session:
        key, token = create_api_key(
            session, name=name, role=role, firm_id=firm_id, region_prefix=region_prefix
        )
        key_id = key.id
    _say(f"已创建密钥 {key_id}（{role}，{name}）；请立即保存，之后无法再次查看。")
    click.echo(token)


@keys_group.command("list")
@pass_context
@_user_errors
def keys_list(context: Context) -> None:
    """列出所有密钥（不含密钥本身）。"""
    from api.storage import list_api_keys, require_schema, session_scope

    engine = context.engine()
    require_schema(engine)
    with session_scope(engine) as session:
        keys = list_api_keys(session)
        click.echo("ID\t角色\t企业\t地区\t名称\t创建时间\t状态")
        for k in keys:
            state = f"已吊销 {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "有效"
            click.echo(
                f"{k.id}\t{k.role}\t{k.firm_id or ''}\t{k.region_prefix or ''}\t{k.name}\t"
                f"{k.created_at:%Y-%m-%d %H:%M}\t{state}"
            )


@keys_group.command("revoke")
@click.argument("key_id", type=int)
@pass_context
@_user_errors
def keys_revoke(context: Context, key_id: int) -> None:
    """吊销密钥 KEY_ID（立即失效）。"""
    from api.storage import require_schema, revoke_api_key, session_scope

    engine = context.engine()
    require_schema(engine)
    with session_scope(engine) as session:
        key = revoke_api_key(session, key_id)
        _say(f"密钥 {key.id}（{key.name}）已吊销。")


# --------------------------------------------------------------------------- users
@cli.group("users")
def users_group() -> None:
    """管理网页登录账户（密码以 argon2 哈希保存）。"""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    return password


@users_group.command("create")
@click.option("--role", type=click.Choice(ROLE_CHOICES), required=True, help="角色")
@click.option("--username", required=True, help="登录用户名（字母、数字、_ . -）")
@click.option("--name", "display_name", default="", help="显示名称，如 化隆县人社局 张三")
@click.option("--firm", "firm_id", type=int, default=None, help="企业 ID（hr 角色必填）")
@click.option(
    "--region", "region_prefix", default=None, help="地区代码前缀，如 6302（bureau 角色必填）"
)
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（一行），不提示")
@pass_context
@_user_errors
def users_create(
    context: Context,
    role: str,
    username: str,
    display_name: str,
    firm_id: int | None,
    region_prefix: str | None,
    password_stdin: bool,
) -> None:
    """创建网页登录账户；角色与范围同 API 密钥。"""
    from api.storage import require_schema, session_scope
    from api.storage.users import create_user

    if role == "hr" and firm_id is None:
        raise click.UsageError("hr 角色的账户必须用 --firm 指定企业 ID。")
    if role == "bureau" and not region_prefix:
        raise click.UsageError("bureau 角色的账户必须用 --region 指定地区代码（如 6302）。")
    password = _read_password(password_stdin)
    engine = context.engine()
    require_schema(engine)
    with session_scope(engine) as session:
        user = create_user(
            session,
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            firm_id=firm_id,
            region_prefix=region_prefix,
        )
        user_id = user.id
    _say(f"已创建账户 {user_id}：{username}（{role}）。")
    click.echo(user_id)


@users_group.command("list")
@pass_context
@_user_errors
def users_list(context: Context) -> None:
    """列出网页登录账户（不含密码）。"""
    from api.storage import require_schema, session_scope
    from api.storage.users import list_users

    engine = context.engine()
    require_schema(engine)
    with session_scope(engine) as session:
        click.echo("ID\t用户名\t角色\t企业\t地区\t名称\t状态")
        for u in list_users(session):
            state = "已锁定" if u.locked_until else "停用" if u.disabled_at else "有效"
            click.echo(
                f"{u.id}\t{u.username}\t{u.role}\t{u.firm_id or ''}\t{u.region_prefix or ''}\t"
                f"{u.display_name}\t{state}"
            )


def demo_accounts(context: Context) -> list[dict[str, Any]]:
    """Create (or give new passwords to) one demo account per role and say so on stderr."""
    from api.storage import session_scope
    from api.storage.users import ensure_demo_users

    with session_scope(context.engine()) as session:
        accounts = ensure_demo_users(session)
    if accounts:
        _say("演示账户（网页登录；每次运行 demo / load-demo 会重设密码）：")
        for a in accounts:
            scope = (
                f"，企业 {a['firm_id']}"
                if a["firm_id"]
                else f"，地区 {a['region_prefix']}"
                if a["region_prefix"]
                else ""
            )
            _say(
                f"  {a['display_name']}（{a['role']}{scope}）"
                f"  用户名 {a['username']}  密码 {a['password']}"
            )
    return accounts


# --------------------------------------------------------------------------- import / export
def _write_rejects(frame: Any, rejected: list[dict[str, Any]], path: Path) -> int:
    """Write the refused rows as they were in the file, with a 错误原因 column; return the count."""
    import pandas as pd

    reasons: dict[int, list[str]] = {}
    for e in rejected:
        if e.get("row"):
            reasons.setdefault(int(e["row"]), []).append(
                f"{e.get('column', '')} {e['message']}".strip()
            )
    from api.permissions import open_private

    rows = [r for r in frame.index if int(r) in reasons]
    out = frame.loc[rows].copy()
    out.insert(0, "行号", [int(r) for r in rows])
    out["错误原因"] = ["；".join(reasons[int(r)]) for r in rows]
    # The refused rows are as personal as the file they came from: owner-only, like exports.
    with open_private(path) as fh:
        if path.suffix.lower() == ".xlsx":
            with pd.ExcelWriter(fh, engine="openpyxl") as writer:
                out.to_excel(writer, index=False, sheet_name="rejects")
        else:
            out.to_csv(fh, index=False, encoding="utf-8-sig")
    return len(rows)


def import_file(
    context: Context,
    kind: str,
    path: Path,
    *,
    skip_invalid: bool,
    rejects: Path | None,
    create_firms: bool = False,
):
    """Read a CSV/XLSX of jobs or workers and store it through
    :func:`api.storage.transfer.import_table`, the function the HTTP import calls too."""
    from api.feed_segments import ImportSegments
    from api.storage import require_schema, session_scope
    from api.storage.changes import newest_change_id
    from api.storage.transfer import import_table
    from data.tabular import ReadLimits, read_table

    engine = context.engine()
    require_schema(engine)
    frame = read_table(
        path,
        filename=path.name,
        max_bytes=int(context.config["MAX_CONTENT_LENGTH"]),
        limits=ReadLimits(max_rows=int(context.config["MAX_IMPORT_ROWS"])),
    )
    # A big import prepares and encodes its rows for the serving processes of this host
    # before it commits (api.feed_segments), so that none of them has to.
    segments = ImportSegments(context.config, rows=len(frame))
    try:
        with session_scope(engine) as session:
            before = newest_change_id(session)
            result = import_table(
                session,
                kind,
                frame,
                protector=context.protector(create=True) if kind == "workers" else None,
                skip_invalid=skip_invalid,
                create_firms=create_firms,
                actor="cli",
            )
            segments.prepare(session, after=before)
    except BaseException:
        segments.abandon()
        raise
    segments.publish()
    written = 0
    if rejects is not None and result.rejected:
        written = _write_rejects(frame, result.rejected, rejects)
    return result, written, result.ignored_columns


@cli.command("import")
@click.argument("kind", type=click.Choice(["jobs", "workers"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="只导入合格行，不合格行写入 --rejects 文件")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="不合格行的输出文件（.csv 或 .xlsx），与 --skip-invalid 一起使用",
)
@click.option(
    "--create-firms",
    is_flag=True,
    help="导入岗位时登记文件中尚未登记的企业（默认拒绝这些行并指明行号，以免错字另建一家企业）",
)
@pass_context
@_user_errors
def import_command(
    context: Context,
    kind: str,
    file: Path,
    skip_invalid: bool,
    rejects: Path | None,
    create_firms: bool,
) -> None:
    """导入岗位或劳动力（CSV 或 XLSX，中文表头；CSV 可为 UTF-8 或 GBK）。

    默认全有或全无：任何一行不合规则不导入任何数据，并逐行列出原因。
    """
    if rejects is not None and not skip_invalid:
        raise click.UsageError("--rejects 需与 --skip-invalid 一起使用（默认模式不导入任何行）。")
    if create_firms and kind != "jobs":
        raise click.UsageError("--create-firms 只适用于导入岗位（jobs）。")
    result, written, ignored = import_file(
        context, kind, file, skip_invalid=skip_invalid, rejects=rejects, create_firms=create_firms
    )
    label = "岗位" if kind == "jobs" else "劳动力"
    if ignored:
        _say(f"未识别的列（已忽略）：{'、'.join(ignored)}")
    if result.rejected:
        _say(
            f"跳过 {len(result.rejected_rows)} 行不合格数据"
            + (f"，已写入 {rejects}（{written} 行）" if rejects else "（加 --rejects 文件可保存）")
        )
        for e in result.rejected:
            _say(f"  第{e['row']}行 {e['column']} {e['message']}")
    click.echo(f"已导入{label} {len(result.created)} 条")


@cli.command("export")
@click.argument("kind", type=click.Choice(["jobs", "workers"]))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx"]),
    default=None,
    help="文件格式（默认按 -o 的扩展名）",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="输出文件",
)
@click.option(
    "--with-id-numbers", is_flag=True, help="导出完整身份证号（默认脱敏；此操作记入审计日志）"
)
@pass_context
@_user_errors
def export_command(
    context: Context, kind: str, fmt: str | None, output: Path, with_id_numbers: bool
) -> None:
    """导出岗位或劳动力为 CSV（UTF-8 带 BOM，Excel 可直接打开）或 XLSX。"""
    from api.storage import audit, export_records, require_schema, session_scope
    from data.tabular import write_table

    fmt = fmt or output.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx"):
        raise click.UsageError(
            f"无法从文件名 {output.name!r} 判断格式；请加 --format csv 或 --format xlsx。"
        )
    if with_id_numbers and kind != "workers":
        raise click.UsageError("--with-id-numbers 只适用于导出劳动力（workers）。")
    engine = context.engine()
    require_schema(engine)
    protector = context.protector(create=False) if with_id_numbers else None
    with session_scope(engine) as session:
        records = list(
            export_records(session, kind, protector=protector, with_id_numbers=with_id_numbers)
        )
        for r in records:
            for extra in ("version", "created_at", "updated_at", "id_masked"):
                r.pop(extra, None)
        if with_id_numbers:
            audit(
                session,
                actor="cli",
                action="export",
                object_type="worker",
                fields=["id_number"],
                object_id=None,
            )
    from api.permissions import write_private

    data = write_table(records, kind=kind, fmt=fmt)
    # Owner-only whatever the umask: workers' names and phones (and ID numbers with
    # --with-id-numbers) must not be readable by other users of the host.
    write_private(output, data)
    _say(
        f"已导出 {len(records)} 条到 {output}"
        + ("（含完整身份证号，已记入审计日志）" if with_id_numbers else "")
    )


# --------------------------------------------------------------------------- serve
def _import_before_fork() -> None:
    """Import the app and the engine's libraries once, in the gunicorn arbiter.

    The processes it forks inherit the imported modules; otherwise each imports scikit-learn,
    scipy and pandas itself, all at once on the same cores (on a busy two-core host 15-20 s of
    a 40 s start). Nothing is opened here: no database connection, no thread, no model.
    """
    import api.views  # noqa: F401
    import matcher.engine  # noqa: F401
    import matcher.persistence  # noqa: F401
    import matcher.snapshot  # noqa: F401
    from api import create_app  # noqa: F401


def _after_fork(app: Any) -> None:
    """In each gunicorn process, before it accepts a request: what must not cross a fork.

    The database pool is replaced (``dispose(close=False)`` leaves the arbiter's connections,
    if any, to the arbiter), and with ``ENGINE_PRELOAD`` the process loads the model and maps
    the index snapshot itself: every process maps the snapshot, none inherits an index.
    """
    from api import service

    state = app.extensions[service.EXTENSION]
    state.engine.dispose(close=False)
    if app.config.get("NUMERIC_THREADS"):
        service.limit_numeric_threads(int(app.config["NUMERIC_THREADS"]))
    if app.config.get("ENGINE_PRELOAD"):
        with app.app_context():
            service.get_matching().load()


def serve(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    timeout: int = 120,
    overrides: Mapping[str, Any] | None = None,
) -> None:
    """Run the Flask app under gunicorn (a production WSGI server), in this process.

    ``overrides`` reach :func:`api.create_app` (command-line settings such as the database
    URL). The app is created once, in the arbiter, before forking (gunicorn's
    ``preload_app``): the processes inherit it instead of each building its routes, pages
    and schemas on the same cores. What is per process happens after the fork
    (:func:`_after_fork`): with ``ENGINE_PRELOAD`` each process loads the model and maps the
    index snapshot while booting, so ``timeout`` must cover that.
    """
    from gunicorn.app.base import BaseApplication

    _import_before_fork()
    # Each process follows the change feed and the model version in the background
    # (JOBBRIDGE_FEED_FOLLOW=0 turns it off: requests alone then apply changes).
    follow = {} if "JOBBRIDGE_FEED_FOLLOW" in os.environ else {"FEED_FOLLOW": True}
    settings = {**follow, **(overrides or {})}

    class Server(BaseApplication):
        def __init__(self, options: Mapping[str, Any]) -> None:
            self.options = dict(options)
            super().__init__()

        def load_config(self) -> None:  # gunicorn's hook, not api.config's
            for key, value in self.options.items():
                self.cfg.set(key, value)

        def load(self):
            from api import create_app

            # Not the engine: each process loads it after the fork.
            return create_app(overrides=settings, load_engine=False)

    Server(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "timeout": timeout,
            "preload_app": True,
            "post_worker_init": lambda worker: _after_fork(worker.wsgi),
            "accesslog": "-",
            # Which process answered, and in how long (benchmarks/bench_feed.py reads it).
            "access_log_format": '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms pid=%(p)s',
            "errorlog": "-",
        }
    ).run()


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="gunicorn 进程数"
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="每进程线程数；多线程时慢速客户端（如手机上传）不会占住整个进程。"
    "部署在 nginx 等缓冲代理之后可设为 1，高负载下尾延迟更低",
)
@click.option(
    "--preload/--lazy",
    default=True,
    show_default=True,
    help="启动时即载入模型并建立索引（首个请求无需等待）；--lazy 则在首次匹配时载入",
)
@click.option(
    "--numeric-threads",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="每进程数值计算（BLAS、torch）线程数；gunicorn 的进程与线程已占满各核，多开只会互相争抢",
)
@click.option(
    "--timeout",
    type=click.IntRange(10, 3600),
    default=600,
    show_default=True,
    help="gunicorn 进程无响应多少秒后重启；须长于引擎载入时间",
)
@pass_context
@_user_errors
def serve_command(
    context: Context,
    host: str,
    port: int,
    workers: int,
    threads: int,
    preload: bool,
    numeric_threads: int,
    timeout: int,
) -> None:
    """用 gunicorn 提供 HTTP 服务。"""
    from api.permissions import check_private_files
    from api.storage import require_schema

    # Here, where it is one sentence: in the gunicorn processes it would be a boot failure.
    check_private_files(context.config)
    require_schema(context.engine())
    # Once, before forking: the processes only load a version, they never learn one.
    folder = ensure_model(context)
    if folder is not None:
        _say(f"没有模型，已建立基础模型 {folder.name}（仅由公开参考数据学习）")
    _say(f"服务地址 http://{host}:{port}  （数据库 {_display_url(context.database_url)}）")
    serve(
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        timeout=timeout,
        overrides={
            "DATABASE_URL": context.database_url,
            "ENGINE_PRELOAD": preload,
            "NUMERIC_THREADS": numeric_threads,
        },
    )


# --------------------------------------------------------------------------- worker
def run_worker(context: Context, *, threads: int) -> None:
    """Run the background queue's consumer (:mod:`api.tasks`) in this process until stopped.

    The tasks run in an app of this process built from the same settings as the web server's,
    so that they see the same database, ID key and models.
    """
    from api import create_app
    from api.tasks import create_consumer, get_queue

    app = create_app(overrides={"DATABASE_URL": context.database_url, "ENGINE_PRELOAD": False})
    queue = get_queue(app)
    if queue.huey.immediate:
        raise click.ClickException(
            "JOBBRIDGE_TASKS_IMMEDIATE 已开启：任务在提交时立即执行，无需后台进程。"
        )
    create_consumer(queue, threads=threads).run()


def queue_description(config: Mapping[str, Any]) -> str:
    from api.tasks import SQLITE_QUEUE_FILE

    if config.get("REDIS_URL"):
        from sqlalchemy.engine import make_url

        try:
            return f"Redis {make_url(config['REDIS_URL']).render_as_string(hide_password=True)}"
        except Exception:
            return "Redis"
    return f"SQLite {Path(config['INSTANCE_DIR']) / SQLITE_QUEUE_FILE}"


@cli.command("worker")
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=None,
    help="同时执行的任务数（默认 JOBBRIDGE_TASK_WORKERS，即 2）",
)
@pass_context
@_user_errors
def worker_command(context: Context, threads: int | None) -> None:
    """运行后台任务队列（大文件导入、整县分配、招聘会规划、训练），Ctrl-C 停止。"""
    from api.storage import require_schema

    require_schema(context.engine())
    n = threads or int(context.config.get("TASK_WORKERS") or 2)
    _say(f"后台任务队列：{queue_description(context.config)}，{n} 个线程")
    run_worker(context, threads=n)


def start_worker_process(database_url: str) -> Any:
    """``jobbridge worker`` as a child process (what ``demo`` runs beside the web server).

    It inherits this process's environment, so both use the same settings; Ctrl-C in the
    terminal reaches both (same process group), and :func:`stop_worker_process` ends it when
    the server stops for any other reason.
    """
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--database-url", database_url, "worker"],
    )


def stop_worker_process(process: Any, timeout: float = 20.0) -> None:
    import subprocess

    if process.poll() is not None:
        return
    process.terminate()  # huey's consumer stops after the running tasks on SIGTERM
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --------------------------------------------------------------------------- demo
DEMO_WORKERS = 20_000
DEMO_JOBS = 3_000


def train_models(
    context: Context,
    *,
    quiet: bool,
    world: Any = None,
    events: Any = None,
    encoder: Any = "train",
) -> Path:
    """Train the default models into ``MODELS_DIR`` and make them ``current``.

    Right after ``load-demo`` the generated ``world`` and ``events`` are passed on (the world's
    hidden truth grades the evaluation); otherwise the models learn from what the database
    holds (:func:`api.storage.read_world`). Either way only the events that pass
    :func:`api.storage.outcomes.filter_training_events` become labels, and how many were
    dropped, and why, is said.
    """
    from api.storage.outcomes import filter_training_events, read_events
    from data.schema import OUTCOME_COLUMNS
    from training.pipeline import train_default
    from training.pipeline import train_models as train_on_tables

    models_dir = context.config["MODELS_DIR"]
    if world is not None:
        if events is not None:
            # The events just stored: the same rules as for the stored ones read back.
            checked = filter_training_events(events, world.workers, world.jobs)
            _say(checked.report())
            events = checked.kept[list(OUTCOME_COLUMNS)]
        return train_default(
            context.database_url, models_dir, world, events=events, show_progress=not quiet
        )
    from api.storage import read_world, session_scope

    with session_scope(context.engine()) as session:
        jobs, workers, _ = read_world(session)
        stored_events = read_events(session)
    if len(stored_events) == 0:
        raise click.ClickException(
            "数据库中没有就业结果事件，无法训练排序模型；"
            "请先运行 `jobbridge load-demo` 或导入结果数据。"
        )
    # Only events that pass the outcome rules (order, dates, corrections) become labels.
    checked = filter_training_events(stored_events, workers, jobs)
    _say(checked.report())
    if len(checked.kept) == 0:
        raise click.ClickException("没有通过检查的就业结果事件，无法训练排序模型。")
    return train_on_tables(
        jobs,
        workers,
        checked.kept[list(OUTCOME_COLUMNS)],
        models_dir=models_dir,
        encoder=encoder,
        show_progress=not quiet,
    )


@cli.command("train")
@click.option(
    "--encoder",
    default="train",
    show_default=True,
    help=(
        "train：离线训练默认的 sentence-transformers 模型；或一个模型目录；char-ngram：免训练编码器"
    ),
)
@click.option("--quiet", "-q", is_flag=True, help="不显示进度")
@pass_context
@_user_errors
def train_command(context: Context, encoder: str, quiet: bool) -> None:
    """用数据库中的就业结果事件训练新模型版本，并设为当前版本。"""
    from api.storage import require_schema

    require_schema(context.engine())
    if encoder not in ("train", "char-ngram") and not Path(encoder).is_dir():
        raise click.BadParameter(
            f"{encoder!r} 既不是 train、char-ngram，也不是一个模型目录。", param_hint="--encoder"
        )
    folder = train_models(
        context, quiet=quiet, encoder=None if encoder == "char-ngram" else encoder
    )
    click.echo(str(folder))


@cli.command("evaluate")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（供脚本使用）")
@click.option(
    "--stored",
    is_flag=True,
    help="只显示当前模型训练时写入 metadata.json 的评估结果，不重新计算",
)
@click.option("--quiet", "-q", is_flag=True, help="不显示进度")
@pass_context
@_user_errors
def evaluate_command(context: Context, as_json: bool, stored: bool, quiet: bool) -> None:
    """评估当前模型：留出的演示数据上 NDCG@10、Recall@50、AUC、校准、硬规则违规，并与基线对比。"""
    from training.pipeline import evaluate_default, stored_report

    models_dir = context.config["MODELS_DIR"]
    try:
        if stored:
            report = stored_report(models_dir)
        else:
            report = evaluate_default(models_dir, show_progress=not quiet)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(report.to_text())


def _why_train_demo(models_dir: Path) -> str | None:
    """Why ``demo`` must train its model (None when the current one is a trained version of
    this format): none yet, only the base model, or a folder of an older format."""
    from matcher.persistence import ModelLoadError, check_format, current_version, read_metadata

    version = current_version(models_dir)
    if version is None:
        return f"未找到 {models_dir / 'current'}"
    try:
        meta = read_metadata(models_dir / version)
        check_format(meta.get("format"), models_dir / version)
    except ModelLoadError:
        return f"当前模型 {version} 格式过旧或无法读取"
    if meta.get("kind") == "base":
        return f"当前模型 {version} 是基础模型（无就业结果）"
    return None


@cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="不显示进度条")
@pass_context
@_user_errors
def demo_command(context: Context, host: str, port: int, quiet: bool) -> None:
    """make demo：初始化数据库，空库时载入演示数据，没有模型时训练默认模型，
    然后启动服务与后台任务队列。"""
    from api.permissions import check_private_files
    from api.storage import init_db, is_empty

    check_private_files(context.config)
    engine = init_db(context.engine())
    context.protector(create=True)
    world = events = None
    if is_empty(engine):
        _say(f"载入演示数据：劳动力 {DEMO_WORKERS} 人、岗位 {DEMO_JOBS} 个…")
        result = load_demo(
            context,
            n_workers=DEMO_WORKERS,
            n_jobs=DEMO_JOBS,
            seed=0,
            events_workers=None,
            replace=False,
            quiet=quiet,
        )
        world, events = result["world"], result["events_frame"]
        _say(
            f"已载入 劳动力 {result['workers']} 人、岗位 {result['jobs']} 个、"
            f"就业事件 {result['events']} 条"
        )
    models_dir = Path(context.config["MODELS_DIR"])
    why = _why_train_demo(models_dir)
    if why:
        _say(f"{why}，训练默认模型…")
        folder = train_models(context, quiet=quiet, world=world, events=events)
        _say(f"模型已保存：{folder}")
    del world, events
    worker = None
    if not context.config.get("TASKS_IMMEDIATE"):
        _say(f"启动后台任务队列（{queue_description(context.config)}）")
        worker = start_worker_process(context.database_url)
    demo_accounts(context)
    _say(f"服务地址 http://{host}:{port}（用上面的演示账户登录）")
    try:
        serve(
            host=host,
            port=port,
            workers=2,
            threads=4,
            timeout=600,
            overrides={
                "DATABASE_URL": context.database_url,
                "ENGINE_PRELOAD": True,
                "NUMERIC_THREADS": 1,
            },
        )
    finally:
        if worker is not None:
            stop_worker_process(worker)


# --------------------------------------------------------------------------- index
@cli.group("index")
def index_group() -> None:
    """候选索引快照：每台主机一份，所有服务进程共享（内存映射）。"""


@index_group.command("build")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（供脚本使用）")
@click.option("--quiet", "-q", is_flag=True, help="不显示进度")
@pass_context
@_user_errors
def index_build_command(context: Context, as_json: bool, quiet: bool) -> None:
    """用数据库中的岗位和劳动力为当前模型建立新的索引快照，并原子地设为当前快照。

    运行中的服务进程在下一次回答前发现新快照并切换过去，再补上快照之后的变更。
    """
    from api.index_snapshots import build_current
    from api.storage import require_schema

    require_schema(context.engine())
    try:
        built = build_current(context.config, progress=None if quiet else _say)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(built, ensure_ascii=False))
        return
    counts = built["counts"]
    click.echo(
        f"索引快照 {built['snapshot']}：模型 {built['model_version']}，"
        f"{counts['jobs']} 个岗位、{counts['workers']} 名劳动力，"
        f"含变更至第 {built['feed_position']} 条，用时 {built['build_seconds']:.1f} 秒"
        + (
            f"；按 {c['workers_priced']} 名劳动力的推荐为 {c['jobs_priced']} 个拥挤岗位定价"
            f"（至多 {c['spread']} 分，{c['seconds']:.1f} 秒）"
            if (c := built.get("crowding"))
            else ""
        )
        + (
            f"；已清理 {built['pruned_changes']} 条不再需要的变更记录"
            if built["pruned_changes"]
            else ""
        )
    )


@index_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（供脚本使用）")
@pass_context
@_user_errors
def index_status_command(context: Context, as_json: bool) -> None:
    """当前模型的索引快照：位置、规模、所含变更位置。"""
    from api.index_snapshots import index_root
    from api.service import model_engine
    from matcher.snapshot import MANIFEST, latest_snapshot, list_snapshots

    _, version = model_engine(context.config)
    root = index_root(context.config)
    current = latest_snapshot(root, version)
    info = {
        "model_version": version,
        "root": str(root),
        "current": None,
        "snapshots": [p.name for p in list_snapshots(root, version)],
    }
    if current is not None:
        info["current"] = json.loads((current / MANIFEST).read_text(encoding="utf-8"))
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    if current is None:
        click.echo(
            f"模型 {version} 还没有索引快照（{root}）；"
            "服务首次载入或 jobbridge index build 会建立。"
        )
        return
    m = info["current"]
    click.echo(
        f"模型 {version} 的当前索引快照 {m['snapshot_id']}（{m['created']}）："
        f"{m['counts']['jobs']} 个岗位、{m['counts']['workers']} 名劳动力，含变更至第 "
        f"{m['feed_position']} 条；共 {len(info['snapshots'])} 份快照"
    )


__all__ = [
    "Context",
    "cli",
    "ensure_model",
    "import_file",
    "init_database",
    "load_demo",
    "run_worker",
    "serve",
    "start_worker_process",
    "stop_worker_process",
    "train_models",
]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(cli())
