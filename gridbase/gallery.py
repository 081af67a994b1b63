"""The template gallery shipped in the package (`gridbase/templates/<key>/`), and how it is made.

Each gallery template is exported, exactly as `gridbase template export` would, from a workspace
of this repository: the three workflows of examples/dalian_dental (patient information,
complaints, directives) and the generic base that `gridbase init` writes, in English and in
Chinese. `ENTRIES` gives each one its key, source and names and descriptions in both languages.
Run `python -m gridbase.gallery` after changing a source; a test checks that the committed
gallery equals a fresh export, so the gallery never drifts from the examples.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.loader import load_workspace
from engine.model import WorkspaceConfig
from gridbase import init_cmd
from gridbase.template_export import export
from gridbase.template_file import GALLERY, Template, to_files, write_folder

ROOT = Path(__file__).resolve().parent.parent
DENTAL = ROOT / "examples" / "dalian_dental"


@dataclass(frozen=True)
class Entry:
    key: str
    source: Path
    base: str
    name: dict[str, str]
    description: dict[str, str]


ENTRIES = (
    Entry("dental_patients", DENTAL, "patients",
          {"en": "Dental clinic: patient information", "zh-CN": "口腔医院：患者信息管理"},
          {"en": "Patient records, visits, consultations and each centre's appointments; ID and phone numbers "
                 "masked by role, reads of patient data logged; HL7 intake from the HIS.",
           "zh-CN": "患者档案、就诊记录、咨询成交与各中心接诊；身份证号与手机号按角色脱敏，读取患者数据记入访问日志；"
                    "可经 HL7 从 HIS 同步。"}),
    Entry("dental_complaints", DENTAL, "complaints",
          {"en": "Dental clinic: complaints and follow-up calls", "zh-CN": "口腔医院：信访投诉管理"},
          {"en": "Complaints from a QR-code form, the phone or a call centre; assignment, a three-day deadline with "
                 "escalation, follow-up calls, and a dashboard for the quality team.",
           "zh-CN": "扫码表单、电话或呼叫中心登记投诉；分派处理、三天时限与超时升级、电话回访，以及质控部看板。"}),
    Entry("dental_directives", DENTAL, "directives",
          {"en": "Dental clinic: responses to directives", "zh-CN": "口腔医院：上级文件响应"},
          {"en": "Directives from the health authorities: registration, tasks per department, deadlines and "
                 "reminders, and the response sent back.",
           "zh-CN": "上级卫生主管部门来文：登记、按部门分派任务、时限与提醒，以及回复报送。"}),
    Entry("requests", init_cmd.TEMPLATES / "en", "requests",
          {"en": "Requests (English)", "zh-CN": "报修与申请（英文）"},
          {"en": "The small base `gridbase init` writes: requests filed with a form, an owner and a status.",
           "zh-CN": "`gridbase init` 生成的小型数据库：表单提交申请，指定负责人并跟踪状态（英文界面）。"}),
    Entry("requests_zh", init_cmd.TEMPLATES / "zh-CN", "requests",
          {"en": "Requests (Chinese)", "zh-CN": "报修与申请"},
          {"en": "The same small base in Chinese: requests filed with a form, an owner and a status.",
           "zh-CN": "`gridbase init --lang zh-CN` 生成的小型数据库：表单提交申请，指定负责人并跟踪状态。"}),
)


def build(entry: Entry, configs: dict[Path, WorkspaceConfig] | None = None) -> Template:
    """The gallery template of `entry`, exported afresh from its source workspace (each source
    loaded once per `configs`)."""
    configs = {} if configs is None else configs
    if entry.source not in configs:
        configs[entry.source] = load_workspace(entry.source)
    return export(entry.source, entry.base, key=entry.key, name=entry.name, description=entry.description,
                  config=configs[entry.source])


def built_files() -> dict[str, dict[str, bytes]]:
    """Every gallery template's files, as a fresh export makes them."""
    configs: dict[Path, WorkspaceConfig] = {}
    return {entry.key: to_files(build(entry, configs)) for entry in ENTRIES}


def write_gallery(folder: Path = GALLERY) -> None:
    """Replace the gallery in `folder` with fresh exports."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "templates"
        configs: dict[Path, WorkspaceConfig] = {}
        for entry in ENTRIES:
            write_folder(build(entry, configs), fresh / entry.key)
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(fresh, folder)


if __name__ == "__main__":
    write_gallery()
    print(f"wrote {len(ENTRIES)} templates to {GALLERY.relative_to(ROOT)}")
